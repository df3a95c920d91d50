// Load counting kernels: device twins of src/routing/load_counter.cc.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "cuda/cuda_check.h"
#include "eplb/cuda/kernels.h"

namespace eplb::cuda {
namespace {

// Shared-memory histograms up to this many experts (uint32 bins within the default 48 KiB,
// leaving room for the static shared counters).
constexpr int kMaxSharedExperts = 12000;
// Ids per block at most, so a block's uint32 shared counters cannot overflow.
constexpr int64_t kMaxIdsPerBlock = int64_t{1} << 30;

using ull = unsigned long long;

__device__ __forceinline__ uint32_t warp_sum(uint32_t value) {
  for (int delta = 16; delta > 0; delta /= 2) value += __shfl_down_sync(0xFFFFFFFFu, value, delta);
  return value;
}

// counts [num_experts] += occurrences; *num_invalid += ids outside [0, num_experts).
// kShared: histogram in shared memory (dynamic, num_experts uint32), flushed with one global
// atomic per non-zero bin; otherwise every valid id is a global atomic.
// kDecay (count_expert_load_decayed): `counts` is the zeroed workspace [num_experts + 1], its
// last entry counting finished blocks; the last block to finish applies
// decayed[e] = decayed[e] * decay + counts[e] and leaves the workspace zero again, so the whole
// update is one launch.
template <typename Id, bool kShared, bool kDecay>
__global__ void count_kernel(const Id* __restrict__ topk_ids, int64_t num_ids, int num_experts,
                             ull* __restrict__ counts, ull* __restrict__ num_invalid,
                             double* __restrict__ decayed, double decay) {
  extern __shared__ uint32_t histogram[];  // [num_experts] when kShared
  __shared__ uint32_t block_invalid;
  if (threadIdx.x == 0) block_invalid = 0;
  if constexpr (kShared) {
    for (int e = threadIdx.x; e < num_experts; e += blockDim.x) histogram[e] = 0;
  }
  __syncthreads();

  uint32_t invalid = 0;
  const int64_t stride = int64_t{gridDim.x} * blockDim.x;
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < num_ids; i += stride) {
    const Id expert_idx = topk_ids[i];
    if (expert_idx >= 0 && expert_idx < static_cast<Id>(num_experts)) {
      if constexpr (kShared) {
        atomicAdd(&histogram[expert_idx], 1u);
      } else {
        atomicAdd(&counts[expert_idx], ull{1});
      }
    } else {
      ++invalid;
    }
  }
  invalid = warp_sum(invalid);
  if ((threadIdx.x & 31) == 0 && invalid != 0) atomicAdd(&block_invalid, invalid);
  __syncthreads();

  if constexpr (kShared) {
    for (int e = threadIdx.x; e < num_experts; e += blockDim.x) {
      if (histogram[e] != 0) atomicAdd(&counts[e], ull{histogram[e]});
    }
  }
  if (threadIdx.x == 0 && block_invalid != 0 && num_invalid != nullptr) {
    atomicAdd(num_invalid, ull{block_invalid});
  }

  if constexpr (kDecay) {
    // CUDA's threadFenceReduction pattern: publish this block's flush, then count the block.
    __shared__ bool is_last;
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) is_last = atomicAdd(&counts[num_experts], ull{1}) == gridDim.x - 1;
    __syncthreads();
    if (!is_last) return;
    __threadfence();
    for (int e = threadIdx.x; e < num_experts; e += blockDim.x) {
      const auto batch = static_cast<long long>(atomicExch(&counts[e], ull{0}));
      // Product and sum rounded separately, like the host twin.
      decayed[e] = __dadd_rn(__dmul_rn(decayed[e], decay), static_cast<double>(batch));
    }
    if (threadIdx.x == 0) counts[num_experts] = 0;
  }
}

void check_args(const char* where, int64_t num_ids, int num_experts) {
  if (num_ids < 0 || num_experts < 0) {
    throw Error(std::string("eplb::cuda::") + where + ": num_ids=" + std::to_string(num_ids) +
                " and num_experts=" + std::to_string(num_experts) + " must be >= 0");
  }
}

// One launch of count_kernel; `decayed` null for a plain count.
template <typename Id>
void launch_count(const char* where, const Id* topk_ids, int64_t num_ids, int num_experts,
                  int64_t* counts, int64_t* num_invalid, double* decayed, double decay,
                  cudaStream_t stream) {
  constexpr int64_t kIdsPerThread = 4;  // a few ids per thread amortise the histogram flush
  const int64_t wanted = (num_ids + detail::kBlockThreads * kIdsPerThread - 1) /
                         (detail::kBlockThreads * kIdsPerThread);
  const int64_t needed = (num_ids + kMaxIdsPerBlock - 1) / kMaxIdsPerBlock;
  const int blocks =
      static_cast<int>(std::max<int64_t>({int64_t{1}, needed, std::min<int64_t>(wanted, 1024)}));
  auto* counts_u = reinterpret_cast<ull*>(counts);
  auto* invalid_u = reinterpret_cast<ull*>(num_invalid);
  const bool shared = num_experts <= kMaxSharedExperts;
  const size_t shared_bytes = shared ? sizeof(uint32_t) * static_cast<size_t>(num_experts) : 0;
  auto* kernel = decayed == nullptr
                     ? (shared ? count_kernel<Id, true, false> : count_kernel<Id, false, false>)
                     : (shared ? count_kernel<Id, true, true> : count_kernel<Id, false, true>);
  kernel<<<blocks, detail::kBlockThreads, shared_bytes, stream>>>(
      topk_ids, num_ids, num_experts, counts_u, invalid_u, decayed, decay);
  EPLB_CUDA_CHECK_LAUNCH(where);
}

template <typename Id>
void count_plain(const Id* topk_ids, int64_t num_ids, int num_experts, int64_t* counts,
                 int64_t* num_invalid, cudaStream_t stream) {
  constexpr const char* kWhere = "count_expert_load";
  check_args(kWhere, num_ids, num_experts);
  if (num_ids == 0) return;
  launch_count(kWhere, topk_ids, num_ids, num_experts, counts, num_invalid, nullptr, 0.0, stream);
}

template <typename Id>
void count_decayed(const Id* topk_ids, int64_t num_ids, int num_experts, double decay,
                   double* counts, int64_t* workspace, int64_t* num_invalid, cudaStream_t stream) {
  constexpr const char* kWhere = "count_expert_load_decayed";
  check_args(kWhere, num_ids, num_experts);
  if (!std::isfinite(decay) || decay < 0) {
    throw Error("eplb::cuda::count_expert_load_decayed: decay=" + std::to_string(decay) +
                " must be finite and >= 0");
  }
  if (num_experts == 0 && num_ids == 0) return;
  // An empty batch still launches (one block): the decay applies every call.
  launch_count(kWhere, topk_ids, num_ids, num_experts, workspace, num_invalid, counts, decay,
               stream);
}

}  // namespace

void count_expert_load(const int32_t* d_topk_ids, int64_t num_ids, int num_experts,
                       int64_t* d_counts, int64_t* d_num_invalid, cudaStream_t stream) {
  count_plain(d_topk_ids, num_ids, num_experts, d_counts, d_num_invalid, stream);
}

void count_expert_load(const int64_t* d_topk_ids, int64_t num_ids, int num_experts,
                       int64_t* d_counts, int64_t* d_num_invalid, cudaStream_t stream) {
  count_plain(d_topk_ids, num_ids, num_experts, d_counts, d_num_invalid, stream);
}

void count_expert_load_decayed(const int32_t* d_topk_ids, int64_t num_ids, int num_experts,
                               double decay, double* d_counts, int64_t* d_workspace,
                               int64_t* d_num_invalid, cudaStream_t stream) {
  count_decayed(d_topk_ids, num_ids, num_experts, decay, d_counts, d_workspace, d_num_invalid,
                stream);
}

void count_expert_load_decayed(const int64_t* d_topk_ids, int64_t num_ids, int num_experts,
                               double decay, double* d_counts, int64_t* d_workspace,
                               int64_t* d_num_invalid, cudaStream_t stream) {
  count_decayed(d_topk_ids, num_ids, num_experts, decay, d_counts, d_workspace, d_num_invalid,
                stream);
}

}  // namespace eplb::cuda
