// eplb::cuda::update_slots against its CPU twin (std::memcpy of each copy): random sizes
// (0 B .. a few MiB, odd sizes), aligned and misaligned pointers, more copies than one launch
// takes, and the event protocol: the forward stream alone is synchronised before reading.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "cuda/cuda_test_util.h"
#include "eplb/cuda/kernels.h"
#include "eplb/error.h"

namespace eplb::cuda {
namespace {

using testing::DeviceBuffer;

TEST(CudaUpdateSlots, MatchesMemcpyTwin) {
  EPLB_REQUIRE_CUDA_DEVICE();
  std::mt19937_64 rng(5);
  // 150 copies (three launches), each into its own region of `slots` from its own region of
  // `staged`; offsets misalign a third of them.
  constexpr int kNumCopies = 150;
  std::uniform_int_distribution<size_t> size(0, size_t{3} << 20);
  std::vector<size_t> bytes(kNumCopies), src_at(kNumCopies), dst_at(kNumCopies);
  size_t src_total = 0, dst_total = 0;
  for (int c = 0; c < kNumCopies; ++c) {
    bytes[c] = c % 10 == 0 ? c % 17 : size(rng);
    src_at[c] = src_total + (c % 3 == 1 ? 3 : 0);
    dst_at[c] = dst_total + (c % 3 == 2 ? 5 : 0);
    src_total = (src_at[c] + bytes[c] + 255) / 256 * 256;
    dst_total = (dst_at[c] + bytes[c] + 255) / 256 * 256;
  }
  std::vector<unsigned char> staged(src_total), slots(dst_total);
  for (auto& byte : staged) byte = static_cast<unsigned char>(rng());
  for (auto& byte : slots) byte = static_cast<unsigned char>(rng());
  DeviceBuffer<unsigned char> d_staged(staged), d_slots(slots);

  std::vector<SlotCopy> copies(kNumCopies);
  for (int c = 0; c < kNumCopies; ++c) {
    copies[c] = {d_slots.get() + dst_at[c], d_staged.get() + src_at[c], bytes[c]};
    std::memcpy(slots.data() + dst_at[c], staged.data() + src_at[c], bytes[c]);  // the twin
  }

  cudaStream_t copy_stream = nullptr, forward_stream = nullptr;
  cudaEvent_t ready = nullptr, done = nullptr;
  EPLB_ASSERT_CUDA(cudaStreamCreateWithFlags(&copy_stream, cudaStreamNonBlocking));
  EPLB_ASSERT_CUDA(cudaStreamCreateWithFlags(&forward_stream, cudaStreamNonBlocking));
  EPLB_ASSERT_CUDA(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
  EPLB_ASSERT_CUDA(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  EPLB_ASSERT_CUDA(cudaEventRecord(ready, forward_stream));
  update_slots(copies, copy_stream, forward_stream, ready, done);
  // Read back on the forward stream only: its wait on `done` must order the copies before it.
  std::vector<unsigned char> result(dst_total);
  EPLB_ASSERT_CUDA(cudaMemcpyAsync(result.data(), d_slots.get(), dst_total, cudaMemcpyDeviceToHost,
                                   forward_stream));
  EPLB_ASSERT_CUDA(cudaStreamSynchronize(forward_stream));
  EXPECT_TRUE(result == slots);
  cudaEventDestroy(ready);
  cudaEventDestroy(done);
  cudaStreamDestroy(copy_stream);
  cudaStreamDestroy(forward_stream);
}

TEST(CudaUpdateSlots, NoCopiesStillPublishesTheEvent) {
  EPLB_REQUIRE_CUDA_DEVICE();
  cudaEvent_t done = nullptr;
  EPLB_ASSERT_CUDA(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  update_slots({}, nullptr, nullptr, nullptr, done);
  EPLB_ASSERT_CUDA(cudaEventSynchronize(done));
  EXPECT_THROW(update_slots({}, nullptr, nullptr, nullptr, nullptr), Error);
  cudaEventDestroy(done);
}

}  // namespace
}  // namespace eplb::cuda
