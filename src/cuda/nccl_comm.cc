// The NCCL backend of eplb/comm.h (contract in eplb/cuda/nccl_comm.h).
#include "eplb/cuda/nccl_comm.h"

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cuda/cuda_check.h"
#include "cuda/nccl_handle.h"
#include "cuda/nccl_shared.h"
#include "eplb/error.h"

namespace eplb::cuda {
namespace {

using nccl::Completion;
using nccl::DeviceGuard;
using nccl::NcclHandle;
using nccl::route_text;
using nccl::Shared;

// Appends `text` to a batch's error list ("; "-separated, first failures first).
void add_error(std::string& errors, const std::string& text) {
  if (!errors.empty()) errors += "; ";
  errors += text;
}

class NcclCommunicatorImpl final : public NcclCommunicator {
 public:
  explicit NcclCommunicatorImpl(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  ~NcclCommunicatorImpl() override {
    try {
      nccl::settle(*shared_, /*block=*/true);
    } catch (...) {  // nothing left to release
    }
  }

  int rank() const override { return shared_->rank; }
  int num_ranks() const override { return shared_->num_ranks; }
  std::string backend_name() const override { return "nccl"; }
  int device() const override { return shared_->device; }
  bool aborted() const override { return shared_->aborted; }
  void abort() override { nccl::abort_comm(*shared_); }
  void set_fault_injector(FaultInjector injector) override { injector_ = std::move(injector); }

  std::unique_ptr<CommHandle> all_gather(std::span<const double> local,
                                         std::span<double> gathered) override {
    if (gathered.size() != local.size() * static_cast<size_t>(shared_->num_ranks)) {
      throw Error("nccl all_gather: gathered has " + std::to_string(gathered.size()) +
                  " values, expected num_ranks " + std::to_string(shared_->num_ranks) + " x " +
                  std::to_string(local.size()));
    }
    return post("all_gather", "ncclAllGather", {}, [&](std::string&) {
      return ncclAllGather(local.data(), gathered.data(), local.size(), ncclDouble, shared_->comm,
                           shared_->stream);
    });
  }

  std::unique_ptr<CommHandle> broadcast(std::span<std::byte> data, int root) override {
    if (root < 0 || root >= shared_->num_ranks) {
      throw Error("nccl broadcast: root " + std::to_string(root) + " out of range [0, " +
                  std::to_string(shared_->num_ranks) + ")");
    }
    return post("broadcast", "ncclBroadcast", {}, [&](std::string&) {
      return ncclBroadcast(data.data(), data.data(), data.size(), ncclUint8, root, shared_->comm,
                           shared_->stream);
    });
  }

  std::unique_ptr<CommHandle> exchange(std::span<const SendOp> sends,
                                       std::span<const RecvOp> recvs) override;

 private:
  // Posts one operation: `enqueue` makes its NCCL calls (and copies) on the side stream and may
  // add to the batch's errors; `local_error` holds the failures known before. Checks the comm
  // first (aborted: throws; failed: returns a failed handle, enqueueing nothing).
  std::unique_ptr<CommHandle> post(const char* what, const char* call, std::string local_error,
                                   const std::function<ncclResult_t(std::string& errors)>& enqueue);
  // Matches the self-messages of a batch by tag and enqueues their copies; returns the errors.
  std::string copy_to_self(std::vector<const SendOp*> sends, std::vector<const RecvOp*> recvs);

  std::shared_ptr<Shared> shared_;
  FaultInjector injector_;
  // Peers this rank refused a send to: NCCL pairs messages by order, so every later message to
  // them would land in the wrong receive; sends to them fail until the comm is rebuilt.
  std::set<int> out_of_step_;
};

std::unique_ptr<CommHandle> NcclCommunicatorImpl::post(
    const char* what, const char* call, std::string local_error,
    const std::function<ncclResult_t(std::string& errors)>& enqueue) {
  const std::string place = "rank " + std::to_string(shared_->rank) + ": ";
  if (shared_->aborted) {
    throw Error(std::string("nccl ") + what + ": " + place + "communicator aborted");
  }
  DeviceGuard guard(shared_->device);
  // A non-blocking comm takes one enqueue at a time.
  nccl::settle(*shared_, /*block=*/true);
  const ncclResult_t state = nccl::async_error(*shared_);
  if (state != ncclSuccess) {
    // A failed comm enqueues nothing more; its side stream may be stuck in the failed kernel.
    return std::make_unique<NcclHandle>(shared_,
                                        place + nccl::nccl_error_text(shared_->comm, state));
  }
  auto completion = std::make_shared<Completion>(shared_->device);
  const ncclResult_t result = enqueue(local_error);
  if (result == ncclInProgress) {
    shared_->unrecorded = completion;  // poll() records the event once NCCL has enqueued
  } else {
    if (result != ncclSuccess) {
      add_error(local_error, place + call + ": " + nccl::nccl_error_text(shared_->comm, result));
    }
    // Recorded even after an error: the handle ends once whatever was enqueued is done.
    EPLB_CUDA_CHECK("nccl communicator", cudaEventRecord(completion->event, shared_->stream));
    completion->recorded = true;
  }
  return std::make_unique<NcclHandle>(shared_, std::move(completion), std::move(local_error));
}

std::string NcclCommunicatorImpl::copy_to_self(std::vector<const SendOp*> sends,
                                               std::vector<const RecvOp*> recvs) {
  const int self = shared_->rank;
  std::stable_sort(sends.begin(), sends.end(),
                   [](const SendOp* a, const SendOp* b) { return a->tag < b->tag; });
  std::stable_sort(recvs.begin(), recvs.end(),
                   [](const RecvOp* a, const RecvOp* b) { return a->tag < b->tag; });
  std::string errors;
  size_t s = 0, r = 0;
  while (s < sends.size() || r < recvs.size()) {
    if (r == recvs.size() || (s < sends.size() && sends[s]->tag < recvs[r]->tag)) {
      add_error(errors, route_text(self, self, sends[s]->tag) + ": no receive from oneself with " +
                            "this tag in the batch");
      ++s;
      continue;
    }
    if (s == sends.size() || recvs[r]->tag < sends[s]->tag) {
      add_error(errors, route_text(self, self, recvs[r]->tag) + ": no send to oneself with this " +
                            "tag in the batch");
      ++r;
      continue;
    }
    const SendOp& send = *sends[s++];
    const RecvOp& recv = *recvs[r++];
    if (injector_ && !injector_(self, send)) {
      add_error(errors, route_text(self, self, send.tag) + ": injected fault");
    } else if (send.data.size() != recv.data.size()) {
      add_error(errors, route_text(self, self, send.tag) + ": sent " +
                            std::to_string(send.data.size()) + " bytes into a receive of " +
                            std::to_string(recv.data.size()));
    } else if (!send.data.empty()) {
      EPLB_CUDA_CHECK("nccl exchange",
                      cudaMemcpyAsync(recv.data.data(), send.data.data(), send.data.size(),
                                      cudaMemcpyDefault, shared_->stream));
    }
  }
  return errors;
}

std::unique_ptr<CommHandle> NcclCommunicatorImpl::exchange(std::span<const SendOp> sends,
                                                           std::span<const RecvOp> recvs) {
  const int self = shared_->rank;
  const auto check_peer = [&](const char* list, size_t i, int peer) {
    if (peer < 0 || peer >= shared_->num_ranks) {
      throw Error(std::string("nccl exchange: ") + list + "[" + std::to_string(i) + "].peer " +
                  std::to_string(peer) + " out of range [0, " + std::to_string(shared_->num_ranks) +
                  ")");
    }
  };
  std::vector<const SendOp*> remote_sends, self_sends;
  std::vector<const RecvOp*> remote_recvs, self_recvs;
  for (size_t i = 0; i < sends.size(); ++i) {
    check_peer("sends", i, sends[i].peer);
    (sends[i].peer == self ? self_sends : remote_sends).push_back(&sends[i]);
  }
  for (size_t i = 0; i < recvs.size(); ++i) {
    check_peer("recvs", i, recvs[i].peer);
    (recvs[i].peer == self ? self_recvs : remote_recvs).push_back(&recvs[i]);
  }
  // The order both sides of a pair agree on (see the header): (peer, tag), stable.
  const auto by_peer_tag = [](const auto* a, const auto* b) {
    return a->peer != b->peer ? a->peer < b->peer : a->tag < b->tag;
  };
  std::stable_sort(remote_sends.begin(), remote_sends.end(), by_peer_tag);
  std::stable_sort(remote_recvs.begin(), remote_recvs.end(), by_peer_tag);

  // Sends refused now (injector, or a peer already out of step) are left out of the group.
  std::string errors;
  std::vector<const SendOp*> posted_sends;
  for (const SendOp* send : remote_sends) {
    if (out_of_step_.count(send->peer) != 0) {
      add_error(errors, route_text(self, send->peer, send->tag) +
                            ": not sent: an earlier send to this peer failed, so NCCL's message " +
                            "order with it is broken (abort() and rebuild the communicator)");
    } else if (injector_ && !injector_(self, *send)) {
      add_error(errors, route_text(self, send->peer, send->tag) + ": injected fault");
      out_of_step_.insert(send->peer);
    } else {
      posted_sends.push_back(send);
    }
  }
  return post("exchange", "ncclSend/ncclRecv", std::move(errors), [&](std::string& batch_errors) {
    add_error(batch_errors, copy_to_self(std::move(self_sends), std::move(self_recvs)));
    if (remote_recvs.empty() && posted_sends.empty()) return ncclSuccess;
    // Zero-byte messages are skipped on both sides alike. After a failed call the group is
    // still closed, so that NCCL's group state stays consistent.
    ncclResult_t result = ncclGroupStart();
    for (const RecvOp* recv : remote_recvs) {
      if (result != ncclSuccess || recv->data.empty()) continue;
      result = ncclRecv(recv->data.data(), recv->data.size(), ncclUint8, recv->peer, shared_->comm,
                        shared_->stream);
    }
    for (const SendOp* send : posted_sends) {
      if (result != ncclSuccess || send->data.empty()) continue;
      result = ncclSend(send->data.data(), send->data.size(), ncclUint8, send->peer, shared_->comm,
                        shared_->stream);
    }
    const ncclResult_t end = ncclGroupEnd();
    return result != ncclSuccess ? result : end;
  });
}

}  // namespace

std::unique_ptr<NcclCommunicator> make_nccl_communicator(ncclComm_t comm, int rank, int num_ranks,
                                                         cudaStream_t side_stream,
                                                         const NcclOptions& options) {
  const std::string place = "make_nccl_communicator: ";
  if (comm == nullptr) throw Error(place + "comm is null");
  if (options.poll_interval.count() < 0 || options.drain_timeout.count() < 0) {
    throw Error(place + "NcclOptions: poll_interval and drain_timeout must be >= 0");
  }
  const auto check = [&](const char* call, ncclResult_t result) {
    if (result != ncclSuccess) {
      throw Error(place + call + ": " + nccl::nccl_error_text(comm, result));
    }
  };
  ncclResult_t state = ncclSuccess;
  check("ncclCommGetAsyncError", ncclCommGetAsyncError(comm, &state));
  if (state == ncclInProgress) {
    throw Error(place +
                "comm is still initialising (poll ncclCommGetAsyncError until ncclSuccess)");
  }
  check("comm state", state);
  auto shared = std::make_shared<Shared>();
  shared->comm = comm;
  shared->stream = side_stream;
  shared->options = options;
  check("ncclCommUserRank", ncclCommUserRank(comm, &shared->rank));
  check("ncclCommCount", ncclCommCount(comm, &shared->num_ranks));
  check("ncclCommCuDevice", ncclCommCuDevice(comm, &shared->device));
  if (shared->rank != rank || shared->num_ranks != num_ranks) {
    throw Error(place + "rank " + std::to_string(rank) + " of " + std::to_string(num_ranks) +
                " given, but the comm is rank " + std::to_string(shared->rank) + " of " +
                std::to_string(shared->num_ranks));
  }
  return std::make_unique<NcclCommunicatorImpl>(std::move(shared));
}

}  // namespace eplb::cuda
