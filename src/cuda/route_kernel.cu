// The routing kernel: device twin of src/routing/token_router.cc, sharing its per-entry rule
// (routing/route_rule.h), so both pick the same physical slot bit for bit.
#include <algorithm>
#include <string>

#include "cuda/cuda_check.h"
#include "eplb/cuda/kernels.h"
#include "routing/route_rule.h"

namespace eplb::cuda {
namespace {

// topk_slots[i] = pick_slot(active table, topk_ids[i], ...) for i in [0, num_ids), entry i being
// (token_idx, k_idx) = (i / k, i % k).
__global__ void route_kernel(const int32_t* __restrict__ topk_ids, int64_t num_ids, int k,
                             DeviceReplicaTableRef tables, RoutePolicy policy, int local_rank,
                             uint64_t seed, int32_t* __restrict__ topk_slots) {
  // One read of the active index per block, from device memory (not a kernel parameter), so
  // graph replays follow commits. Commits are stream-ordered with this kernel, so every block
  // reads the same value.
  __shared__ int32_t active;
  if (threadIdx.x == 0) active = *static_cast<const volatile int32_t*>(tables.active);
  __syncthreads();
  const eplb::detail::ReplicaTableView view{tables.offset[active], tables.slot[active],
                                            tables.cum_weight[active], tables.num_experts,
                                            *tables.slots_per_rank[active]};
  const uint64_t width = static_cast<uint64_t>(k);
  const int64_t stride = int64_t{gridDim.x} * blockDim.x;
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < num_ids; i += stride) {
    const uint64_t entry = static_cast<uint64_t>(i);
    topk_slots[i] = eplb::detail::pick_slot(view, topk_ids[i], policy, local_rank, seed,
                                            entry / width, entry % width);
  }
}

}  // namespace

void route_tokens(const int32_t* d_topk_ids, int64_t num_tokens, int k,
                  const DeviceReplicaTable& table, RoutePolicy policy, int local_rank,
                  uint64_t seed, int32_t* d_topk_slots, cudaStream_t stream) {
  if (num_tokens < 0 || k <= 0) {
    throw Error("eplb::cuda::route_tokens: num_tokens=" + std::to_string(num_tokens) +
                " must be >= 0 and k=" + std::to_string(k) + " > 0");
  }
  const int64_t num_ids = num_tokens * k;
  if (num_ids == 0) return;
  const int64_t wanted = (num_ids + detail::kBlockThreads - 1) / detail::kBlockThreads;
  const int blocks = static_cast<int>(std::min<int64_t>(wanted, 65535));
  route_kernel<<<blocks, detail::kBlockThreads, 0, stream>>>(
      d_topk_ids, num_ids, k, table.ref(), policy, local_rank, seed, d_topk_slots);
  EPLB_CUDA_CHECK_LAUNCH("route_tokens");
}

}  // namespace eplb::cuda
