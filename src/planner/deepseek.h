// Policy `deepseek`: a faithful reimplementation of DeepSeek's EPLB (deepseek-ai/EPLB,
// eplb.py; vLLM's rebalance_algo.py is the same algorithm), one layer at a time.
//
// Hierarchical when num_groups % num_nodes == 0 (pack expert groups onto nodes, replicate
// within each node, pack replicas onto the node's ranks), else global (the same with one
// group and one node). The arithmetic is theirs: loads become float32, pack weights are
// float32 sums, per-replica loads float32 quotients; sorts are descending with ties by
// ascending index (torch leaves tie order unspecified: its unstable CPU sort is
// x86-simd-sort on AVX2/AVX-512 machines, so ties even depend on the CPU; tie-free inputs
// match exactly, checked against torch 2.11 on 3,400 random rows), the water-filling picks
// the first index of the max, the packing the first pack of least weight among packs with
// free capacity. Group sums are added in double and rounded to float32 once: torch's float32
// sum whenever that one is exact (e.g. integer loads summing below 2^24).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "eplb/planner.h"
#include "planner/radix_sort.h"
#include "planner/replicate.h"
#include "planner/small_argmin.h"
#include "planner/winner_tree.h"

namespace eplb::planner {

// Scratch of balanced_packing(), reused between calls.
struct PackingScratch {
  std::vector<uint32_t> key;               // [num_items] order_bits of the weights
  std::vector<int32_t> order;              // [num_items] weight descending, then index
  RadixScratch radix;
  std::vector<int32_t> pack_items;         // [num_packs]
  std::vector<float> pack_weight;          // [num_packs]
  SmallArgmin small_packs;                 // pack weights; full packs out (few packs)
  WinnerTree<float, SmallestFirst> packs;  // pack weights; full packs removed (many packs)
};

// DeepSeek's balanced_packing for one row: `weight` [num_items] float32 items go to
// `num_packs` packs of num_items / num_packs items each, heaviest item first, each to the
// first least-loaded pack with room. Writes `pack_index` and `rank_in_pack` [num_items]
// (the item's position in its pack, in order of arrival). num_items % num_packs == 0.
void balanced_packing(std::span<const float> weight, int num_packs, std::span<int32_t> pack_index,
                      std::span<int32_t> rank_in_pack, PackingScratch& scratch);

// balanced_packing() with the items already in their order: `order` [num_items] item indices
// by weight descending, then index.
void pack_in_order(std::span<const float> weight, std::span<const int32_t> order, int num_packs,
                   std::span<int32_t> pack_index, std::span<int32_t> rank_in_pack,
                   PackingScratch& scratch);

// Plans one layer the DeepSeek way. Reuses its buffers between calls; not thread-safe.
class DeepSeekPlanner {
 public:
  // `expert_loads` [num_experts] -> `phy2log` [num_slots]; options already checked.
  void plan(std::span<const double> expert_loads, const PlanOptions& options,
            std::span<int32_t> phy2log);

 private:
  std::vector<float> weight_;          // [num_experts] float32 loads
  std::vector<float> group_weight_;    // [num_groups]
  std::vector<int32_t> group_pack_;    // [num_groups] node of each group
  std::vector<int32_t> group_rank_;    // [num_groups] position of the group on its node
  std::vector<int32_t> mlog2log_;      // [num_experts] node-major ("meta") expert -> expert
  std::vector<float> node_weight_;     // [experts_per_node]
  std::vector<int32_t> mlog_count_;    // [experts_per_node] replicas of each node expert
  std::vector<int32_t> phy2mlog_;      // [slots_per_node]
  std::vector<float> phy_weight_;      // [slots_per_node] per-replica load
  std::vector<int32_t> pack_index_;    // [slots_per_node] rank within node of each replica
  std::vector<int32_t> rank_in_pack_;  // [slots_per_node] slot within rank
  std::vector<int32_t> phy_order_;     // [slots_per_node] replicas by weight descending
  ReplicaOrderScratch replicas_;
  PackingScratch packing_;
};

}  // namespace eplb::planner
