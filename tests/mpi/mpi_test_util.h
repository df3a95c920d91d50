// Helpers of the MPI backend tests. The toy world: every test runs on all ranks of
// MPI_COMM_WORLD (ctest starts 4: mpiexec -np 4), each with its own communicator (a fresh
// MPI_Comm_dup, so no message of one test can match a receive of another).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <memory>
#include <ostream>

#include "eplb/comm.h"
#include "eplb/mpi_comm.h"

namespace eplb {

// GoogleTest prints CommState values by name.
inline void PrintTo(CommState state, std::ostream* out) {
  switch (state) {
    case CommState::kPending: *out << "kPending"; return;
    case CommState::kDone: *out << "kDone"; return;
    case CommState::kFailed: *out << "kFailed"; return;
    case CommState::kTimedOut: *out << "kTimedOut"; return;
  }
  *out << "CommState(" << static_cast<int>(state) << ")";
}

namespace testing {

inline int world_size() {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

inline void world_barrier() { MPI_Barrier(MPI_COMM_WORLD); }

// Generous bound for operations that must complete (a hang fails instead of blocking ctest).
constexpr std::chrono::milliseconds kDoneTimeout{30000};

}  // namespace testing
}  // namespace eplb

// Every test needs several ranks; with one (started without mpiexec) it is skipped, on all
// ranks alike, so no rank waits in a collective the others skip.
#define EPLB_REQUIRE_RANKS(n)                                                           \
  if (::eplb::testing::world_size() < (n)) {                                            \
    GTEST_SKIP() << "needs >= " << (n) << " MPI ranks (run under mpiexec -np 4), have " \
                 << ::eplb::testing::world_size();                                      \
  }
