// The expert-weight slot update: batched device copies on a side stream, published to the
// forward stream with an event (eplb/cuda/kernels.h). CPU twin: std::memcpy of each copy.
#include <algorithm>
#include <cstdint>

#include "cuda/cuda_check.h"
#include "eplb/cuda/kernels.h"

namespace eplb::cuda {
namespace {

// Copies per launch; the batch travels as a kernel parameter (64 * 24 B), no upload needed.
constexpr int kMaxCopiesPerLaunch = 64;
// Grid: ~64 KiB per block, at most 2048 blocks per copy (about two waves on an H100; one wave
// of resident blocks, or four, measured no faster).
constexpr size_t kBytesPerBlock = size_t{64} << 10;
constexpr int kMaxBlocksPerCopy = 2048;

struct CopyBatch {
  SlotCopy copies[kMaxCopiesPerLaunch];
};

// blockIdx.y picks the copy; blocks along x stride over it. 16-byte vector loads/stores (four
// in flight per thread, streaming cache hints) when both pointers are 16-byte aligned; the rest
// byte by byte.
__global__ void copy_slots_kernel(CopyBatch batch) {
  const SlotCopy copy = batch.copies[blockIdx.y];
  const auto* src = static_cast<const unsigned char*>(copy.src);
  auto* dst = static_cast<unsigned char*>(copy.dst);
  const size_t stride = size_t{gridDim.x} * blockDim.x;
  const size_t first = size_t{blockIdx.x} * blockDim.x + threadIdx.x;
  size_t head = 0;  // bytes done with vectors
  if (((reinterpret_cast<uintptr_t>(src) | reinterpret_cast<uintptr_t>(dst)) & 15) == 0) {
    const size_t num_vectors = copy.bytes / 16;
    const auto* src16 = reinterpret_cast<const uint4*>(src);
    auto* dst16 = reinterpret_cast<uint4*>(dst);
    size_t i = first;
    for (; i + 3 * stride < num_vectors; i += 4 * stride) {
      const uint4 a = __ldcs(src16 + i);
      const uint4 b = __ldcs(src16 + i + stride);
      const uint4 c = __ldcs(src16 + i + 2 * stride);
      const uint4 d = __ldcs(src16 + i + 3 * stride);
      __stcs(dst16 + i, a);
      __stcs(dst16 + i + stride, b);
      __stcs(dst16 + i + 2 * stride, c);
      __stcs(dst16 + i + 3 * stride, d);
    }
    for (; i < num_vectors; i += stride) __stcs(dst16 + i, __ldcs(src16 + i));
    head = num_vectors * 16;
  }
  for (size_t i = head + first; i < copy.bytes; i += stride) dst[i] = src[i];
}

}  // namespace

void update_slots(std::span<const SlotCopy> copies, cudaStream_t copy_stream,
                  cudaStream_t forward_stream, cudaEvent_t ready, cudaEvent_t done) {
  constexpr const char* kWhere = "update_slots";
  if (done == nullptr) throw Error("eplb::cuda::update_slots: `done` event is null");
  if (ready != nullptr) EPLB_CUDA_CHECK(kWhere, cudaStreamWaitEvent(copy_stream, ready, 0));
  for (size_t first = 0; first < copies.size(); first += kMaxCopiesPerLaunch) {
    const size_t count = std::min<size_t>(kMaxCopiesPerLaunch, copies.size() - first);
    CopyBatch batch{};
    size_t max_bytes = 0;
    for (size_t c = 0; c < count; ++c) {
      batch.copies[c] = copies[first + c];
      max_bytes = std::max(max_bytes, copies[first + c].bytes);
    }
    if (max_bytes == 0) continue;
    const size_t wanted = (max_bytes + kBytesPerBlock - 1) / kBytesPerBlock;
    const dim3 grid(static_cast<unsigned>(std::min<size_t>(wanted, kMaxBlocksPerCopy)),
                    static_cast<unsigned>(count));
    copy_slots_kernel<<<grid, detail::kBlockThreads, 0, copy_stream>>>(batch);
    EPLB_CUDA_CHECK_LAUNCH(kWhere);
  }
  EPLB_CUDA_CHECK(kWhere, cudaEventRecord(done, copy_stream));
  EPLB_CUDA_CHECK(kWhere, cudaStreamWaitEvent(forward_stream, done, 0));
}

}  // namespace eplb::cuda
