// The in-process backend: ranks as threads of one InProcessWorld.
#include "eplb/runtime/in_process_comm.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "eplb/error.h"

namespace eplb {
namespace {

using std::chrono::milliseconds;

std::span<std::byte> bytes_of(std::vector<int>& v) {
  return std::as_writable_bytes(std::span<int>(v));
}

// Runs f(rank, comm) on `n` threads.
template <typename F>
void on_ranks(InProcessWorld& world, F f) {
  std::vector<std::thread> threads;
  for (int r = 0; r < world.num_ranks(); ++r) {
    threads.emplace_back([&, r] {
      auto comm = world.communicator(r);
      f(r, *comm);
    });
  }
  for (auto& t : threads) t.join();
}

TEST(InProcessComm, AllGatherAndBroadcastInCallOrder) {
  InProcessWorld world(4);
  std::vector<std::vector<double>> gathered(4, std::vector<double>(8));
  std::vector<std::vector<int>> broadcasted(4, std::vector<int>(3, 0));
  on_ranks(world, [&](int r, Communicator& comm) {
    EXPECT_EQ(comm.num_ranks(), 4);
    EXPECT_EQ(comm.backend_name(), "in_process");
    const std::vector<double> local = {r * 10.0, r * 10.0 + 1};
    auto h1 = comm.all_gather(local, gathered[static_cast<size_t>(r)]);
    if (r == 2) broadcasted[2] = {7, 8, 9};
    auto h2 = comm.broadcast(bytes_of(broadcasted[static_cast<size_t>(r)]), 2);
    EXPECT_EQ(h2->wait(milliseconds(10000)), CommState::kDone);
    EXPECT_EQ(h1->wait(milliseconds(10000)), CommState::kDone);
    EXPECT_EQ(h1->poll(), CommState::kDone);
  });
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(gathered[static_cast<size_t>(r)],
              (std::vector<double>{0, 1, 10, 11, 20, 21, 30, 31}));
    EXPECT_EQ(broadcasted[static_cast<size_t>(r)], (std::vector<int>{7, 8, 9}));
  }
}

TEST(InProcessComm, CollectiveStaysPendingUntilEveryRankArrives) {
  InProcessWorld world(2);
  auto c0 = world.communicator(0);
  auto c1 = world.communicator(1);
  std::vector<double> g0(2), g1(2);
  auto h0 = c0->all_gather(std::vector<double>{1}, g0);
  EXPECT_EQ(h0->poll(), CommState::kPending);
  EXPECT_EQ(h0->wait(milliseconds(1)), CommState::kTimedOut);
  auto h1 = c1->all_gather(std::vector<double>{2}, g1);
  EXPECT_EQ(h0->poll(), CommState::kDone);
  EXPECT_EQ(h1->poll(), CommState::kDone);
  EXPECT_EQ(g0, (std::vector<double>{1, 2}));
}

TEST(InProcessComm, MismatchedCollectivesFailOnEveryRank) {
  InProcessWorld world(2);
  auto c0 = world.communicator(0);
  auto c1 = world.communicator(1);
  std::vector<double> g0(2), g1(4);
  auto h0 = c0->all_gather(std::vector<double>{1}, g0);
  auto h1 = c1->all_gather(std::vector<double>{1, 2}, g1);
  EXPECT_EQ(h0->poll(), CommState::kFailed);
  EXPECT_EQ(h1->poll(), CommState::kFailed);
  EXPECT_NE(h0->error().find("collective #0"), std::string::npos) << h0->error();
}

TEST(InProcessComm, ExchangeMatchesByPeerAndTagInAnyOrder) {
  InProcessWorld world(3);
  std::vector<std::vector<int>> received(3, std::vector<int>(4, -1));
  on_ranks(world, [&](int r, Communicator& comm) {
    // Every rank sends {r, tag} to both others and to itself, tags 5 and 6 in opposite
    // orders on send and receive.
    std::vector<std::vector<int>> payload;
    for (int t = 0; t < 6; ++t) payload.push_back({r, 5 + t % 2});
    std::vector<SendOp> sends;
    int p = 0;
    for (int peer = 0; peer < 3; ++peer) {
      if (peer == r) continue;
      sends.push_back({peer, 5, bytes_of(payload[static_cast<size_t>(p++)])});
      sends.push_back({peer, 6, bytes_of(payload[static_cast<size_t>(p++)])});
    }
    std::vector<int>& mine = received[static_cast<size_t>(r)];
    const int from = (r + 1) % 3;
    std::vector<RecvOp> recvs = {{from, 6, bytes_of(mine).subspan(0, 8)},
                                 {from, 5, bytes_of(mine).subspan(8, 8)}};
    auto h = comm.exchange(sends, recvs);
    // The other peer's messages, in a second batch (h completes only once they are taken).
    std::vector<int> other(4);
    const int other_peer = (r + 2) % 3;
    std::vector<RecvOp> rest = {{other_peer, 5, bytes_of(other).subspan(0, 8)},
                                {other_peer, 6, bytes_of(other).subspan(8, 8)}};
    auto h2 = comm.exchange({}, rest);
    EXPECT_EQ(h->wait(milliseconds(10000)), CommState::kDone) << h->error();
    EXPECT_EQ(h2->wait(milliseconds(10000)), CommState::kDone) << h2->error();
    EXPECT_EQ(other, (std::vector<int>{other_peer, 5, other_peer, 6}));
  });
  for (int r = 0; r < 3; ++r) {
    const int from = (r + 1) % 3;
    EXPECT_EQ(received[static_cast<size_t>(r)], (std::vector<int>{from, 6, from, 5}));
  }
}

TEST(InProcessComm, MessagesToSelfAreCopied) {
  InProcessWorld world(1);
  auto comm = world.communicator(0);
  std::vector<int> src = {1, 2, 3}, dst(3, 0);
  std::vector<SendOp> sends = {{0, 9, bytes_of(src)}};
  std::vector<RecvOp> recvs = {{0, 9, bytes_of(dst)}};
  EXPECT_EQ(comm->exchange(sends, recvs)->poll(), CommState::kDone);
  EXPECT_EQ(dst, src);
}

TEST(InProcessComm, InjectedFaultFailsBothEnds) {
  InProcessWorld world(2);
  auto c0 = world.communicator(0);
  auto c1 = world.communicator(1);
  c1->set_fault_injector(
      [](int from, const SendOp& send) { return !(from == 1 && send.tag == 3); });
  std::vector<int> a = {1}, b = {2}, got_a(1), got_b(1);
  std::vector<RecvOp> recvs = {{1, 3, bytes_of(got_a)}, {1, 4, bytes_of(got_b)}};
  auto h0 = c0->exchange({}, recvs);
  std::vector<SendOp> sends = {{0, 3, bytes_of(a)}, {0, 4, bytes_of(b)}};
  auto h1 = c1->exchange(sends, {});
  EXPECT_EQ(h1->poll(), CommState::kFailed);
  EXPECT_EQ(h1->error(), "rank 1 -> rank 0, tag 3: injected fault");
  EXPECT_EQ(h0->wait(milliseconds(10000)), CommState::kFailed);
  EXPECT_EQ(h0->error(), "rank 1 -> rank 0, tag 3: injected fault");
  EXPECT_EQ(got_b, b);  // the healthy message still arrived
}

TEST(InProcessComm, SizeMismatchFailsBothEnds) {
  InProcessWorld world(2);
  auto c0 = world.communicator(0);
  auto c1 = world.communicator(1);
  std::vector<int> a = {1, 2}, got(1);
  std::vector<RecvOp> recvs = {{1, 0, bytes_of(got)}};
  auto h0 = c0->exchange({}, recvs);
  std::vector<SendOp> sends = {{0, 0, bytes_of(a)}};
  auto h1 = c1->exchange(sends, {});
  EXPECT_EQ(h0->poll(), CommState::kFailed);
  EXPECT_EQ(h1->poll(), CommState::kFailed);
  EXPECT_NE(h0->error().find("sent 8 bytes into a receive of 4"), std::string::npos);
}

TEST(InProcessComm, DestroyingAPendingHandleCancelsItsMessages) {
  InProcessWorld world(2);
  auto c0 = world.communicator(0);
  auto c1 = world.communicator(1);
  std::vector<int> got(1, -1);
  {
    std::vector<RecvOp> recvs = {{1, 0, bytes_of(got)}};
    auto h0 = c0->exchange({}, recvs);
    EXPECT_EQ(h0->poll(), CommState::kPending);
  }  // cancelled: the buffer may go away
  std::vector<int> a = {5}, later(1, -1);
  std::vector<SendOp> sends = {{0, 0, bytes_of(a)}};
  auto h1 = c1->exchange(sends, {});
  EXPECT_EQ(h1->poll(), CommState::kPending);  // nobody receives it any more
  EXPECT_EQ(got, std::vector<int>{-1});
  std::vector<RecvOp> recvs = {{1, 0, bytes_of(later)}};
  EXPECT_EQ(c0->exchange({}, recvs)->poll(), CommState::kDone);
  EXPECT_EQ(later, a);
  EXPECT_EQ(h1->poll(), CommState::kDone);
}

TEST(InProcessComm, WaitSleepsUntilAPeerPosts) {
  InProcessWorld world(2);
  auto c0 = world.communicator(0);
  std::vector<int> got(1, -1);
  std::vector<RecvOp> recvs = {{1, 0, bytes_of(got)}};
  auto h0 = c0->exchange({}, recvs);
  std::thread peer([&] {
    std::this_thread::sleep_for(milliseconds(20));
    auto c1 = world.communicator(1);
    std::vector<int> a = {42};
    std::vector<SendOp> sends = {{0, 0, bytes_of(a)}};
    EXPECT_EQ(c1->exchange(sends, {})->poll(), CommState::kDone);
  });
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(h0->wait(milliseconds(10000)), CommState::kDone);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, milliseconds(10));
  peer.join();
  EXPECT_EQ(got, std::vector<int>{42});
}

TEST(InProcessComm, BadArguments) {
  EXPECT_THROW(InProcessWorld(0), Error);
  InProcessWorld world(2);
  EXPECT_THROW(world.communicator(2), Error);
  auto c0 = world.communicator(0);
  std::vector<int> a = {1};
  std::vector<SendOp> sends = {{5, 0, bytes_of(a)}};
  EXPECT_EQ(c0->exchange(sends, {})->poll(), CommState::kFailed);
  EXPECT_STREQ(comm_state_name(CommState::kTimedOut), "timed_out");
}

}  // namespace
}  // namespace eplb
