// Replica counts by water-filling: each slot beyond the first replica of every expert goes
// to the logical expert whose per-replica load is currently the largest.
//
// This is DeepSeek EPLB's `replicate_experts` for one row. It minimises the largest
// per-replica load, the floor under any rank's load.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "planner/radix_sort.h"
#include "planner/winner_tree.h"

namespace eplb::planner {

// `loads` [num_experts] tokens per logical expert (T = float reproduces DeepSeek's float32
// arithmetic, T = double is ours). `replica_count` [num_experts] receives >= 1 replicas per
// expert; `extra_expert` [num_extra] receives the logical expert given each redundant slot,
// in the order chosen. The expert with the largest load / replica_count wins, the lowest
// index among equals (torch's `max(dim=-1)`). Only experts above a floor under the final
// largest load per replica can win, so the competition is among them: O(num_experts +
// num_extra log candidates). `scratch` is reused between calls.
template <typename T>
using ReplicaTree = WinnerTree<T, LargestFirst>;

template <typename T>
struct WaterFillScratch {
  std::vector<int32_t> candidates;  // experts that may win a slot, ascending
  std::vector<T> candidate_load;
  ReplicaTree<T> tree;
};

// Returns the largest load per replica after water-filling (0 for no experts).
template <typename T>
T water_fill(std::span<const T> loads, std::span<int32_t> replica_count,
             std::span<int32_t> extra_expert, WaterFillScratch<T>& scratch);

extern template float water_fill<float>(std::span<const float>, std::span<int32_t>,
                                        std::span<int32_t>, WaterFillScratch<float>&);
extern template double water_fill<double>(std::span<const double>, std::span<int32_t>,
                                          std::span<int32_t>, WaterFillScratch<double>&);

// The largest load per replica under `replica_count` [num_experts] when those counts are
// optimal (water-filling's largest load per replica for the same number of slots), else
// nullopt. They are when no replica taken from a donor (an expert of two or more) and given to
// the expert of the largest replica could lower it: every donor's load per replica after
// giving one up is at or above that largest one. O(num_experts); an expert without a replica
// makes it nullopt.
std::optional<double> largest_replica_if_optimal(std::span<const double> loads,
                                                 std::span<const int32_t> replica_count);

// The expert that loses least by giving up a replica: the smallest loads[e] /
// (replica_count[e] - 1) among the experts of two or more replicas other than `except`, the
// lowest index among equals; -1 if there is none. O(num_experts).
int32_t cheapest_donor(std::span<const double> loads, std::span<const int32_t> replica_count,
                       int32_t except);

// Scratch of replicate_in_order(), reused between calls.
struct ReplicaOrderScratch {
  std::vector<uint32_t> key;     // [num_experts] order_bits of the loads
  std::vector<int32_t> by_load;  // [num_experts] load descending, then index
  RadixScratch radix;
  std::vector<int32_t> candidates;  // experts that can get an extra slot, ascending
  std::vector<float> candidate_load;
  ReplicaTree<float> tree;
  std::vector<uint64_t> replicated;  // sort keys of the replicas of replicated experts
};

// DeepSeek's replicate_experts (water_fill<float>) fused with the sort that its packing does
// next: `replica_count` [num_experts] and `extra_expert` [num_extra] as water_fill<float>, and
// `order` [num_experts + num_extra] the replicas by per-replica load (loads[e] /
// replica_count[e] in float32) descending, then by index, a replica's index being e for an
// expert's first and num_experts + j for extra slot j. The same results as water_fill<float>
// and a sort of all replicas, cheaper: one sort of the experts, whose first num_extra are the
// only ones that can get an extra slot (every other has a heavier expert of one replica
// ahead of it), and a merge.
void replicate_in_order(std::span<const float> loads, std::span<int32_t> replica_count,
                        std::span<int32_t> extra_expert, std::span<int32_t> order,
                        ReplicaOrderScratch& scratch);

}  // namespace eplb::planner
