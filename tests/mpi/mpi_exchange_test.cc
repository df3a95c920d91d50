// MPI backend: point-to-point exchange batches. Every rank sends to every rank (itself
// included) many messages of assorted sizes (0 included), large buffers whole and chunked,
// folded tags, and the receive-side checks (size disagreement, colliding folded tags).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "eplb/error.h"
#include "mpi_test_util.h"

namespace eplb {
namespace {

using testing::kDoneTimeout;

// Content of byte i of the message from rank `from` to rank `to` with tag `tag`.
std::byte payload_byte(int from, int to, int64_t tag, size_t i) {
  const uint64_t x = static_cast<uint64_t>(from) * 1000003u + static_cast<uint64_t>(to) * 10007u +
                     static_cast<uint64_t>(tag) * 131u + i * 7u;
  return static_cast<std::byte>((x ^ (x >> 9)) & 0xff);
}

std::vector<std::byte> payload(int from, int to, int64_t tag, size_t size) {
  std::vector<std::byte> bytes(size);
  for (size_t i = 0; i < size; ++i) {
    bytes[i] = payload_byte(from, to, tag, i);
  }
  return bytes;
}

// Returns the first position where `bytes` differs from payload(from, to, tag), or -1.
int64_t first_wrong_byte(const std::vector<std::byte>& bytes, int from, int to, int64_t tag) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != payload_byte(from, to, tag, i)) {
      return static_cast<int64_t>(i);
    }
  }
  return -1;
}

// All-to-all including self: `num_messages` per (from, to) pair, message j of size
// size_of(j), tag j. Receives are listed in a different order than the sends.
void all_to_all(Communicator& comm, int num_messages, size_t (*size_of)(int)) {
  const int self = comm.rank();
  const int n = comm.num_ranks();
  std::vector<std::vector<std::byte>> out;
  std::vector<std::vector<std::byte>> in;
  std::vector<SendOp> sends;
  std::vector<RecvOp> recvs;
  out.reserve(static_cast<size_t>(n * num_messages));
  in.reserve(static_cast<size_t>(n * num_messages));
  for (int peer = 0; peer < n; ++peer) {
    for (int j = 0; j < num_messages; ++j) {
      out.push_back(payload(self, peer, j, size_of(j)));
      sends.push_back({.peer = peer, .tag = j, .data = std::as_bytes(std::span(out.back()))});
    }
  }
  for (int j = num_messages - 1; j >= 0; --j) {
    for (int peer = n - 1; peer >= 0; --peer) {
      in.emplace_back(size_of(j), std::byte{0xee});
      recvs.push_back({.peer = peer, .tag = j, .data = std::span(in.back())});
    }
  }
  auto handle = comm.exchange(sends, recvs);
  ASSERT_EQ(handle->wait(kDoneTimeout), CommState::kDone) << handle->error();
  EXPECT_EQ(handle->poll(), CommState::kDone);
  EXPECT_EQ(handle->error(), "");
  for (size_t i = 0; i < recvs.size(); ++i) {
    EXPECT_EQ(first_wrong_byte(in[i], recvs[i].peer, self, recvs[i].tag), -1)
        << "from rank " << recvs[i].peer << " tag " << recvs[i].tag;
  }
}

size_t small_size(int j) { return static_cast<size_t>((j * 37) % 500); }  // 0 for j = 0

TEST(MpiExchangeTest, ManyMessagesBetweenAllPairsAndSelf) {
  EPLB_REQUIRE_RANKS(2);
  auto comm = make_mpi_communicator();
  all_to_all(*comm, 64, small_size);
}

TEST(MpiExchangeTest, ManyMessagesChunked) {
  EPLB_REQUIRE_RANKS(2);
  // 64-byte chunks: most messages travel as several chunks, some as exactly one.
  auto comm = make_mpi_communicator(MpiOptions{.max_message_bytes = 64});
  all_to_all(*comm, 24, small_size);
}

TEST(MpiExchangeTest, EmptyBatchIsDoneAtOnce) {
  auto comm = make_mpi_communicator();
  auto handle = comm->exchange({}, {});
  EXPECT_EQ(handle->poll(), CommState::kDone);
}

// Ring: rank r sends `size` bytes to r + 1 and receives from r - 1.
void ring(Communicator& comm, size_t size, int64_t tag) {
  const int n = comm.num_ranks();
  const int next = (comm.rank() + 1) % n;
  const int prev = (comm.rank() + n - 1) % n;
  const std::vector<std::byte> out = payload(comm.rank(), next, tag, size);
  std::vector<std::byte> in(size);
  const SendOp send{.peer = next, .tag = tag, .data = out};
  const RecvOp recv{.peer = prev, .tag = tag, .data = in};
  auto handle = comm.exchange({&send, 1}, {&recv, 1});
  ASSERT_EQ(handle->wait(kDoneTimeout), CommState::kDone) << handle->error();
  EXPECT_EQ(first_wrong_byte(in, prev, comm.rank(), tag), -1);
}

TEST(MpiExchangeTest, LargeBuffer) {
  EPLB_REQUIRE_RANKS(2);
  auto comm = make_mpi_communicator();
  ring(*comm, size_t{48} << 20, 3);
}

TEST(MpiExchangeTest, LargeBufferChunked) {
  EPLB_REQUIRE_RANKS(2);
  // 48 MiB in 1 MiB + 1 chunks: 48 chunks, the last one short.
  auto comm = make_mpi_communicator(MpiOptions{.max_message_bytes = (1 << 20) + 1});
  ring(*comm, size_t{48} << 20, 4);
}

TEST(MpiExchangeTest, TagsBeyondTheMpiRangeAreFolded) {
  EPLB_REQUIRE_RANKS(2);
  auto comm = make_mpi_communicator();
  ring(*comm, 100, (int64_t{1} << 40) + 5);
  ring(*comm, 100, -17);
  ring(*comm, 100, 2147483647);
}

TEST(MpiExchangeTest, SizeDisagreementFailsTheReceiver) {
  EPLB_REQUIRE_RANKS(2);
  auto comm = make_mpi_communicator();
  // Rank 0 sends 100 bytes to rank 1, which expects 200.
  const std::vector<std::byte> out(100, std::byte{1});
  std::vector<std::byte> in(200);
  if (comm->rank() == 0) {
    const SendOp send{.peer = 1, .tag = 9, .data = out};
    auto handle = comm->exchange({&send, 1}, {});
    EXPECT_EQ(handle->wait(kDoneTimeout), CommState::kDone) << handle->error();
  } else if (comm->rank() == 1) {
    const RecvOp recv{.peer = 0, .tag = 9, .data = in};
    auto handle = comm->exchange({}, {&recv, 1});
    EXPECT_EQ(handle->wait(kDoneTimeout), CommState::kFailed);
    EXPECT_THAT(handle->error(), ::testing::HasSubstr("rank 1 <- rank 0, tag 9"));
    EXPECT_THAT(handle->error(), ::testing::HasSubstr("expected 200 bytes"));
  }
  testing::world_barrier();
}

TEST(MpiExchangeTest, TruncationIsAnMpiErrorWithItsText) {
  EPLB_REQUIRE_RANKS(2);
  auto comm = make_mpi_communicator();
  // Rank 0 sends 200 bytes to rank 1, which has room for 100: MPI reports MPI_ERR_TRUNCATE.
  const std::vector<std::byte> out(200, std::byte{1});
  std::vector<std::byte> in(100);
  if (comm->rank() == 0) {
    const SendOp send{.peer = 1, .tag = 10, .data = out};
    auto handle = comm->exchange({&send, 1}, {});
    EXPECT_EQ(handle->wait(kDoneTimeout), CommState::kDone) << handle->error();
  } else if (comm->rank() == 1) {
    const RecvOp recv{.peer = 0, .tag = 10, .data = in};
    auto handle = comm->exchange({}, {&recv, 1});
    EXPECT_EQ(handle->wait(kDoneTimeout), CommState::kFailed);
    EXPECT_THAT(handle->error(), ::testing::HasSubstr("rank 1 <- rank 0, tag 10: MPI_Irecv: "));
    EXPECT_THAT(handle->error(), ::testing::HasSubstr("truncated"));
  }
  testing::world_barrier();
}

TEST(MpiExchangeTest, CollidingFoldedTagsAreDetected) {
  EPLB_REQUIRE_RANKS(2);
  auto comm = make_mpi_communicator();
  // Both tags fold to MPI tag 3 (OpenMPI's MPI_TAG_UB is 2^31 - 1); the receiver lists them
  // in the opposite order, so each header names the other tag.
  const int64_t tag_a = (int64_t{1} << 31) + 3;
  const int64_t tag_b = (int64_t{2} << 31) + 3;
  int* tag_ub = nullptr;
  int found = 0;
  MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &tag_ub, &found);
  if (found == 0 || *tag_ub != 2147483647) {
    GTEST_SKIP() << "MPI_TAG_UB is not 2^31 - 1";
  }
  const std::vector<std::byte> out(64, std::byte{1});
  std::vector<std::byte> in_a(64);
  std::vector<std::byte> in_b(64);
  if (comm->rank() == 0) {
    const SendOp sends[] = {{.peer = 1, .tag = tag_a, .data = out},
                            {.peer = 1, .tag = tag_b, .data = out}};
    auto handle = comm->exchange(sends, {});
    EXPECT_EQ(handle->wait(kDoneTimeout), CommState::kDone) << handle->error();
  } else if (comm->rank() == 1) {
    const RecvOp recvs[] = {{.peer = 0, .tag = tag_b, .data = in_b},
                            {.peer = 0, .tag = tag_a, .data = in_a}};
    auto handle = comm->exchange({}, recvs);
    EXPECT_EQ(handle->wait(kDoneTimeout), CommState::kFailed);
    EXPECT_THAT(handle->error(), ::testing::HasSubstr("collide"));
  }
  testing::world_barrier();
}

TEST(MpiExchangeTest, PeerOutOfRangeThrows) {
  auto comm = make_mpi_communicator();
  const std::vector<std::byte> out(4);
  const SendOp send{.peer = comm->num_ranks(), .tag = 0, .data = out};
  EXPECT_THROW(comm->exchange({&send, 1}, {}), Error);
  std::vector<std::byte> in(4);
  const RecvOp recv{.peer = -1, .tag = 0, .data = in};
  EXPECT_THROW(comm->exchange({}, {&recv, 1}), Error);
}

}  // namespace
}  // namespace eplb
