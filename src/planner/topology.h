// Topology: expert groups on nodes (DeepSeek's group-limited routing sends a token to at most
// as many nodes as groups it picks, when each group lives on one node).
//
// Relaxed placement, for when keeping every group on one node costs balance (DeepSeek's
// hierarchical mode: 1.16 max/mean on DeepSeek-V3-like loads with 4 nodes x 8 groups, 1.38
// with 8 groups on 8 nodes):
//   1. groups go to nodes longest first, then swaps between nodes (refine_swaps) even out the
//      node loads as far as whole groups allow;
//   2. replica counts by water-filling over the whole layer, as if topology-free;
//   3. every replica starts on its group's node; a node then holds more slots than it has
//      exactly where its experts are hot, so its surplus replicas - the heaviest replicas of its
//      replicated experts, each leaving at least one replica at home - move to the nodes with
//      free slots, the least loaded first;
//   4. each node deals its replicas to its ranks (deal.h) and refines them (refine_to_target());
//      where that misses the target or keeps a duplicate, longest first on distinct ranks and
//      refined instead;
//   5. where a node still misses the target (its replicas do not pack well on its ranks: few
//      slots per rank, heavy replicas), the same refinement over all ranks of the layer, so
//      that swaps may cross nodes;
//   6. replicas away from their group's node swap with lighter replicas there where that keeps
//      every rank at or under the hottest: fewer tokens served off home, the same balance.
// Steps 3-4 move only replicas of experts that keep a replica at home across nodes, unless a
// node has nothing else to give (then its lightest experts move whole); step 5 may move any.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "eplb/planner.h"
#include "planner/deal.h"
#include "planner/packing.h"
#include "planner/pair_swap.h"
#include "planner/replicate.h"

namespace eplb::planner {

// Share of the groups' tokens served outside the node that serves most of each group:
// sum over groups of (group tokens - tokens on its main node) / all tokens, for `phy2log`
// [num_slots] with `routing_weight` [num_slots] (each slot's share of its expert's tokens;
// empty: even routing). Nodes split the slots contiguously; groups split the experts
// contiguously. 0 without tokens.
double cross_node_share(std::span<const double> expert_loads, std::span<const int32_t> phy2log,
                        std::span<const double> routing_weight, int32_t num_nodes,
                        int32_t num_groups);

// Plans a relaxed placement (above) for one layer. Reuses its buffers; not thread-safe.
class RelaxedPlanner {
 public:
  // `expert_loads` [num_experts] -> `phy2log` [num_slots]; options checked, with num_nodes > 1
  // and num_groups % num_nodes == 0. `replica_counts` [num_experts] (each >= 1, summing to
  // num_slots) replaces step 2's water-filling when given. Returns the hottest rank's tokens
  // (even routing).
  double plan(std::span<const double> expert_loads, const PlanOptions& options,
              std::span<int32_t> phy2log, std::span<const int32_t> replica_counts = {});
  // The last plan()'s refinement target: its lower bound (the largest replica, the hottest
  // node's mean rank load) times 1 + balance_slack.
  double target() const { return target_; }

 private:
  // Step 6 on packing_ (the whole layer, loads set): each replica off its home node (home_) in
  // turn swaps with the replica of a rank of its home node that cuts the tokens served off
  // home most, where neither rank goes above `hottest` and no rank gets a duplicate.
  void bring_home(double hottest, int32_t slots_per_node);

  std::vector<ItemRun> runs_;
  std::vector<uint64_t> run_order_;
  std::vector<ItemRun> sorted_runs_;
  Packing packing_;
  LptScratch lpt_;
  DealScratch deal_;
  PairSwapScratch pair_swap_;
  std::vector<int32_t> home_;           // [num_experts] node of each expert's group
  std::vector<int32_t> replica_count_;  // [num_experts]
  std::vector<double> replica_weight_;  // [num_experts] tokens per replica, for steps 5 and 6
  std::vector<int32_t> extra_expert_;
  WaterFillScratch<double> water_fill_;
  std::vector<int32_t> node_slots_;  // [num_nodes]
  std::vector<double> node_load_;    // [num_nodes]
  std::vector<int32_t> away_;        // [num_experts x num_nodes] replicas of e on node n
  double target_ = 0;
};

}  // namespace eplb::planner
