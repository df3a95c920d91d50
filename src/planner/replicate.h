// Replica counts by water-filling: each slot beyond the first replica of every expert goes
// to the logical expert whose per-replica load is currently the largest.
//
// This is DeepSeek EPLB's `replicate_experts` for one row. It minimises the largest
// per-replica load, the floor under any rank's load.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "planner/winner_tree.h"

namespace eplb::planner {

// `loads` [num_experts] tokens per logical expert (T = float reproduces DeepSeek's float32
// arithmetic, T = double is ours). `replica_count` [num_experts] receives >= 1 replicas per
// expert; `extra_expert` [num_extra] receives the logical expert given each redundant slot,
// in the order chosen. The expert with the largest load / replica_count wins, the lowest
// index among equals (torch's `max(dim=-1)`). O(num_experts + num_extra log num_experts).
// `tree` is scratch, reused between calls.
template <typename T>
using ReplicaTree = WinnerTree<T, LargestFirst>;

template <typename T>
void water_fill(std::span<const T> loads, std::span<int32_t> replica_count,
                std::span<int32_t> extra_expert, ReplicaTree<T>& tree);

extern template void water_fill<float>(std::span<const float>, std::span<int32_t>,
                                       std::span<int32_t>, ReplicaTree<float>&);
extern template void water_fill<double>(std::span<const double>, std::span<int32_t>,
                                        std::span<int32_t>, ReplicaTree<double>&);

}  // namespace eplb::planner
