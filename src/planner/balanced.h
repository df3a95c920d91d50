// Policy `balanced` (the default), even routing, one layer at a time.
//
// Global placements with three or more slots per rank first take the quick plan: the replicas
// dealt to the ranks in rounds (deal.h), then refined (below) until the hottest rank is within
// balance_slack of the lower bound. That is cheaper than DeepSeek's own packing and lands
// at or under max(DeepSeek's hottest rank, lower bound x (1 + balance_slack)) for every layer
// (the bound is under DeepSeek's hottest rank): a layer where DeepSeek lands closer to the
// bound than the slack may come out up to the slack hotter than DeepSeek's, the mean over
// layers stays cooler on skewed loads (bench/policy_compare.cc measures it). Where the largest
// replica sets the bound, a few more swaps aim for the floor under any even placement (that
// replica plus the slots_per_rank - 1 lightest), which DeepSeek's packing usually reaches.
// Where the quick plan does not reach its target (or keeps a same-rank duplicate), and for
// hierarchical placements and two slots per rank:
//
// Never worse than DeepSeek by construction: it starts from DeepSeek's own placement (policy
// `deepseek`: the same replica counts, the same longest-first packing, hierarchical or
// global alike) and then applies only swaps of two replicas between ranks that keep every
// rank at or below the hottest rank's load:
//   1. same-rank duplicates (two replicas of one expert on one rank, which DeepSeek's packing
//      makes on up to ~7% of ranks) are swapped apart; where every swap would heat a rank past
//      DeepSeek's hottest, the node's replicas are packed afresh (longest first on distinct
//      ranks, then refined) and that packing is taken if it is as cool; else the second copy
//      is handed to another expert where that keeps the hottest rank as it is;
//   2. the hottest rank swaps replicas with the coldest ones until it is within balance_slack of
//      the lower bound for these replica counts (max(largest per-replica load, mean rank
//      load)), or no swap lowers it (refine.h).
// With two slots per rank (global), the replica counts are improved too (two_slots.h): the
// pairing changes only when its hottest rank is cooler.
//
// Swaps stay within a node, so hierarchical placements keep every group on one node. The
// lower bound stops the search early (PlanOptions::balance_slack): on DeepSeek-V3-like loads
// the default 0.2% takes ~8 swaps per layer from DeepSeek's start, ~13 from the dealt one.
//
// With nodes and groups (hierarchical) and Topology::kRelaxed, a relaxed placement
// (topology.h) is planned too and taken when the strict one's hottest rank is more than
// PlanOptions::relax_threshold (in mean rank loads) hotter. Where the relaxed placement misses
// its target with three or more slots per rank, it is planned again with the replica counts of
// a global plan (which has the count search), and the cooler of the two is kept.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "eplb/planner.h"
#include "planner/count_search.h"
#include "planner/deal.h"
#include "planner/deepseek.h"
#include "planner/packing.h"
#include "planner/pair_swap.h"
#include "planner/topology.h"
#include "planner/two_slots.h"

namespace eplb::planner {

// Reuses its buffers between calls; not thread-safe.
class BalancedPlanner {
 public:
  // `expert_loads` [num_experts] -> `phy2log` [num_slots]; options already checked.
  void plan(std::span<const double> expert_loads, const PlanOptions& options,
            std::span<int32_t> phy2log);

  // Avoidable same-rank duplicate replicas the last plan() kept (avoidable_duplicates()):
  // those no swap nor hand-over could take apart without heating the hottest rank (DeepSeek's
  // placement relies on them).
  int duplicates_left() const { return duplicates_left_; }
  // The last plan()'s lower bound on the hottest rank's tokens for its replica counts.
  double lower_bound() const { return lower_bound_; }
  // Whether the last plan() took the relaxed placement (replicas off their group's node).
  bool relaxed() const { return relaxed_; }
  // The hottest rank's tokens of the last plan()'s strict placement (0: global plan).
  double strict_max() const { return strict_max_; }

 private:
  // Takes apart duplicates (when `may_have_duplicates`) and refines the `num_ranks` ranks of
  // `node_phy2log` (one node's slots), never above `limit` tokens on a rank, aiming at
  // `target`.
  void improve_node(std::span<const double> expert_loads, std::span<int32_t> node_phy2log,
                    int32_t num_ranks, double limit, double target, bool may_have_duplicates);

  // The quick global plan (deal.h, then refinement to the target); false, leaving `phy2log`
  // alone, when that does not reach the target or keeps a duplicate.
  bool plan_dealt(std::span<const double> expert_loads, const PlanOptions& options,
                  std::span<int32_t> phy2log);

  int duplicates_left_ = 0;
  double lower_bound_ = 0;
  bool relaxed_ = false;
  double strict_max_ = 0;
  DeepSeekPlanner deepseek_;
  RelaxedPlanner relaxed_planner_;
  std::vector<int32_t> relaxed_phy2log_;  // [num_slots]
  std::vector<int32_t> global_phy2log_;   // [num_slots] a global plan, for its replica counts
  std::vector<int32_t> global_count_;     // [num_experts] its replica counts
  std::vector<int32_t> retry_phy2log_;    // [num_slots] the relaxed plan with those counts
  std::vector<int32_t> replica_count_;    // [num_experts]
  std::vector<double> replica_load_;      // [num_experts] tokens per replica
  std::vector<int32_t> stamp_;            // [num_experts] scratch of the duplicate scan
  std::vector<double> rank_load_;         // [num_ranks]
  std::vector<double> pair_weights_;      // [slots per node] scratch of paired_floor()
  std::vector<int32_t> donate_count_;     // scratch of donate_duplicates()
  std::vector<double> donate_load_;
  Packing packing_;
  PairSwapScratch pair_swap_;
  // A fresh packing of one node's replicas, where DeepSeek's keeps duplicates.
  std::vector<ItemRun> runs_;
  std::vector<uint64_t> run_order_;
  std::vector<ItemRun> sorted_runs_;
  Packing spread_;
  LptScratch lpt_;
  PairScratch pairs_;
  CountSearch count_search_;
  Packing dealt_;                       // the quick global plan's ranks
  std::vector<int32_t> dealt_phy2log_;  // [num_slots] the dealt plan, given better counts
  bool dealt_ready_ = false;            // whether dealt_ holds this layer's dealt plan
  DealScratch deal_;
};

}  // namespace eplb::planner
