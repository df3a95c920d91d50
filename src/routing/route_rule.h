// The per-entry routing rule shared by the host router (token_router.cc) and its CUDA twin
// (src/cuda/route_kernel.cu): one definition, so both pick the same replica bit for bit.
// Header-only and CUDA-free: under nvcc the functions become __host__ __device__.
#pragma once

#include <cstdint>

#include "eplb/token_router.h"

#if defined(__CUDACC__)
#define EPLB_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define EPLB_HOST_DEVICE inline
#endif

namespace eplb::detail {

// The splitmix64 finalizer (Steele, Lea, Flood 2014): a bijection on 64 bits with full avalanche.
EPLB_HOST_DEVICE uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;  // splitmix64's stream increment

// A well-mixed 64-bit hash of one routing entry: splitmix64 steps keyed by the seed, then the
// token, then the top-k position.
EPLB_HOST_DEVICE uint64_t route_hash(uint64_t seed, uint64_t token_idx, uint64_t k_idx) {
  const uint64_t h = mix64(mix64(seed) + kGolden * (token_idx + 1));
  return mix64(h + kGolden * (k_idx + 1));
}

// The top 24 bits of a hash as a float in [0, 1): exact (every value is a multiple of 2^-24).
EPLB_HOST_DEVICE float route_uniform(uint64_t hash) {
  return static_cast<float>(static_cast<uint32_t>(hash >> 40)) * (1.0f / 16777216.0f);
}

// A ReplicaTable's arrays, host or device pointers (see ReplicaTable for the shapes).
struct ReplicaTableView {
  const int32_t* offset = nullptr;    // [num_experts + 1]
  const int32_t* slot = nullptr;      // [offset[num_experts]]
  const float* cum_weight = nullptr;  // [offset[num_experts]]
  int32_t num_experts = 0;
  int32_t slots_per_rank = 1;
};

// Physical slot for logical expert `expert_idx` at entry (token_idx, k_idx), or -1 when the id is
// outside [0, num_experts) or the expert has no replica. The rules are documented in
// eplb/token_router.h.
EPLB_HOST_DEVICE int32_t pick_slot(const ReplicaTableView& table, int64_t expert_idx,
                                   RoutePolicy policy, int32_t local_rank, uint64_t seed,
                                   uint64_t token_idx, uint64_t k_idx) {
  if (expert_idx < 0 || expert_idx >= table.num_experts) return -1;
  const int32_t begin = table.offset[expert_idx];
  const int32_t count = table.offset[expert_idx + 1] - begin;
  if (count <= 0) return -1;
  if (policy == RoutePolicy::kWeighted) {
    const float u = route_uniform(route_hash(seed, token_idx, k_idx));
    for (int32_t r = 0; r < count - 1; ++r) {
      if (table.cum_weight[begin + r] > u) return table.slot[begin + r];
    }
    return table.slot[begin + count - 1];  // cum_weight is exactly 1 there, > any u
  }
  if (policy == RoutePolicy::kLocalFirst) {
    for (int32_t r = 0; r < count; ++r) {
      const int32_t slot_idx = table.slot[begin + r];
      if (slot_idx / table.slots_per_rank == local_rank) return slot_idx;
    }
  }
  const uint64_t replica_idx = (token_idx + k_idx + seed) % static_cast<uint64_t>(count);
  return table.slot[begin + static_cast<int32_t>(replica_idx)];
}

}  // namespace eplb::detail
