// The communication interface of the online runtime: an all-gather of expert loads and
// point-to-point expert-weight transfers. Backends: in-process (ranks as threads, for tests and
// the simulator), MPI (one process per rank), NCCL (GPU). No home-made networking.
//
// Every operation is started without blocking and returns a handle the caller polls from its
// step hook, so the serving step never waits on the network. Handles of one communicator are
// driven from one thread (the rank's serving thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace eplb {

enum class CommState {
  kPending,   // still in flight
  kDone,      // completed; received buffers are valid
  kFailed,    // a peer or the transport failed; received buffers are undefined
  kTimedOut,  // wait() gave up; the operation is cancelled where the backend allows
};

const char* comm_state_name(CommState state);

// An operation in flight. Destroying a pending handle cancels it where the backend can
// (in-process, MPI_Cancel on receives) and otherwise waits for it to finish.
class CommHandle {
 public:
  virtual ~CommHandle() = default;
  // Never blocks.
  virtual CommState poll() = 0;
  // Blocks until done, failed or `timeout` elapsed (kTimedOut).
  virtual CommState wait(std::chrono::milliseconds timeout) = 0;
  // Human-readable reason when kFailed ("rank 3 -> rank 1, tag 7: injected fault").
  virtual std::string error() const { return {}; }
};

// One message of a transfer batch. `tag` tells messages between the same pair apart
// (e.g. layer * num_slots + slot); bytes are owned by the caller and must stay alive until the
// handle is no longer pending.
struct SendOp {
  int peer = 0;
  int64_t tag = 0;
  std::span<const std::byte> data;
};

struct RecvOp {
  int peer = 0;
  int64_t tag = 0;
  std::span<std::byte> data;
};

// Called for each send before it is posted; returning false makes that message (and so its
// batch) fail: the fault-injection hook of the tests.
using FaultInjector = std::function<bool(int from_rank, const SendOp& send)>;

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int num_ranks() const = 0;
  virtual std::string backend_name() const = 0;

  // Every rank contributes `local` [n] (n equal on all ranks); on completion `gathered`
  // [num_ranks, n] holds rank r's values in row r. Collective: all ranks call it in the same
  // order.
  virtual std::unique_ptr<CommHandle> all_gather(std::span<const double> local,
                                                 std::span<double> gathered) = 0;

  // Broadcast of `data` (same size on all ranks) from `root`. Collective.
  virtual std::unique_ptr<CommHandle> broadcast(std::span<std::byte> data, int root) = 0;

  // Posts a batch of sends and receives (messages to/from oneself are allowed and copied).
  // Not collective: each rank posts its own lists; matching is by (peer, tag).
  virtual std::unique_ptr<CommHandle> exchange(std::span<const SendOp> sends,
                                               std::span<const RecvOp> recvs) = 0;

  virtual void set_fault_injector(FaultInjector injector) = 0;
};

}  // namespace eplb
