// Policy `balanced` from a deployed placement: minimal movement.
//
// A fresh plan changes almost every slot (DeepSeek's: ~99.5%), so every expert's weights move.
// Starting from the current placement instead, we move only what buys balance:
//   1. goal: what a fresh `balanced` plan aims for (the lower bound within
//      PlanOptions::balance_slack), plus PlanOptions::move_tolerance mean rank loads; only if
//      the search cannot reach it, a fresh plan is made and its hottest rank (plus the
//      tolerance) becomes the goal. A layer already within the goal costs no fresh plan;
//   2. replicas change expert where replica counts must: while some replica alone is above the
//      goal, the most loaded expert per replica takes a slot from the expert that loses least
//      by giving one up (one moved slot each);
//   3. while the hottest rank is above the goal, the swap of two replicas (or, when no swap
//      lowers it, a slot handed to an expert of the hottest rank) that reaches the goal with
//      the fewest moved slots, else lowers the hottest rank most; a slot moved back to its
//      current expert counts as a move undone;
//   4. never more than PlanOptions::max_moves moved slots (-1: no limit). A goal the search
//      cannot reach falls back to the fresh plan with its ranks relabelled to keep the most
//      replicas in place (a maximum-weight matching of ranks), when that fits the budget; that
//      plan is also taken when the search moved more than a quarter of the slots and it
//      moves fewer.
// With nodes and groups (hierarchical), a layer already within the aim plus the tolerance stays as
// it is; else a fresh plan (strict or relaxed, as PlanOptions::topology makes it) is made: the goal
// is the higher of its hottest rank and the aim above, plus the tolerance, and the search keeps
// groups on their nodes: a swap or hand-over may not raise the tokens served off their group's home
// node (the node serving most of the group in `current`) above what the current placement or the
// fresh plan serves off their groups' main nodes, whichever is more. Where that search fails or
// moves more than a quarter of the slots, more searches follow, each kept if it reaches the goal
// with fewer moves: first (unless max_moves ran out) the same search with whole nodes as bins
// (towards the mean node load, within the off-home budget), then the ranks from there; where that
// too fails or moves much (the groups have to change nodes), one from the current placement with
// each node's replicas made the fresh plan's (nodes matched; replicas already on their node keep
// their slots). The fallback is the same as above, with the fresh plan's nodes matched to the
// current ones first (its node labels are arbitrary), then the ranks within each pair of nodes.
// Moves are counted per slot (phy2log[s] != current[s]).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "eplb/planner.h"
#include "planner/assignment.h"
#include "planner/balanced.h"
#include "planner/replicate.h"

namespace eplb::planner {

// Reuses its buffers between calls; not thread-safe.
class IncrementalPlanner {
 public:
  // What plan() first aims for on the hottest rank, in tokens.
  struct Goal {
    double mean = 0;   // the mean rank load
    double aim = 0;    // what a fresh plan aims for: the lower bound within balance_slack
    double first = 0;  // aim plus move_tolerance mean rank loads: a placement within it keeps
                       // every slot
  };
  // The Goal for these loads and `current` [num_slots] (a water-filling where the current
  // replica counts are not optimal).
  Goal first_goal(std::span<const double> expert_loads, const PlanOptions& options,
                  std::span<const int32_t> current);

  // `expert_loads` [num_experts], `current` [num_slots] -> `phy2log` [num_slots]; options
  // already checked.
  void plan(std::span<const double> expert_loads, const PlanOptions& options,
            std::span<const int32_t> current, std::span<int32_t> phy2log) {
    plan(expert_loads, options, current, phy2log, first_goal(expert_loads, options, current));
  }
  // The same, with `first` from first_goal() of the same arguments.
  void plan(std::span<const double> expert_loads, const PlanOptions& options,
            std::span<const int32_t> current, std::span<int32_t> phy2log, const Goal& first);

 private:
  // The largest load per replica after water-filling `expert_loads` over current.size() slots:
  // from the current placement's counts when they are optimal, else by water-filling.
  double largest_replica_bound(std::span<const double> expert_loads,
                               std::span<const int32_t> current);
  // The fresh plan in fresh_ with its nodes, then the ranks of each node, relabelled to keep
  // the most of `current` in place -> `out` [num_slots]. Returns the moved slots; when no
  // relabelling can move `limit` or fewer (each current rank keeping at most its best overlap),
  // returns a count above `limit` and leaves `out` alone (the O(ranks^3) matching skipped).
  int64_t match_fresh(std::span<const int32_t> current, int32_t num_ranks, int32_t num_nodes,
                      std::span<int32_t> out, int64_t limit);
  // Searches from `current` (steps 2-3) in q_; returns whether the goal was reached. With
  // nodes_.slots_per_node > 0, within nodes_.budget tokens off home
  // (raised first to what `current` serves off home).
  bool search(std::span<const double> expert_loads, std::span<const int32_t> current,
              int32_t num_ranks, double goal, int64_t budget);
  // search() from q_ = current_, recounted; with `limit_off_home`, within nodes_.budget.
  template <bool limit_off_home>
  bool search_from(std::span<const double> expert_loads, int32_t num_ranks, double goal,
                   int64_t budget, double replica_goal);
  // search() from `start` instead of `current` (moves still counted against `current`);
  // false at once when `start` alone moves more than `budget` slots. `num_ranks` may be the
  // number of nodes (bins of whole nodes; duplicates are still checked per rank); hand-overs
  // start while a replica is above `replica_goal`.
  bool search(std::span<const double> expert_loads, std::span<const int32_t> start,
              std::span<const int32_t> current, int32_t num_ranks, double goal, int64_t budget,
              double replica_goal);
  // node_of_: the fresh plan's nodes matched to the current ones, keeping the most replicas on
  // their node (a maximum-weight matching).
  void match_nodes(std::span<const int32_t> current, int32_t num_nodes);
  // start_ [num_slots]: `current` with each node's replicas made those of the matched fresh
  // node: replicas already there keep their slots, the others go heaviest first to the least
  // loaded rank with a free slot (one without that expert where possible).
  void regroup(std::span<const double> expert_loads, std::span<const int32_t> current,
               int32_t num_ranks, int32_t num_nodes);
  // The hierarchical re-plan: the fresh plan sets the goal and the off-home budget.
  void plan_hierarchical(std::span<const double> expert_loads, const PlanOptions& options,
                         std::span<const int32_t> current, std::span<int32_t> phy2log,
                         const Goal& first, int64_t budget);
  // Replica counts, weights, rank loads and sorted_ of q_ from scratch.
  void recount(std::span<const double> expert_loads, int32_t num_ranks);
  // Rank r's load, moved_on_ and sorted_ range after its slots changed.
  void refresh_rank(size_t r);

  // Hierarchical re-plans: tokens served off their group's home node.
  struct NodeLimit {
    size_t slots_per_node = 0;         // 0: a global re-plan, no limit
    size_t slots_per_rank = 0;         // of the deployment, while the search's bins are nodes
    int32_t group_size = 0;            // experts per group
    std::vector<int32_t> expert_home;  // [num_experts] the node serving most of the expert's
                                       // group in current
    std::vector<int32_t> slot_node;    // [num_slots] the node of each slot
    double budget = 0;                 // tokens q_ may serve off their home node
    double off_home = 0;               // tokens q_ serves off their home node
  };
  // nodes_.expert_home and slot_node from `current`: each group's home is the node serving
  // most of its tokens (even split over replicas; the lowest node among equals).
  void set_homes(std::span<const double> expert_loads, std::span<const int32_t> current,
                 int32_t num_nodes);
  // Tokens q_ serves off their group's home node (nodes_.expert_home), from weight_.
  double off_home_tokens() const;
  // Whether slot `slot` is off the home node of expert `e`'s group.
  bool off_home(size_t slot, int32_t e) const {
    return nodes_.expert_home[static_cast<size_t>(e)] != nodes_.slot_node[slot];
  }

  BalancedPlanner fresh_;
  NodeLimit nodes_;
  std::vector<double> group_node_;    // [num_groups, num_nodes] scratch of set_homes()
  std::vector<int32_t> bound_count_;  // [num_experts] water-filling replica counts
  std::vector<int32_t> bound_extra_;  // [num_slots - num_experts] scratch of water_fill
  WaterFillScratch<double> bound_scratch_;
  std::vector<int32_t> fresh_phy2log_;  // [num_slots]
  std::vector<int32_t> matched_;        // [num_slots]
  std::vector<int32_t> q_;              // [num_slots] the search's placement
  std::vector<int32_t> before_;         // [num_slots] q_ before a tentative hand-over
  std::vector<int32_t> donors_;         // experts that may give a slot up, scratch
  std::vector<int32_t> start_;          // [num_slots] regroup()'s start
  std::vector<int32_t> first_;          // [num_slots] the first search's placement
  std::vector<int32_t> fresh_count_;    // [num_experts] the fresh plan's replica counts
  std::vector<int32_t> pending_;        // replicas regroup() places
  std::vector<int32_t> count_;          // [num_experts]
  std::vector<double> load_;            // [num_ranks]
  std::vector<double> weight_;          // [num_slots] tokens of each replica of q_
  std::vector<int32_t> sorted_;         // [num_slots] each rank's slots, weight descending
  std::vector<int32_t> by_load_;        // [num_ranks] ranks by load ascending
  std::span<const int32_t> current_;    // the search's current placement (caller's)
  std::vector<int32_t> moved_on_;       // [num_ranks] slots of q_ that differ from current_
  std::vector<size_t> h_moved_;         // slots of the hottest rank that differ from current
  int64_t moves_ = 0;                   // slots of q_ that differ from current
  std::vector<int32_t> overlap_;        // [num_nodes, num_nodes], then [ranks_per_node]^2
  std::vector<int32_t> node_of_;        // [num_nodes] current node of each fresh node
  std::vector<int32_t> column_;         // [ranks_per_node]
  std::vector<int32_t> tally_;          // [num_experts] scratch, zero between uses
  std::vector<int32_t> row_;
  AssignmentScratch assignment_;
};

}  // namespace eplb::planner
