// MPI backend: all_gather and broadcast, whole and chunked (MpiOptions::max_message_bytes
// lowered so that chunking runs without gigabyte buffers).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "eplb/error.h"
#include "mpi_test_util.h"

namespace eplb {
namespace {

using testing::kDoneTimeout;

// Rank r's value i: distinct over ranks and positions, exact in a double.
double value_of(int rank_idx, int64_t i) { return rank_idx * 1.0e6 + static_cast<double>(i) + 0.5; }

void check_all_gather(Communicator& comm, int64_t n) {
  std::vector<double> local(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    local[static_cast<size_t>(i)] = value_of(comm.rank(), i);
  }
  std::vector<double> gathered(static_cast<size_t>(n * comm.num_ranks()), -1.0);
  auto handle = comm.all_gather(local, gathered);
  ASSERT_EQ(handle->wait(kDoneTimeout), CommState::kDone) << handle->error();
  for (int r = 0; r < comm.num_ranks(); ++r) {
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(gathered[static_cast<size_t>(r * n + i)], value_of(r, i))
          << "row " << r << " i " << i;
    }
  }
}

TEST(MpiCollectiveTest, ReportsWorldRankAndSize) {
  auto comm = make_mpi_communicator();
  int rank = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  EXPECT_EQ(comm->rank(), rank);
  EXPECT_EQ(comm->num_ranks(), testing::world_size());
  EXPECT_EQ(comm->backend_name(), "mpi");
}

TEST(MpiCollectiveTest, AllGatherPlacesRankRowsInOrder) {
  EPLB_REQUIRE_RANKS(2);
  auto comm = make_mpi_communicator();
  check_all_gather(*comm, 5);
  check_all_gather(*comm, 0);
}

TEST(MpiCollectiveTest, AllGatherChunked) {
  EPLB_REQUIRE_RANKS(2);
  // 8 doubles per message: 1001 values take 126 chunks, the last one partial.
  auto comm = make_mpi_communicator(MpiOptions{.max_message_bytes = 64});
  check_all_gather(*comm, 1001);
  check_all_gather(*comm, 8);
}

TEST(MpiCollectiveTest, AllGatherSizeMismatchThrows) {
  auto comm = make_mpi_communicator();
  std::vector<double> local(3);
  std::vector<double> gathered(3 * static_cast<size_t>(comm->num_ranks()) + 1);
  EXPECT_THROW(comm->all_gather(local, gathered), Error);
}

std::byte byte_of(int root, size_t i) {
  return static_cast<std::byte>((i * 131 + root * 7) & 0xff);
}

void check_broadcast(Communicator& comm, size_t size, int root) {
  std::vector<std::byte> data(size, std::byte{0});
  if (comm.rank() == root) {
    for (size_t i = 0; i < size; ++i) {
      data[i] = byte_of(root, i);
    }
  }
  auto handle = comm.broadcast(data, root);
  ASSERT_EQ(handle->wait(kDoneTimeout), CommState::kDone) << handle->error();
  for (size_t i = 0; i < size; ++i) {
    ASSERT_EQ(data[i], byte_of(root, i)) << "byte " << i;
  }
}

TEST(MpiCollectiveTest, BroadcastFromEveryRoot) {
  EPLB_REQUIRE_RANKS(2);
  auto comm = make_mpi_communicator();
  for (int root = 0; root < comm->num_ranks(); ++root) {
    check_broadcast(*comm, 1 << 20, root);
  }
  check_broadcast(*comm, 0, 1);
}

TEST(MpiCollectiveTest, BroadcastChunked) {
  EPLB_REQUIRE_RANKS(2);
  auto comm = make_mpi_communicator(MpiOptions{.max_message_bytes = 1000});
  check_broadcast(*comm, 10007, 1);
  check_broadcast(*comm, 1000, 0);
}

TEST(MpiCollectiveTest, BroadcastBadRootThrows) {
  auto comm = make_mpi_communicator();
  std::vector<std::byte> data(4);
  EXPECT_THROW(comm->broadcast(data, comm->num_ranks()), Error);
  EXPECT_THROW(comm->broadcast(data, -1), Error);
}

TEST(MpiCollectiveTest, BadOptionsThrow) {
  EXPECT_THROW(make_mpi_communicator(MpiOptions{.max_message_bytes = 4}), Error);
  EXPECT_THROW(make_mpi_communicator(MpiOptions{.max_message_bytes = int64_t{1} << 31}), Error);
  EXPECT_THROW(make_mpi_communicator(nullptr), Error);
}

TEST(MpiCollectiveTest, ConstructsFromAnOpaqueCommunicator) {
  EPLB_REQUIRE_RANKS(2);
  // Split the world into even and odd ranks: each half gathers on its own.
  int world_rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm half = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, world_rank % 2, world_rank, &half);
  {
    auto comm = make_mpi_communicator(&half);
    EXPECT_EQ(comm->rank(), world_rank / 2);
    check_all_gather(*comm, 3);
  }
  MPI_Comm_free(&half);
}

}  // namespace
}  // namespace eplb
