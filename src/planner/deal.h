// A quick start for policy `balanced` (global placements): replica counts by water-filling,
// then the replicas, heaviest first, dealt to the ranks in rounds: each round gives the next
// num_ranks replicas to the ranks, the heaviest replica to the least loaded rank. Every rank
// takes one replica per round, so the capacity works out by itself and the replicas of one
// expert (equal, hence adjacent in the order) land on distinct ranks unless they straddle two
// rounds. Cheaper than longest-first packing (one small sort per round instead of a dependent
// argmin per replica), a little less balanced: refine_to_target() finishes it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "planner/packing.h"
#include "planner/radix_sort.h"
#include "planner/winner_tree.h"

namespace eplb::planner {

// Scratch of deal_replicas(), reused between calls.
struct DealScratch {
  std::vector<uint32_t> key;     // [num_experts or runs] order_bits of the loads (float)
  std::vector<int32_t> by_load;  // [num_experts or runs] by load descending
  RadixScratch radix;
  std::vector<double> candidate_load;  // [num_extra] the experts that may get extra replicas
  WinnerTree<double, LargestFirst> tree;
  std::vector<uint64_t> replicated;  // sort keys of the replicated experts
  std::vector<int32_t> item_key;     // [num_slots] replicas heaviest first: expert
  std::vector<double> item_weight;   // [num_slots] and tokens
  std::vector<int32_t> by_place;     // [num_ranks] ranks, least loaded first
  std::vector<int32_t> sort_key;     // [num_ranks]
  std::vector<uint64_t> order;       // [num_ranks] scratch of the sort of many ranks
};

// `expert_loads` [num_experts] tokens on `num_ranks` x `slots_per_rank` slots (>= num_experts);
// `replica_count` [num_experts] receives the water-filling counts and `packing` (reset here)
// the dealt replicas, rank-major, each rank's heaviest first (to float precision: the order
// sorts float keys), loads summed. Returns the
// replicas dealt to a rank beside one of the same expert (0 unless an expert's replicas fill
// most of a round).
int deal_replicas(std::span<const double> expert_loads, int32_t num_ranks, int32_t slots_per_rank,
                  std::span<int32_t> replica_count, Packing& packing, DealScratch& scratch);

// The same dealing for replicas already counted: `runs` (`count` replicas of `weight` tokens of
// expert `key`, any order, counts summing to num_ranks x slots_per_rank) -> `packing` (reset
// here). Returns the replicas dealt beside one of the same expert.
int deal_runs(std::span<const ItemRun> runs, int32_t num_ranks, int32_t slots_per_rank,
              Packing& packing, DealScratch& scratch);

}  // namespace eplb::planner
