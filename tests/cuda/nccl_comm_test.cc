// The NCCL backend (eplb/cuda/nccl_comm.h) on ONE GPU: a single-rank ncclComm made with the
// bootstrap helpers. all_gather of one rank, broadcast, exchange with oneself (matched by tag,
// many messages, large buffers, zero bytes), poll() that never blocks (the side stream is held
// by a host function the test releases), wait() timeouts, the fault injector, abort(), handle
// destruction and a non-blocking ncclComm. Multi-rank tests: nccl_multi_gpu_test.cc.
#include <cuda_runtime.h>
#include <gtest/gtest.h>
#include <nccl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
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

constexpr auto kTimeout = 10s;

std::span<std::byte> bytes_of(DeviceBuffer<unsigned char>& buffer) {
  return {reinterpret_cast<std::byte*>(buffer.get()), buffer.size()};
}

std::vector<unsigned char> random_bytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<unsigned char> bytes(size);
  for (auto& byte : bytes) byte = static_cast<unsigned char>(rng());
  return bytes;
}

// A single-rank world on device 0: its ncclComm (from make_nccl_unique_id + init_nccl_comm), a
// non-blocking side stream and the communicator over both.
class NcclSingleRank : public ::testing::Test {
 protected:
  void SetUp() override {
    EPLB_REQUIRE_CUDA_DEVICE();
    EPLB_ASSERT_CUDA(cudaSetDevice(0));
    EPLB_ASSERT_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    comm_ = init_nccl_comm(make_nccl_unique_id(), 0, 1);
    communicator_ = make_nccl_communicator(comm_, 0, 1, stream_, options_);
  }
  void TearDown() override {
    const bool aborted = communicator_ && communicator_->aborted();
    communicator_.reset();
    if (!aborted) destroy_nccl_comm(comm_);  // abort() frees the comm itself
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }

  // Holds the side stream in a host function until release(): work posted meanwhile is pending.
  void hold_stream() {
    released_ = false;
    EPLB_ASSERT_CUDA(cudaLaunchHostFunc(
        stream_,
        [](void* flag) {
          while (!static_cast<std::atomic<bool>*>(flag)->load()) std::this_thread::yield();
        },
        &released_));
  }
  void release() { released_ = true; }

  NcclOptions options_;
  cudaStream_t stream_ = nullptr;
  ncclComm_t comm_ = nullptr;
  std::unique_ptr<NcclCommunicator> communicator_;
  std::atomic<bool> released_{true};
};

TEST_F(NcclSingleRank, DescribesItself) {
  EXPECT_EQ(communicator_->rank(), 0);
  EXPECT_EQ(communicator_->num_ranks(), 1);
  EXPECT_EQ(communicator_->backend_name(), "nccl");
  EXPECT_EQ(communicator_->device(), 0);
  EXPECT_FALSE(communicator_->aborted());
}

TEST_F(NcclSingleRank, RejectsArgumentsThatDisagreeWithTheComm) {
  EXPECT_THROW(make_nccl_communicator(comm_, 1, 2, stream_), Error);
  EXPECT_THROW(make_nccl_communicator(nullptr, 0, 1, stream_), Error);
  EXPECT_THROW(init_nccl_comm(make_nccl_unique_id(), 1, 1), Error);
}

TEST_F(NcclSingleRank, AllGatherOfOneRankIsItsRow) {
  const std::vector<double> local = {1.5, -2.0, 3.25, 0.0, 1e300};
  DeviceBuffer<double> d_local(local), d_gathered(local.size());
  auto handle =
      communicator_->all_gather({d_local.get(), local.size()}, {d_gathered.get(), local.size()});
  ASSERT_EQ(handle->wait(kTimeout), CommState::kDone) << handle->error();
  EXPECT_EQ(d_gathered.download(), local);
  // gathered must be [num_ranks, n].
  EXPECT_THROW(communicator_->all_gather({d_local.get(), 5}, {d_gathered.get(), 4}), Error);
  // Zero values per rank: a no-op that still completes.
  EXPECT_EQ(communicator_->all_gather({}, {})->wait(kTimeout), CommState::kDone);
}

TEST_F(NcclSingleRank, BroadcastFromItselfKeepsTheData) {
  const auto data = random_bytes(4099, 1);
  DeviceBuffer<unsigned char> d_data(data);
  auto handle = communicator_->broadcast(bytes_of(d_data), 0);
  ASSERT_EQ(handle->wait(kTimeout), CommState::kDone) << handle->error();
  EXPECT_EQ(d_data.download(), data);
  EXPECT_THROW(communicator_->broadcast(bytes_of(d_data), 1), Error);
  EXPECT_THROW(communicator_->broadcast(bytes_of(d_data), -1), Error);
}

// Self-messages are matched by tag, whatever the posting order; equal tags in posting order.
TEST_F(NcclSingleRank, ExchangeWithOneselfMatchesByTag) {
  const std::vector<size_t> sizes = {17, 0, 4096, 1, 100000, 33};
  const std::vector<int64_t> tags = {5, -3, 1LL << 40, 7, 7, 0};
  std::vector<std::vector<unsigned char>> payload;
  std::vector<std::unique_ptr<DeviceBuffer<unsigned char>>> src, dst;
  std::vector<SendOp> sends;
  for (size_t i = 0; i < sizes.size(); ++i) {
    payload.push_back(random_bytes(sizes[i], 10 + i));
    src.push_back(std::make_unique<DeviceBuffer<unsigned char>>(payload[i]));
    dst.push_back(std::make_unique<DeviceBuffer<unsigned char>>(sizes[i]));
    sends.push_back({.peer = 0, .tag = tags[i], .data = bytes_of(*src[i])});
  }
  // Receives in reverse posting order (the two tag-7 receives keep their relative order).
  std::vector<RecvOp> recvs;
  for (size_t i : {5, 3, 4, 2, 1, 0}) {
    recvs.push_back({.peer = 0, .tag = tags[i], .data = bytes_of(*dst[i])});
  }
  auto handle = communicator_->exchange(sends, recvs);
  ASSERT_EQ(handle->wait(kTimeout), CommState::kDone) << handle->error();
  for (size_t i = 0; i < sizes.size(); ++i) EXPECT_EQ(dst[i]->download(), payload[i]) << i;
  EXPECT_EQ(communicator_->exchange({}, {})->wait(kTimeout), CommState::kDone);
}

TEST_F(NcclSingleRank, ManyMessagesInOneBatch) {
  constexpr int kNumMessages = 1000;
  constexpr size_t kBytes = 257;
  const auto payload = random_bytes(kNumMessages * kBytes, 2);
  DeviceBuffer<unsigned char> d_src(payload), d_dst(payload.size());
  std::vector<SendOp> sends;
  std::vector<RecvOp> recvs;
  for (int m = 0; m < kNumMessages; ++m) {
    const size_t at = static_cast<size_t>(m) * kBytes;
    sends.push_back({0, m, bytes_of(d_src).subspan(at, kBytes)});
    // Message m lands in block kNumMessages - 1 - m.
    recvs.push_back({0, m, bytes_of(d_dst).subspan(payload.size() - at - kBytes, kBytes)});
  }
  std::shuffle(recvs.begin(), recvs.end(), std::mt19937_64(3));
  auto handle = communicator_->exchange(sends, recvs);
  ASSERT_EQ(handle->wait(kTimeout), CommState::kDone) << handle->error();
  const auto result = d_dst.download();
  for (int m = 0; m < kNumMessages; ++m) {
    const size_t at = static_cast<size_t>(m) * kBytes;
    ASSERT_TRUE(std::equal(payload.begin() + static_cast<ptrdiff_t>(at),
                           payload.begin() + static_cast<ptrdiff_t>(at + kBytes),
                           result.end() - static_cast<ptrdiff_t>(at + kBytes)))
        << "message " << m;
  }
}

TEST_F(NcclSingleRank, LargeBuffers) {
  constexpr size_t kBytes = (size_t{256} << 20) + 3;  // 256 MiB and an odd tail
  const auto payload = random_bytes(kBytes, 4);
  DeviceBuffer<unsigned char> d_src(payload), d_dst(kBytes);
  const SendOp send{0, 9, bytes_of(d_src)};
  const RecvOp recv{0, 9, bytes_of(d_dst)};
  auto handle = communicator_->exchange({&send, 1}, {&recv, 1});
  ASSERT_EQ(handle->wait(kTimeout), CommState::kDone) << handle->error();
  EXPECT_TRUE(d_dst.download() == payload);

  auto bcast = communicator_->broadcast(bytes_of(d_src), 0);
  ASSERT_EQ(bcast->wait(kTimeout), CommState::kDone) << bcast->error();

  constexpr size_t kValues = size_t{32} << 20;  // 256 MiB of doubles
  std::vector<double> local(kValues);
  for (size_t i = 0; i < kValues; ++i) local[i] = static_cast<double>(i) * 0.5;
  DeviceBuffer<double> d_local(local), d_gathered(kValues);
  auto gather = communicator_->all_gather({d_local.get(), kValues}, {d_gathered.get(), kValues});
  ASSERT_EQ(gather->wait(kTimeout), CommState::kDone) << gather->error();
  EXPECT_TRUE(d_gathered.download() == local);
}

// With the side stream held, posting and polling return at once and wait() times out; released,
// the same handles complete.
TEST_F(NcclSingleRank, PollNeverBlocks) {
  DeviceBuffer<double> d_local(std::vector<double>{1.0, 2.0}), d_gathered(2);
  const auto payload = random_bytes(1 << 20, 5);
  DeviceBuffer<unsigned char> d_src(payload), d_dst(payload.size());
  const SendOp send{0, 1, bytes_of(d_src)};
  const RecvOp recv{0, 1, bytes_of(d_dst)};
  hold_stream();
  const auto start = std::chrono::steady_clock::now();
  auto gather = communicator_->all_gather({d_local.get(), 2}, {d_gathered.get(), 2});
  auto exchange = communicator_->exchange({&send, 1}, {&recv, 1});
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(gather->poll(), CommState::kPending);
    ASSERT_EQ(exchange->poll(), CommState::kPending);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
  EXPECT_EQ(exchange->wait(20ms), CommState::kTimedOut);
  EXPECT_EQ(exchange->poll(), CommState::kPending);  // a timeout cancels nothing
  release();
  EXPECT_EQ(gather->wait(kTimeout), CommState::kDone) << gather->error();
  EXPECT_EQ(exchange->wait(kTimeout), CommState::kDone) << exchange->error();
  EXPECT_EQ(exchange->poll(), CommState::kDone);  // final
  EXPECT_EQ(d_dst.download(), payload);
}

TEST_F(NcclSingleRank, FaultInjectorFailsTheBatchAndSkipsTheMessage) {
  const auto one = random_bytes(64, 6), two = random_bytes(64, 7);
  DeviceBuffer<unsigned char> d_one(one), d_two(two), d_got_one(64), d_got_two(64);
  const std::vector<unsigned char> before(64, 0xab);
  d_got_two.upload(before);
  std::vector<std::pair<int, int64_t>> asked;
  communicator_->set_fault_injector([&](int from, const SendOp& send) {
    asked.emplace_back(from, send.tag);
    return send.tag != 2;
  });
  const std::vector<SendOp> sends = {{0, 1, bytes_of(d_one)}, {0, 2, bytes_of(d_two)}};
  const std::vector<RecvOp> recvs = {{0, 2, bytes_of(d_got_two)}, {0, 1, bytes_of(d_got_one)}};
  auto handle = communicator_->exchange(sends, recvs);
  ASSERT_EQ(handle->wait(kTimeout), CommState::kFailed);
  EXPECT_NE(handle->error().find("rank 0 -> rank 0, tag 2: injected fault"), std::string::npos)
      << handle->error();
  EXPECT_EQ(asked.size(), 2u);
  EXPECT_EQ(d_got_one.download(), one);     // the other message still went
  EXPECT_EQ(d_got_two.download(), before);  // the refused one never arrived
  // Collectives are not asked.
  communicator_->set_fault_injector({});
  DeviceBuffer<double> d_value(std::vector<double>{4.0}), d_all(1);
  EXPECT_EQ(communicator_->all_gather({d_value.get(), 1}, {d_all.get(), 1})->wait(kTimeout),
            CommState::kDone);
}

TEST_F(NcclSingleRank, UnmatchedSelfMessagesFailTheBatch) {
  DeviceBuffer<unsigned char> d_a(std::vector<unsigned char>(8, 1)), d_b(8), d_c(4);
  {
    const SendOp send{0, 1, bytes_of(d_a)};
    auto handle = communicator_->exchange({&send, 1}, {});
    ASSERT_EQ(handle->wait(kTimeout), CommState::kFailed);
    EXPECT_NE(handle->error().find("tag 1: no receive"), std::string::npos) << handle->error();
  }
  {
    const RecvOp recv{0, 2, bytes_of(d_b)};
    auto handle = communicator_->exchange({}, {&recv, 1});
    ASSERT_EQ(handle->wait(kTimeout), CommState::kFailed);
    EXPECT_NE(handle->error().find("tag 2: no send"), std::string::npos) << handle->error();
  }
  {
    const SendOp send{0, 3, bytes_of(d_a)};
    const RecvOp recv{0, 3, bytes_of(d_c)};
    auto handle = communicator_->exchange({&send, 1}, {&recv, 1});
    ASSERT_EQ(handle->wait(kTimeout), CommState::kFailed);
    EXPECT_NE(handle->error().find("sent 8 bytes into a receive of 4"), std::string::npos)
        << handle->error();
  }
  const SendOp bad{1, 0, bytes_of(d_a)};
  EXPECT_THROW(communicator_->exchange({&bad, 1}, {}), Error);
}

TEST_F(NcclSingleRank, AbortFailsPendingHandlesAndLaterCalls) {
  DeviceBuffer<double> d_value(std::vector<double>{4.0}), d_all(1);
  auto done = communicator_->all_gather({d_value.get(), 1}, {d_all.get(), 1});
  ASSERT_EQ(done->wait(kTimeout), CommState::kDone);
  communicator_->abort();
  communicator_->abort();  // idempotent
  EXPECT_TRUE(communicator_->aborted());
  EXPECT_EQ(done->poll(), CommState::kDone);  // final states stay
  EXPECT_THROW(communicator_->all_gather({d_value.get(), 1}, {d_all.get(), 1}), Error);
  EXPECT_THROW(communicator_->exchange({}, {}), Error);
}

TEST_F(NcclSingleRank, AbortFailsAnInFlightHandle) {
  DeviceBuffer<double> d_value(std::vector<double>{4.0}), d_all(1);
  hold_stream();
  auto handle = communicator_->all_gather({d_value.get(), 1}, {d_all.get(), 1});
  EXPECT_EQ(handle->poll(), CommState::kPending);
  // Released a little later, in case ncclCommAbort waits for the stream.
  std::thread releaser([this] {
    std::this_thread::sleep_for(200ms);
    release();
  });
  communicator_->abort();
  EXPECT_EQ(handle->poll(), CommState::kFailed);
  EXPECT_NE(handle->error().find("communicator aborted"), std::string::npos) << handle->error();
  releaser.join();
  EPLB_ASSERT_CUDA(cudaStreamSynchronize(stream_));
}

TEST_F(NcclSingleRank, DestroyingAnInFlightHandleWaitsForIt) {
  const auto payload = random_bytes(1 << 16, 8);
  DeviceBuffer<unsigned char> d_src(payload), d_dst(payload.size());
  const SendOp send{0, 1, bytes_of(d_src)};
  const RecvOp recv{0, 1, bytes_of(d_dst)};
  hold_stream();
  auto handle = communicator_->exchange({&send, 1}, {&recv, 1});
  std::thread releaser([this] {
    std::this_thread::sleep_for(50ms);
    release();
  });
  handle.reset();  // waits (drain_timeout 5 s) for the copy
  releaser.join();
  EXPECT_FALSE(communicator_->aborted());
  EXPECT_EQ(d_dst.download(), payload);
}

TEST_F(NcclSingleRank, DestroyingAStuckHandleAbortsAfterTheDrainTimeout) {
  TearDown();
  options_.drain_timeout = 50ms;
  SetUp();
  DeviceBuffer<double> d_value(std::vector<double>{4.0}), d_all(1);
  hold_stream();
  auto handle = communicator_->all_gather({d_value.get(), 1}, {d_all.get(), 1});
  std::thread releaser([this] {
    std::this_thread::sleep_for(500ms);
    release();
  });
  const auto start = std::chrono::steady_clock::now();
  handle.reset();
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  EXPECT_TRUE(communicator_->aborted());
  releaser.join();
  EPLB_ASSERT_CUDA(cudaStreamSynchronize(stream_));
}

// ncclConfig_t::blocking = 0: NCCL may answer ncclInProgress; the handles still complete.
TEST(NcclNonBlocking, OperationsComplete) {
  EPLB_REQUIRE_CUDA_DEVICE();
  EPLB_ASSERT_CUDA(cudaSetDevice(0));
  cudaStream_t stream = nullptr;
  EPLB_ASSERT_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  const NcclUniqueId id = make_nccl_unique_id();
  ncclUniqueId nccl_id;
  std::memcpy(&nccl_id, id.data(), sizeof(nccl_id));
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  ncclComm_t comm = nullptr;
  ncclResult_t result = ncclCommInitRankConfig(&comm, 1, nccl_id, 0, &config);
  ASSERT_TRUE(result == ncclSuccess || result == ncclInProgress) << ncclGetErrorString(result);
  ncclResult_t state = ncclInProgress;
  ASSERT_EQ(ncclCommGetAsyncError(comm, &state), ncclSuccess);
  if (state == ncclInProgress) {
    EXPECT_THROW(make_nccl_communicator(comm, 0, 1, stream), Error);  // still initialising
  }
  do {
    ASSERT_EQ(ncclCommGetAsyncError(comm, &result), ncclSuccess);
  } while (result == ncclInProgress);
  ASSERT_EQ(result, ncclSuccess) << ncclGetErrorString(result);
  {
    auto communicator = make_nccl_communicator(comm, 0, 1, stream);
    const std::vector<double> local = {3.0, 1.0, 2.0};
    DeviceBuffer<double> d_local(local), d_gathered(3);
    const auto payload = random_bytes(1 << 20, 9);
    DeviceBuffer<unsigned char> d_src(payload), d_dst(payload.size());
    const SendOp send{0, 1, bytes_of(d_src)};
    const RecvOp recv{0, 1, bytes_of(d_dst)};
    auto gather = communicator->all_gather({d_local.get(), 3}, {d_gathered.get(), 3});
    auto exchange = communicator->exchange({&send, 1}, {&recv, 1});
    EXPECT_EQ(gather->wait(kTimeout), CommState::kDone) << gather->error();
    EXPECT_EQ(exchange->wait(kTimeout), CommState::kDone) << exchange->error();
    EXPECT_EQ(d_gathered.download(), local);
    EXPECT_EQ(d_dst.download(), payload);
  }
  // A non-blocking comm is finalised (asynchronously) before it is destroyed.
  const ncclResult_t finalize = ncclCommFinalize(comm);
  ASSERT_TRUE(finalize == ncclSuccess || finalize == ncclInProgress)
      << ncclGetErrorString(finalize);
  do {
    ASSERT_EQ(ncclCommGetAsyncError(comm, &result), ncclSuccess);
  } while (result == ncclInProgress);
  EXPECT_EQ(ncclCommDestroy(comm), ncclSuccess);
  cudaStreamDestroy(stream);
}

}  // namespace
}  // namespace eplb::cuda
