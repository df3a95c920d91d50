// Policy `balanced` (the default), one layer at a time.
//
// Per node (the whole layer when global): water-filling replica counts; longest-first
// packing that puts the replicas of one expert on distinct ranks; duplicates that packing
// could not avoid are swapped apart; then swaps between the hottest rank and the others
// while they lower it, and two-for-two exchanges where single swaps are stuck (refine.h).
// With groups % nodes == 0 groups are first packed onto nodes like DeepSeek does, longest
// first, then refined by the same swaps.
//
// Guarantee by construction: the hottest rank is never hotter than DeepSeek's (policy
// `deepseek`, same topology; up to 1e-12 relative, the rounding of sums in another order). When
// ours is, the layer is packed again our way from DeepSeek's replica counts and node assignment;
// when even that is hotter (used_fallback()), DeepSeek's placement itself is refined: its same-rank
// duplicates are moved apart, or the second copy handed to another expert, only while no rank
// exceeds DeepSeek's hottest, so some may remain. That happens only where the duplicate is what
// makes DeepSeek's placement better. Topology relaxation (global beats hierarchical, e.g. 8 groups
// on 8 nodes) is a later issue.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "eplb/planner.h"
#include "planner/deepseek.h"
#include "planner/packing.h"
#include "planner/refine.h"
#include "planner/replicate.h"

namespace eplb::planner {

// Reuses its buffers between calls; not thread-safe.
class BalancedPlanner {
 public:
  // `expert_loads` [num_experts] -> `phy2log` [num_slots]; options already checked.
  void plan(std::span<const double> expert_loads, const PlanOptions& options,
            std::span<int32_t> phy2log);

  // Whether the last plan() had to start from DeepSeek's placement.
  bool used_fallback() const { return used_fallback_; }

 private:
  // Places the logical `experts` of one node on `num_ranks` ranks -> `phy2log`
  // [num_ranks * slots_per_rank].
  void plan_node(std::span<const double> expert_loads, std::span<const int32_t> experts,
                 int32_t num_ranks, std::span<int32_t> phy2log);
  // Packs `experts` with the given `replica_count` (both [experts_per_node]) our way.
  void pack_node(std::span<const double> expert_loads, std::span<const int32_t> experts,
                 std::span<const int32_t> replica_count, int32_t num_ranks,
                 std::span<int32_t> phy2log);
  // Packs our way, per node, the experts and replica counts of DeepSeek's placement (in
  // deepseek_phy2log_) into `phy2log`.
  void repack_deepseek(std::span<const double> expert_loads, int32_t num_nodes, int32_t num_ranks,
                       std::span<int32_t> phy2log);
  // Refines DeepSeek's placement (in deepseek_phy2log_) into `phy2log`.
  void improve_deepseek(std::span<const double> expert_loads, int32_t num_nodes, int32_t num_ranks,
                        std::span<int32_t> phy2log);
  // Loads packing_ with one node's slots of `phy2log`: per-replica weights from
  // replica_count_.
  void load_node(std::span<const double> expert_loads, std::span<const int32_t> node_phy2log,
                 int32_t num_ranks);

  // Hottest-rank target of pair swaps for the node in packing_.
  double polish_target() const;

  bool used_fallback_ = false;
  double deepseek_max_ = 0;  // DeepSeek's hottest rank in this layer
  double rank_floor_ = 0;    // mean rank load of the heaviest node
  DeepSeekPlanner deepseek_;
  std::vector<int32_t> deepseek_phy2log_;  // [num_slots]
  std::vector<int32_t> node_experts_;      // [num_experts] node-major logical experts
  std::vector<double> node_loads_;         // [experts_per_node]
  std::vector<int32_t> node_count_;        // [experts_per_node] replicas per node expert
  std::vector<int32_t> replica_count_;     // [num_experts] replicas over the layer
  std::vector<int32_t> extra_expert_;      // [slots_per_node - experts_per_node]
  std::vector<ItemRun> runs_;
  Packing packing_;
  std::vector<uint64_t> run_order_;
  std::vector<ItemRun> sorted_runs_;
  LptScratch lpt_;
  PairSwapScratch pair_swap_;
  ReplicaTree<double> replica_tree_;
  std::vector<double> rank_load_;  // [num_ranks]
};

}  // namespace eplb::planner
