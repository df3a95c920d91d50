// In-process backend of eplb/comm.h (see eplb/runtime/in_process_comm.h for the semantics).
//
// All shared state sits behind one mutex of the world: posting, matching and copying a
// message, arriving at a collective and reading its result happen under it, so a handle's
// state changes only while some rank holds the lock, and one condition variable wakes waiters.
#include "eplb/runtime/in_process_comm.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "eplb/error.h"

namespace eplb {
namespace in_process {

// Shared state of one exchange() batch: its queued messages point at it.
struct Batch {
  int unmatched = 0;  // messages of the batch not yet matched
  bool failed = false;
  std::string error;
};

struct QueuedSend {
  int64_t tag = 0;
  std::span<const std::byte> data;
  std::shared_ptr<Batch> batch;
  bool poisoned = false;  // refused by the fault injector: fails the matching receive and
                          // does not count towards its own batch's completion
  std::string reason;
};

struct QueuedRecv {
  int64_t tag = 0;
  std::span<std::byte> data;
  std::shared_ptr<Batch> batch;
};

// Unmatched messages from one rank to another, each list in posting order.
struct Mailbox {
  std::deque<QueuedSend> sends;
  std::deque<QueuedRecv> recvs;
};

// The k-th collective call of every rank.
struct Collective {
  bool is_broadcast = false;
  int root = 0;
  size_t size = 0;  // all_gather: values per rank; broadcast: bytes
  int arrived = 0;
  int readers = 0;  // ranks that have not read the result (or dropped their handle) yet
  bool mismatch = false;
  std::string error;
  std::vector<double> values;    // all_gather [num_ranks, size]
  std::vector<std::byte> bytes;  // broadcast [size]
};

struct WorldState {
  explicit WorldState(int n)
      : num_ranks(n),
        mailboxes(static_cast<size_t>(n) * static_cast<size_t>(n)),
        next_generation(static_cast<size_t>(n), 0),
        injectors(static_cast<size_t>(n)) {}

  Mailbox& mailbox(int from, int to) {
    return mailboxes[static_cast<size_t>(from) * static_cast<size_t>(num_ranks) +
                     static_cast<size_t>(to)];
  }

  const int num_ranks;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Mailbox> mailboxes;             // [from, to]
  std::map<int64_t, Collective> collectives;  // by generation
  std::vector<int64_t> next_generation;       // [num_ranks] collectives called so far
  std::vector<FaultInjector> injectors;       // [num_ranks]
};

namespace {

std::string route_text(int from, int to, int64_t tag) {
  return "rank " + std::to_string(from) + " -> rank " + std::to_string(to) + ", tag " +
         std::to_string(tag);
}

void fail_batch(Batch& batch, const std::string& error) {
  if (!batch.failed) batch.error = error;
  batch.failed = true;
}

// Completes a matched pair (lock held).
void deliver(const QueuedSend& send, const QueuedRecv& recv, int from, int to) {
  if (send.poisoned) {
    fail_batch(*recv.batch, send.reason);
  } else if (send.data.size() != recv.data.size()) {
    const std::string error = route_text(from, to, send.tag) + ": sent " +
                              std::to_string(send.data.size()) + " bytes into a receive of " +
                              std::to_string(recv.data.size());
    fail_batch(*send.batch, error);
    fail_batch(*recv.batch, error);
  } else if (!send.data.empty()) {
    std::memcpy(recv.data.data(), send.data.data(), send.data.size());
  }
  if (!send.poisoned) --send.batch->unmatched;
  --recv.batch->unmatched;
}

CommState batch_state(const Batch& batch) {
  if (batch.failed) return CommState::kFailed;
  return batch.unmatched == 0 ? CommState::kDone : CommState::kPending;
}

class ExchangeHandle final : public CommHandle {
 public:
  ExchangeHandle(std::shared_ptr<WorldState> world, int rank_idx, std::shared_ptr<Batch> batch)
      : world_(std::move(world)), rank_(rank_idx), batch_(std::move(batch)) {}

  ~ExchangeHandle() override {
    std::lock_guard lock(world_->mu);
    // Cancel: drop this batch's unmatched messages (sends from this rank, receives to it).
    for (int peer = 0; peer < world_->num_ranks; ++peer) {
      auto& sends = world_->mailbox(rank_, peer).sends;
      std::erase_if(sends, [&](const QueuedSend& m) { return m.batch == batch_; });
      auto& recvs = world_->mailbox(peer, rank_).recvs;
      std::erase_if(recvs, [&](const QueuedRecv& m) { return m.batch == batch_; });
    }
  }

  CommState poll() override {
    std::lock_guard lock(world_->mu);
    return batch_state(*batch_);
  }

  CommState wait(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(world_->mu);
    const bool finished = world_->cv.wait_for(
        lock, timeout, [&] { return batch_state(*batch_) != CommState::kPending; });
    return finished ? batch_state(*batch_) : CommState::kTimedOut;
  }

  std::string error() const override {
    std::lock_guard lock(world_->mu);
    return batch_->error;
  }

 private:
  std::shared_ptr<WorldState> world_;
  int rank_;
  std::shared_ptr<Batch> batch_;
};

class CollectiveHandle final : public CommHandle {
 public:
  CollectiveHandle(std::shared_ptr<WorldState> world, int64_t generation,
                   std::span<double> gathered, std::span<std::byte> bytes)
      : world_(std::move(world)), generation_(generation), gathered_(gathered), bytes_(bytes) {}

  ~CollectiveHandle() override {
    std::lock_guard lock(world_->mu);
    if (!read_) release();
  }

  CommState poll() override {
    std::lock_guard lock(world_->mu);
    return state();
  }

  CommState wait(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(world_->mu);
    const bool finished =
        world_->cv.wait_for(lock, timeout, [&] { return state() != CommState::kPending; });
    return finished ? state() : CommState::kTimedOut;
  }

  std::string error() const override {
    std::lock_guard lock(world_->mu);
    return error_;
  }

 private:
  // Lock held. Reads the result out the first time the collective is complete.
  CommState state() {
    if (read_) return final_;
    Collective& c = world_->collectives.at(generation_);
    if (c.arrived < world_->num_ranks) return CommState::kPending;
    if (c.mismatch) {
      error_ = c.error;
      final_ = CommState::kFailed;
    } else {
      if (c.is_broadcast) {
        if (!bytes_.empty()) std::memcpy(bytes_.data(), c.bytes.data(), bytes_.size());
      } else if (!gathered_.empty()) {
        std::memcpy(gathered_.data(), c.values.data(), gathered_.size() * sizeof(double));
      }
      final_ = CommState::kDone;
    }
    read_ = true;
    release();
    return final_;
  }

  void release() {
    auto it = world_->collectives.find(generation_);
    if (--it->second.readers == 0) world_->collectives.erase(it);
  }

  std::shared_ptr<WorldState> world_;
  int64_t generation_;
  std::span<double> gathered_;
  std::span<std::byte> bytes_;
  bool read_ = false;
  CommState final_ = CommState::kPending;
  std::string error_;
};

// A handle that failed before anything was posted (bad arguments).
class FailedHandle final : public CommHandle {
 public:
  explicit FailedHandle(std::string error) : error_(std::move(error)) {}
  CommState poll() override { return CommState::kFailed; }
  CommState wait(std::chrono::milliseconds) override { return CommState::kFailed; }
  std::string error() const override { return error_; }

 private:
  std::string error_;
};

class InProcessCommunicator final : public Communicator {
 public:
  InProcessCommunicator(std::shared_ptr<WorldState> world, int rank_idx)
      : world_(std::move(world)), rank_(rank_idx) {}

  int rank() const override { return rank_; }
  int num_ranks() const override { return world_->num_ranks; }
  std::string backend_name() const override { return "in_process"; }

  std::unique_ptr<CommHandle> all_gather(std::span<const double> local,
                                         std::span<double> gathered) override {
    const size_t n = local.size();
    const size_t want = n * static_cast<size_t>(world_->num_ranks);
    std::string error;
    if (gathered.size() != want) {
      error = "all_gather: rank " + std::to_string(rank_) + ": gathered has " +
              std::to_string(gathered.size()) + " values, expected num_ranks * " +
              std::to_string(n) + " = " + std::to_string(want);
    }
    std::lock_guard lock(world_->mu);
    Collective& c = arrive(false, 0, n, error);
    if (!c.mismatch) {
      std::copy(local.begin(), local.end(),
                c.values.begin() + static_cast<std::ptrdiff_t>(n * static_cast<size_t>(rank_)));
    }
    world_->cv.notify_all();
    return std::make_unique<CollectiveHandle>(world_, generation_, gathered,
                                              std::span<std::byte>());
  }

  std::unique_ptr<CommHandle> broadcast(std::span<std::byte> data, int root) override {
    std::string error;
    if (root < 0 || root >= world_->num_ranks) {
      error = "broadcast: root " + std::to_string(root) + " out of range [0, " +
              std::to_string(world_->num_ranks) + ")";
    }
    std::lock_guard lock(world_->mu);
    Collective& c = arrive(true, root, data.size(), error);
    if (!c.mismatch && rank_ == root && !data.empty()) {
      std::memcpy(c.bytes.data(), data.data(), data.size());
    }
    world_->cv.notify_all();
    return std::make_unique<CollectiveHandle>(world_, generation_, std::span<double>(),
                                              rank_ == root ? std::span<std::byte>() : data);
  }

  std::unique_ptr<CommHandle> exchange(std::span<const SendOp> sends,
                                       std::span<const RecvOp> recvs) override {
    for (const SendOp& s : sends) {
      if (s.peer < 0 || s.peer >= world_->num_ranks) {
        return std::make_unique<FailedHandle>("exchange: send to rank " + std::to_string(s.peer) +
                                              " out of range");
      }
    }
    for (const RecvOp& r : recvs) {
      if (r.peer < 0 || r.peer >= world_->num_ranks) {
        return std::make_unique<FailedHandle>("exchange: receive from rank " +
                                              std::to_string(r.peer) + " out of range");
      }
    }
    // The injector is user code: call it outside the lock.
    FaultInjector injector;
    {
      std::lock_guard lock(world_->mu);
      injector = world_->injectors[static_cast<size_t>(rank_)];
    }
    std::vector<bool> refused(sends.size(), false);
    if (injector) {
      for (size_t i = 0; i < sends.size(); ++i) refused[i] = !injector(rank_, sends[i]);
    }

    auto batch = std::make_shared<Batch>();
    batch->unmatched = static_cast<int>(sends.size() + recvs.size());
    std::lock_guard lock(world_->mu);
    for (size_t i = 0; i < sends.size(); ++i) {
      const SendOp& s = sends[i];
      QueuedSend message{s.tag, s.data, batch, false, {}};
      if (refused[i]) {
        message.poisoned = true;
        message.reason = route_text(rank_, s.peer, s.tag) + ": injected fault";
        fail_batch(*batch, message.reason);
        --batch->unmatched;  // the refused message itself never completes
      }
      post_send(s.peer, std::move(message));
    }
    for (const RecvOp& r : recvs) post_recv(r.peer, QueuedRecv{r.tag, r.data, batch});
    world_->cv.notify_all();
    return std::make_unique<ExchangeHandle>(world_, rank_, batch);
  }

  void set_fault_injector(FaultInjector injector) override {
    std::lock_guard lock(world_->mu);
    world_->injectors[static_cast<size_t>(rank_)] = std::move(injector);
  }

 private:
  // Lock held. Registers this rank's next collective; sets generation_.
  Collective& arrive(bool is_broadcast, int root, size_t size, const std::string& error) {
    generation_ = world_->next_generation[static_cast<size_t>(rank_)]++;
    auto [it, created] = world_->collectives.try_emplace(generation_);
    Collective& c = it->second;
    if (created) {
      c.is_broadcast = is_broadcast;
      c.root = root;
      c.size = size;
      c.readers = world_->num_ranks;
      if (is_broadcast) {
        c.bytes.assign(size, std::byte{0});
      } else {
        c.values.assign(size * static_cast<size_t>(world_->num_ranks), 0.0);
      }
    }
    const char* kind = is_broadcast ? "broadcast" : "all_gather";
    if (!c.mismatch && !error.empty()) {
      c.mismatch = true;
      c.error = error;
    } else if (!c.mismatch &&
               (c.is_broadcast != is_broadcast || c.size != size || c.root != root)) {
      c.mismatch = true;
      c.error = "collective #" + std::to_string(generation_) + ": rank " + std::to_string(rank_) +
                " called " + kind + " of size " + std::to_string(size) + " (root " +
                std::to_string(root) + "), another rank " +
                (c.is_broadcast ? "broadcast" : "all_gather") + " of size " +
                std::to_string(c.size) + " (root " + std::to_string(c.root) + ")";
    }
    ++c.arrived;
    return c;
  }

  // Lock held. Matches with the oldest waiting receive of the same tag, else queues.
  void post_send(int to, QueuedSend message) {
    auto& recvs = world_->mailbox(rank_, to).recvs;
    auto it = std::find_if(recvs.begin(), recvs.end(),
                           [&](const QueuedRecv& r) { return r.tag == message.tag; });
    if (it == recvs.end()) {
      world_->mailbox(rank_, to).sends.push_back(std::move(message));
      return;
    }
    deliver(message, *it, rank_, to);
    recvs.erase(it);
  }

  void post_recv(int from, QueuedRecv message) {
    auto& sends = world_->mailbox(from, rank_).sends;
    auto it = std::find_if(sends.begin(), sends.end(),
                           [&](const QueuedSend& s) { return s.tag == message.tag; });
    if (it == sends.end()) {
      world_->mailbox(from, rank_).recvs.push_back(std::move(message));
      return;
    }
    deliver(*it, message, from, rank_);
    sends.erase(it);
  }

  std::shared_ptr<WorldState> world_;
  int rank_;
  int64_t generation_ = 0;  // of the collective being registered
};

}  // namespace
}  // namespace in_process

InProcessWorld::InProcessWorld(int num_ranks) {
  if (num_ranks < 1) {
    throw Error("InProcessWorld: num_ranks " + std::to_string(num_ranks) + " must be >= 1");
  }
  state_ = std::make_shared<in_process::WorldState>(num_ranks);
}

InProcessWorld::~InProcessWorld() = default;

int InProcessWorld::num_ranks() const { return state_->num_ranks; }

std::unique_ptr<Communicator> InProcessWorld::communicator(int rank_idx) {
  if (rank_idx < 0 || rank_idx >= state_->num_ranks) {
    throw Error("InProcessWorld: rank " + std::to_string(rank_idx) + " out of range [0, " +
                std::to_string(state_->num_ranks) + ")");
  }
  return std::make_unique<in_process::InProcessCommunicator>(state_, rank_idx);
}

}  // namespace eplb
