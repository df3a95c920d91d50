// Replica counts for the packing, global plans with three or more slots per rank.
// Water-filling minimises the largest replica, not the hottest rank. On skewed loads with few
// slots per rank it can give a hot expert a replica on most ranks: the next heavy experts then
// find no rank without a heavy replica, and two of them end up side by side. Where the plan
// stays above its target, moving one replica to an expert of the hottest rank (from the expert
// that loses least by giving one up), then dealing and refining the new counts, can cool it.
// The same idea as improve_pairs() (two_slots.h), where pairs make the evaluation exact.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "planner/deal.h"
#include "planner/packing.h"
#include "planner/pair_swap.h"

namespace eplb::planner {

// Reuses its buffers between calls; not thread-safe.
class CountSearch {
 public:
  // `phy2log` [num_slots]: a plan of `expert_loads` [num_experts] on `num_ranks` ranks of
  // num_slots / num_ranks (>= 3) slots, whose hottest rank carries `hottest` tokens. Up to
  // `max_rounds` times: for each of the heaviest experts of the hottest rank, one replica more,
  // taken from the expert that loses least by giving one up; the new counts dealt and refined
  // quickly (the coldest rank as the only swap partner). The coolest of those, if cooler than
  // the plan and free of same-rank duplicates, is refined in full (to its own lower bound times
  // 1 + `slack`) and replaces the plan. Returns the hottest rank's tokens of the plan left in
  // `phy2log`.
  double improve(std::span<const double> expert_loads, int32_t num_ranks, double slack,
                 int max_rounds, double hottest, std::span<int32_t> phy2log);

 private:
  // Deals `count_` into trial_ and refines it quickly (the coldest rank as the only swap
  // partner, no pair swaps), recording its target and swaps in trial_target_ / trial_swaps_;
  // returns its hottest rank, +infinity when a duplicate is left.
  double quick_trial(std::span<const double> expert_loads, int32_t num_ranks, int32_t num_slots,
                     double slack);

  std::vector<int32_t> count_;      // [num_experts] replicas of the plan being improved
  std::vector<int32_t> receivers_;  // experts of the hottest rank, heaviest replica first
  std::vector<ItemRun> runs_;       // [num_experts]
  std::vector<double> rank_load_;   // [num_ranks]
  Packing trial_;
  double trial_target_ = 0;  // trial_'s refinement target (its lower bound x (1 + slack))
  int trial_swaps_ = 0;      // and the swaps its quick refinement made
  Packing best_;             // the coolest trial of a round, refined further when kept
  double best_target_ = 0;
  int best_swaps_ = 0;
  DealScratch deal_;
  PairSwapScratch pair_swap_;
};

}  // namespace eplb::planner
