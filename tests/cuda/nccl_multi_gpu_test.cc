// The NCCL backend (eplb/cuda/nccl_comm.h) across GPUs: one thread per rank, comms from
// ncclCommInitAll over min(device count, 4) devices; skipped with "needs 2 GPUs" below that.
// Toy world: rank r contributes the row {100 r + i}; in the exchange every rank sends three
// messages (tags 30, 10, 20; sizes depend on both ranks) to every rank, itself included.
#include <cuda_runtime.h>
#include <gtest/gtest.h>
#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>
#include <thread>
#include <vector>

#include "cuda/cuda_test_util.h"
#include "eplb/cuda/nccl_comm.h"
#include "eplb/error.h"

namespace eplb::cuda {
namespace {

using namespace std::chrono_literals;
using testing::DeviceBuffer;

constexpr auto kTimeout = 20s;

int usable_devices() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) return 0;
  return std::min(count, 4);
}

#define EPLB_REQUIRE_TWO_GPUS()                               \
  do {                                                        \
    if (usable_devices() < 2) GTEST_SKIP() << "needs 2 GPUs"; \
  } while (0)

// Runs `body(communicator)` on one thread per rank (device r for rank r). Afterwards every rank
// destroys its comm, or leaves it when the body aborted it.
void run_ranks(const std::function<void(NcclCommunicator&)>& body) {
  const int num_ranks = usable_devices();
  std::vector<int> devices(static_cast<size_t>(num_ranks));
  for (int r = 0; r < num_ranks; ++r) devices[static_cast<size_t>(r)] = r;
  std::vector<ncclComm_t> comms(static_cast<size_t>(num_ranks));
  const ncclResult_t init = ncclCommInitAll(comms.data(), num_ranks, devices.data());
  ASSERT_EQ(init, ncclSuccess) << ncclGetErrorString(init);
  std::vector<std::thread> threads;
  for (int r = 0; r < num_ranks; ++r) {
    threads.emplace_back([&, r] {
      ASSERT_EQ(cudaSetDevice(r), cudaSuccess);
      cudaStream_t stream = nullptr;
      ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
      bool aborted = false;
      {
        auto communicator =
            make_nccl_communicator(comms[static_cast<size_t>(r)], r, num_ranks, stream);
        EXPECT_EQ(communicator->device(), r);
        body(*communicator);
        aborted = communicator->aborted();
      }
      if (!aborted) destroy_nccl_comm(comms[static_cast<size_t>(r)]);
      cudaStreamDestroy(stream);
    });
  }
  for (auto& thread : threads) thread.join();
}

std::span<std::byte> bytes_of(DeviceBuffer<unsigned char>& buffer) {
  return {reinterpret_cast<std::byte*>(buffer.get()), buffer.size()};
}

// Payload of the message from -> to with `tag`: its size and bytes are known to both sides.
std::vector<unsigned char> message(int from, int to, int64_t tag) {
  std::vector<unsigned char> bytes(static_cast<size_t>(1000 * from + 100 * to + tag + 1));
  std::mt19937_64 rng(static_cast<uint64_t>(from * 1000 + to * 100 + tag));
  for (auto& byte : bytes) byte = static_cast<unsigned char>(rng());
  return bytes;
}

TEST(NcclMultiGpu, AllGatherCollectsEveryRow) {
  EPLB_REQUIRE_TWO_GPUS();
  run_ranks([](NcclCommunicator& comm) {
    constexpr size_t kN = 6;
    const size_t num_ranks = static_cast<size_t>(comm.num_ranks());
    std::vector<double> row(kN);
    for (size_t i = 0; i < kN; ++i) row[i] = 100.0 * comm.rank() + static_cast<double>(i);
    DeviceBuffer<double> d_row(row), d_all(num_ranks * kN);
    auto handle = comm.all_gather({d_row.get(), kN}, {d_all.get(), num_ranks * kN});
    ASSERT_EQ(handle->wait(kTimeout), CommState::kDone) << handle->error();
    const auto all = d_all.download();
    for (size_t r = 0; r < num_ranks; ++r) {
      for (size_t i = 0; i < kN; ++i) {
        EXPECT_EQ(all[r * kN + i], 100.0 * static_cast<double>(r) + static_cast<double>(i));
      }
    }
  });
}

TEST(NcclMultiGpu, BroadcastFromTheLastRank) {
  EPLB_REQUIRE_TWO_GPUS();
  run_ranks([](NcclCommunicator& comm) {
    const int root = comm.num_ranks() - 1;
    const auto expected = message(root, root, 7);
    DeviceBuffer<unsigned char> d_data(
        comm.rank() == root ? expected : std::vector<unsigned char>(expected.size(), 0));
    auto handle = comm.broadcast(bytes_of(d_data), root);
    ASSERT_EQ(handle->wait(kTimeout), CommState::kDone) << handle->error();
    EXPECT_EQ(d_data.download(), expected);
  });
}

// Sends posted in tag order 30, 10, 20 per peer and receives in another order: the backend's
// (peer, tag) sort makes both sides agree. Two batches in a row, so that batch order holds too.
TEST(NcclMultiGpu, ExchangeAllToAllMatchesByPeerAndTag) {
  EPLB_REQUIRE_TWO_GPUS();
  run_ranks([](NcclCommunicator& comm) {
    const int self = comm.rank();
    const int num_ranks = comm.num_ranks();
    for (int batch = 0; batch < 2; ++batch) {
      std::vector<std::unique_ptr<DeviceBuffer<unsigned char>>> buffers;
      std::vector<SendOp> sends;
      std::vector<RecvOp> recvs;
      std::vector<std::pair<DeviceBuffer<unsigned char>*, std::vector<unsigned char>>> expect;
      for (int peer = 0; peer < num_ranks; ++peer) {
        for (int64_t tag : {30, 10, 20}) {
          buffers.push_back(
              std::make_unique<DeviceBuffer<unsigned char>>(message(self, peer, tag + batch)));
          sends.push_back({peer, tag, bytes_of(*buffers.back())});
        }
      }
      for (int64_t tag : {20, 30, 10}) {
        for (int peer = num_ranks - 1; peer >= 0; --peer) {
          auto payload = message(peer, self, tag + batch);
          buffers.push_back(std::make_unique<DeviceBuffer<unsigned char>>(payload.size()));
          recvs.push_back({peer, tag, bytes_of(*buffers.back())});
          expect.emplace_back(buffers.back().get(), std::move(payload));
        }
      }
      auto handle = comm.exchange(sends, recvs);
      ASSERT_EQ(handle->wait(kTimeout), CommState::kDone) << handle->error();
      for (const auto& [buffer, payload] : expect) EXPECT_EQ(buffer->download(), payload);
    }
  });
}

// Rank 0 refuses its send to rank 1: rank 0's batch fails ("injected fault"), rank 1 times out
// (the message never comes) and, NCCL operations being uncancellable, both abort their comms.
// Later sends from rank 0 to rank 1 are refused as out of step.
TEST(NcclMultiGpu, InjectedFaultFailsTheSenderAndTimesOutTheReceiver) {
  EPLB_REQUIRE_TWO_GPUS();
  run_ranks([](NcclCommunicator& comm) {
    const int self = comm.rank();
    if (self > 1) {  // ranks 2, 3 take no part; every rank aborts, as after a real failure
      comm.abort();
      return;
    }
    comm.set_fault_injector(
        [](int from, const SendOp& send) { return !(from == 0 && send.peer == 1); });
    DeviceBuffer<unsigned char> d_out(message(self, 1 - self, 1));
    DeviceBuffer<unsigned char> d_in(message(1 - self, self, 1).size());
    const SendOp send{1 - self, 1, bytes_of(d_out)};
    const RecvOp recv{1 - self, 1, bytes_of(d_in)};
    auto handle = comm.exchange({&send, 1}, {&recv, 1});
    if (self == 0) {
      ASSERT_EQ(handle->wait(kTimeout), CommState::kFailed);
      EXPECT_NE(handle->error().find("rank 0 -> rank 1, tag 1: injected fault"), std::string::npos)
          << handle->error();
      EXPECT_EQ(d_in.download(), message(1, 0, 1));  // the other direction went through
      auto again = comm.exchange({&send, 1}, {});
      ASSERT_EQ(again->wait(kTimeout), CommState::kFailed);
      EXPECT_NE(again->error().find("out of step"), std::string::npos) << again->error();
    } else {
      EXPECT_EQ(handle->wait(500ms), CommState::kTimedOut);
    }
    comm.abort();
    EXPECT_EQ(handle->poll(), CommState::kFailed);
  });
}

}  // namespace
}  // namespace eplb::cuda
