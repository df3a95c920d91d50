// In-process backend of eplb/comm.h: ranks are threads of one process sharing an
// InProcessWorld. For tests and the simulator.
//
// exchange(): messages match by (from, to, tag) in mailboxes, in posting order; a matched pair
// is copied at once by whichever rank posts second, so nothing moves in the background. A send
// refused by the fault injector fails its batch and also fails the matching receive on the peer
// (as a transport error would). Collectives (all_gather, broadcast) are matched by the order of
// collective calls on each rank (generation counting): the k-th collective of every rank meets
// the k-th of the others and completes when all have arrived. wait() sleeps on a condition
// variable (no spinning); a wait() that times out leaves the operation pending (poll it again
// or drop it). Destroying a pending handle cancels its unmatched messages.
//
//   InProcessWorld world(4);
//   std::vector<std::thread> ranks;
//   for (int r = 0; r < 4; ++r) ranks.emplace_back([&, r] {
//     std::unique_ptr<Communicator> comm = world.communicator(r);
//     ...
//   });
#pragma once

#include <memory>

#include "eplb/comm.h"

namespace eplb {

namespace in_process {
struct WorldState;
}

class InProcessWorld {
 public:
  // Throws eplb::Error when num_ranks < 1.
  explicit InProcessWorld(int num_ranks);
  ~InProcessWorld();
  InProcessWorld(const InProcessWorld&) = delete;
  InProcessWorld& operator=(const InProcessWorld&) = delete;

  int num_ranks() const;
  // The communicator of rank `rank_idx` (one per rank; it shares the world's state, so it may
  // outlive this object). Throws eplb::Error for a rank out of range. Thread-safe.
  std::unique_ptr<Communicator> communicator(int rank_idx);

 private:
  std::shared_ptr<in_process::WorldState> state_;
};

}  // namespace eplb
