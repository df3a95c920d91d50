// MPI backend: fault injection, timeouts and cancellation, and poll() never blocking.
// Toy world: a ring of all ranks, rank r sends one message to r + 1 with tag 7; rank 0's
// injector refuses its send to rank 1.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

#include "mpi_test_util.h"

namespace eplb {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using testing::kDoneTimeout;

TEST(MpiFaultTest, InjectedFaultFailsTheSenderAndTimesOutTheReceiver) {
  EPLB_REQUIRE_RANKS(2);
  auto comm = make_mpi_communicator();
  int asked = 0;
  if (comm->rank() == 0) {
    comm->set_fault_injector([&asked](int from_rank, const SendOp& send) {
      ++asked;
      return !(from_rank == 0 && send.peer == 1 && send.tag == 7);
    });
  }
  const int n = comm->num_ranks();
  const int next = (comm->rank() + 1) % n;
  const int prev = (comm->rank() + n - 1) % n;
  const std::vector<std::byte> out(1 << 16, std::byte{5});
  std::vector<std::byte> in(1 << 16);
  const SendOp send{.peer = next, .tag = 7, .data = out};
  const RecvOp recv{.peer = prev, .tag = 7, .data = in};
  auto handle = comm->exchange({&send, 1}, {&recv, 1});
  if (comm->rank() == 0) {
    // Its receive (from the last rank) completes; its send was never posted.
    EXPECT_EQ(handle->wait(kDoneTimeout), CommState::kFailed);
    EXPECT_THAT(handle->error(), ::testing::HasSubstr("rank 0 -> rank 1, tag 7: injected fault"));
    EXPECT_EQ(asked, 1);
  } else if (comm->rank() == 1) {
    const Clock::time_point start = Clock::now();
    EXPECT_EQ(handle->wait(milliseconds(300)), CommState::kTimedOut);
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
    EXPECT_THAT(handle->error(), ::testing::HasSubstr("timed out"));
    EXPECT_EQ(handle->poll(), CommState::kTimedOut);  // sticky; the receive is cancelled
  } else {
    EXPECT_EQ(handle->wait(kDoneTimeout), CommState::kDone) << handle->error();
  }
  handle.reset();
  testing::world_barrier();

  // The communicator still works afterwards (a fresh tag, no injector).
  comm->set_fault_injector(nullptr);
  std::vector<std::byte> in2(16);
  const std::vector<std::byte> out2(16, std::byte{9});
  const SendOp send2{.peer = next, .tag = 8, .data = out2};
  const RecvOp recv2{.peer = prev, .tag = 8, .data = in2};
  auto again = comm->exchange({&send2, 1}, {&recv2, 1});
  ASSERT_EQ(again->wait(kDoneTimeout), CommState::kDone) << again->error();
  EXPECT_EQ(in2, out2);
}

TEST(MpiFaultTest, DestroyingAPendingReceiveDoesNotHang) {
  // A receive nobody sends: destroying its handle cancels it (MPI_Cancel) promptly.
  EPLB_REQUIRE_RANKS(2);
  auto comm = make_mpi_communicator();
  std::vector<std::byte> in(1 << 20);
  const RecvOp recv{.peer = (comm->rank() + 1) % comm->num_ranks(), .tag = 123, .data = in};
  const Clock::time_point start = Clock::now();
  {
    auto handle = comm->exchange({}, {&recv, 1});
    EXPECT_EQ(handle->poll(), CommState::kPending);
  }
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  testing::world_barrier();
}

TEST(MpiFaultTest, PollNeverBlocks) {
  EPLB_REQUIRE_RANKS(2);
  auto comm = make_mpi_communicator();
  std::vector<std::byte> in(1 << 20);
  const RecvOp recv{.peer = (comm->rank() + 1) % comm->num_ranks(), .tag = 55, .data = in};
  auto handle = comm->exchange({}, {&recv, 1});
  Clock::duration slowest{0};
  for (int i = 0; i < 2000; ++i) {
    const Clock::time_point start = Clock::now();
    EXPECT_EQ(handle->poll(), CommState::kPending);
    slowest = std::max(slowest, Clock::now() - start);
  }
  // A poll is an MPI_Testsome: microseconds. The bound (far above a preempted poll on a loaded
  // machine) only catches a poll that waits: this receive never completes.
  EXPECT_LT(slowest, milliseconds(1000));
  EXPECT_EQ(handle->wait(milliseconds(0)), CommState::kTimedOut);
  testing::world_barrier();
}

TEST(MpiFaultTest, PollOfACollectiveNeverBlocksWhileARankIsLate) {
  EPLB_REQUIRE_RANKS(2);
  auto comm = make_mpi_communicator();
  std::vector<double> local(4, comm->rank());
  std::vector<double> gathered(4 * static_cast<size_t>(comm->num_ranks()));
  if (comm->rank() == 0) {
    // The others poll while rank 0 is still away.
    std::this_thread::sleep_for(milliseconds(1000));
  }
  auto handle = comm->all_gather(local, gathered);
  Clock::duration slowest{0};
  CommState state = CommState::kPending;
  int polls = 0;
  while (state == CommState::kPending) {
    const Clock::time_point start = Clock::now();
    state = handle->poll();
    slowest = std::max(slowest, Clock::now() - start);
    ++polls;
  }
  EXPECT_EQ(state, CommState::kDone) << handle->error();
  EXPECT_LT(slowest, milliseconds(500));  // a waiting poll would take ~1000 ms
  if (comm->rank() != 0) {
    EXPECT_GT(polls, 1);
  }
  for (int r = 0; r < comm->num_ranks(); ++r) {
    EXPECT_EQ(gathered[static_cast<size_t>(r) * 4], r);
  }
}

TEST(MpiFaultTest, CollectiveWaitTimesOutAndCompletesLater) {
  EPLB_REQUIRE_RANKS(2);
  auto comm = make_mpi_communicator();
  std::vector<std::byte> data(64,
                              std::byte{static_cast<unsigned char>(comm->rank() == 1 ? 42 : 0)});
  if (comm->rank() == 1) {
    std::this_thread::sleep_for(milliseconds(300));  // the root is late
  }
  auto handle = comm->broadcast(data, 1);
  if (comm->rank() != 1) {
    // Collectives cannot be cancelled: wait() gives up, the broadcast goes on.
    EXPECT_EQ(handle->wait(milliseconds(1)), CommState::kTimedOut);
  }
  EXPECT_EQ(handle->wait(kDoneTimeout), CommState::kDone) << handle->error();
  EXPECT_EQ(data[63], std::byte{42});
}

}  // namespace
}  // namespace eplb
