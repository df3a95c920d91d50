#include "mpi/request_batch.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "mpi/mpi_error.h"

namespace eplb::mpi {
namespace {

using Clock = std::chrono::steady_clock;

// wait() polls with short sleeps: a few yields first (the common case is a message already on
// its way), then sleeps doubling from 10 us to 1 ms, so a long wait costs little CPU.
constexpr int kYieldPolls = 64;
constexpr std::chrono::microseconds kFirstSleep{10};
constexpr std::chrono::microseconds kMaxSleep{1000};

// error() lists at most this many failures, then "(and N more)".
constexpr size_t kMaxListedFailures = 4;

}  // namespace

RequestBatch::RequestBatch(int rank, bool collective, std::chrono::milliseconds send_drain_timeout)
    : rank_(rank), collective_(collective), send_drain_timeout_(send_drain_timeout) {}

RequestBatch::~RequestBatch() {
  if (num_active_ == 0) {
    return;
  }
  if (collective_) {
    // MPI forbids cancelling or freeing a nonblocking collective: it must be completed.
    MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
    return;
  }
  cancel_pending();
}

void RequestBatch::add(MPI_Request request, const RequestInfo& info) {
  requests_.push_back(request);
  infos_.push_back(info);
  ++num_active_;
}

void RequestBatch::add_failure(std::string message) { failures_.push_back(std::move(message)); }

MessageHeader* RequestBatch::new_header() { return &headers_.emplace_back(); }

CommState RequestBatch::poll() {
  if (state_ != CommState::kPending) {
    return state_;
  }
  if (num_active_ > 0) {
    progress();
  }
  if (num_active_ == 0) {
    state_ = failures_.empty() ? CommState::kDone : CommState::kFailed;
  }
  return state_;
}

CommState RequestBatch::wait(std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  std::chrono::microseconds sleep = kFirstSleep;
  for (int polls = 0;; ++polls) {
    const CommState state = poll();
    if (state != CommState::kPending) {
      return state;
    }
    if (Clock::now() >= deadline) {
      break;
    }
    if (polls < kYieldPolls) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(sleep);
      sleep = std::min(sleep * 2, kMaxSleep);
    }
  }
  if (collective_) {
    return CommState::kTimedOut;  // still in flight: a later poll() may complete it
  }
  failures_.push_back("rank " + std::to_string(rank_) + ": timed out after " +
                      std::to_string(timeout.count()) + " ms with " + std::to_string(num_active_) +
                      " requests pending");
  cancel_pending();
  timed_out_ = true;
  state_ = CommState::kTimedOut;
  return state_;
}

std::string RequestBatch::error() const {
  std::string text;
  for (size_t i = 0; i < failures_.size() && i < kMaxListedFailures; ++i) {
    text += (i == 0 ? "" : "; ") + failures_[i];
  }
  if (failures_.size() > kMaxListedFailures) {
    text += " (and " + std::to_string(failures_.size() - kMaxListedFailures) + " more)";
  }
  return text;
}

void RequestBatch::progress() {
  const int count = static_cast<int>(requests_.size());
  indices_.resize(requests_.size());
  statuses_.resize(requests_.size());
  int num_done = 0;
  const int code =
      MPI_Testsome(count, requests_.data(), &num_done, indices_.data(), statuses_.data());
  if (code != MPI_SUCCESS && code != MPI_ERR_IN_STATUS) {
    // The requests' state is unknown after this: stop tracking them.
    failures_.push_back("rank " + std::to_string(rank_) + ": MPI_Testsome: " + error_string(code));
    num_active_ = 0;
    return;
  }
  if (num_done == MPI_UNDEFINED) {
    num_active_ = 0;
    return;
  }
  for (int i = 0; i < num_done; ++i) {
    const MPI_Status& status = statuses_[static_cast<size_t>(i)];
    finish_request(indices_[static_cast<size_t>(i)], status,
                   code == MPI_ERR_IN_STATUS ? status.MPI_ERROR : MPI_SUCCESS);
  }
}

void RequestBatch::finish_request(int index, const MPI_Status& status, int code) {
  const auto idx = static_cast<size_t>(index);
  const RequestInfo& info = infos_[idx];
  --num_active_;
  if (requests_[idx] != MPI_REQUEST_NULL) {
    // Some MPI libraries keep a request that completed with an error; it is done, so free it.
    MPI_Request_free(&requests_[idx]);
    requests_[idx] = MPI_REQUEST_NULL;
  }
  if (info.kind != RequestInfo::Kind::kCollective) {
    int cancelled = 0;
    MPI_Test_cancelled(&status, &cancelled);
    if (cancelled != 0) {
      ++num_cancelled_;
      return;
    }
  }
  if (code != MPI_SUCCESS) {
    failures_.push_back(where(info) + ": " + info.call + ": " + error_string(code));
    return;
  }
  if (info.kind == RequestInfo::Kind::kRecv || info.kind == RequestInfo::Kind::kRecvHeader) {
    const int64_t expected = info.kind == RequestInfo::Kind::kRecv
                                 ? info.bytes
                                 : static_cast<int64_t>(sizeof(MessageHeader));
    int received = 0;
    MPI_Get_count(&status, MPI_BYTE, &received);
    if (received != expected) {
      failures_.push_back(where(info) + ": received " + std::to_string(received) +
                          " bytes, expected " + std::to_string(expected));
      return;
    }
  }
  if (info.kind == RequestInfo::Kind::kRecvHeader &&
      (info.header->tag != info.tag || info.header->bytes != info.message_bytes)) {
    failures_.push_back(where(info) + ": matched a message with tag " +
                        std::to_string(info.header->tag) + " of " +
                        std::to_string(info.header->bytes) + " bytes, expected " +
                        std::to_string(info.message_bytes) +
                        " bytes (the sender's size differs, or folded MPI tags collide)");
  }
}

void RequestBatch::cancel_pending() {
  for (MPI_Request& request : requests_) {
    if (request != MPI_REQUEST_NULL) {
      MPI_Cancel(&request);
    }
  }
  // Cancelled receives complete at once; sends complete when matched or if the library could
  // cancel them.
  const Clock::time_point deadline = Clock::now() + send_drain_timeout_;
  while (num_active_ > 0) {
    progress();
    if (num_active_ == 0 || Clock::now() >= deadline) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  if (num_active_ == 0) {
    return;
  }
  std::string peers;
  for (size_t i = 0; i < requests_.size(); ++i) {
    if (requests_[i] != MPI_REQUEST_NULL) {
      peers += (peers.empty() ? "" : ", ") + where(infos_[i]);
      MPI_Request_free(&requests_[i]);
      requests_[i] = MPI_REQUEST_NULL;
    }
  }
  failures_.push_back(std::to_string(num_active_) +
                      " requests neither matched nor cancelled after " +
                      std::to_string(send_drain_timeout_.count()) +
                      " ms were released (their buffers must outlive the communicator): " + peers);
  num_active_ = 0;
}

std::string RequestBatch::where(const RequestInfo& info) const {
  const std::string self = "rank " + std::to_string(rank_);
  switch (info.kind) {
    case RequestInfo::Kind::kSend:
      return self + " -> rank " + std::to_string(info.peer) + ", tag " + std::to_string(info.tag);
    case RequestInfo::Kind::kRecv:
    case RequestInfo::Kind::kRecvHeader:
      return self + " <- rank " + std::to_string(info.peer) + ", tag " + std::to_string(info.tag);
    case RequestInfo::Kind::kCollective: break;
  }
  return self;
}

}  // namespace eplb::mpi
