// Properties of every policy over random deployments and loads (rapidcheck).
//
// A random world: 1-8 ranks x 1-5 slots, 1..num_slots experts, nodes dividing the ranks,
// groups dividing the experts (hierarchical or not), 1-3 layers of loads that are skewed,
// tied, sparse or all zero.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "eplb/balance.h"
#include "eplb/planner.h"
#include "planner/balanced.h"
#include "planner/topology.h"

namespace eplb {
namespace {

std::vector<int> divisors(int n) {
  std::vector<int> d;
  for (int i = 1; i <= n; ++i) {
    if (n % i == 0) d.push_back(i);
  }
  return d;
}

struct World {
  LoadMatrix loads;
  PlanOptions options;
};

World random_world() {
  World w;
  PlanOptions& o = w.options;
  o.num_ranks = *rc::gen::inRange(1, 9);
  o.num_slots = o.num_ranks * *rc::gen::inRange(1, 6);
  const int num_experts = *rc::gen::inRange(1, o.num_slots + 1);
  o.num_nodes = *rc::gen::elementOf(divisors(o.num_ranks));
  o.num_groups = *rc::gen::elementOf(divisors(num_experts));
  const int num_layers = *rc::gen::inRange(1, 4);
  w.loads = LoadMatrix::zeros(num_layers, num_experts);
  for (double& v : w.loads.values) {
    switch (*rc::gen::inRange(0, 6)) {
      case 0: v = 0; break;                              // sparse
      case 1: v = 7; break;                              // ties
      case 2: v = *rc::gen::inRange(0, 1000000); break;  // skewed: rare giants
      default: v = *rc::gen::inRange(0, 100); break;
    }
  }
  return w;
}

double max_over_mean(const LoadMatrix& loads, const Placement& p, int layer) {
  const LayerBalance b =
      layer_balance(rank_loads(loads.layer(layer), p.layer_phy2log(layer), {}, p.num_ranks));
  return b.has_data ? b.peak_to_avg : 0;
}

Placement plan_with(const World& w, Policy policy, const Placement* current = nullptr) {
  PlanOptions o = w.options;
  o.policy = policy;
  return plan(w.loads, o, current);
}

// Max/mean a re-plan of policy `balanced` from a current placement may stop at (tolerance 0):
// the fresh plan's, or what a fresh plan aims for (the lower bound within balance_slack) when
// that is higher.
double replan_goal(const World& w, const Placement& fresh, int layer) {
  PlanReport report;
  PlanOptions o = w.options;
  o.policy = Policy::kBalanced;
  plan(w.loads, o, nullptr, &report);
  const double aim =
      report.layers[static_cast<size_t>(layer)].lower_bound * (1 + w.options.balance_slack);
  return std::max(max_over_mean(w.loads, fresh, layer), aim);
}

RC_GTEST_PROP(PlanProperty, EveryPolicyGivesAValidPlacement, ()) {
  const World w = random_world();
  for (Policy policy : {Policy::kBalanced, Policy::kDeepSeek, Policy::kGreedy}) {
    const Placement p = plan_with(w, policy);
    RC_ASSERT(check_placement(p).empty());  // ids in range, every expert has a replica
    RC_ASSERT(p.num_slots == w.options.num_slots);
    RC_ASSERT(p.phy2log.size() == static_cast<size_t>(w.loads.num_layers * p.num_slots));
    for (int l = 0; l < p.num_layers; ++l) {
      const std::vector<int> count = p.replica_count(l);
      RC_ASSERT(std::all_of(count.begin(), count.end(), [](int c) { return c >= 1; }));
    }
  }
}

// Never less balanced than DeepSeek, but where DeepSeek lands within balance_slack of the lower
// bound (the quick global plan stops anywhere under that).
RC_GTEST_PROP(PlanProperty, BalancedIsNeverLessBalancedThanDeepSeekOrTheTarget, ()) {
  const World w = random_world();
  PlanReport report;
  PlanOptions o = w.options;
  o.policy = Policy::kBalanced;
  const Placement ours = plan(w.loads, o, nullptr, &report);
  const Placement theirs = plan_with(w, Policy::kDeepSeek);
  for (int l = 0; l < w.loads.num_layers; ++l) {
    const double target =
        report.layers[static_cast<size_t>(l)].lower_bound * (1 + w.options.balance_slack);
    RC_ASSERT(max_over_mean(w.loads, ours, l) <=
              std::max(max_over_mean(w.loads, theirs, l), target) * (1 + 1e-9));
  }
}

// With more than 10 slots per rank DeepSeek's packing is the start (it lands closer to the
// mean than the slack there), so no layer is hotter than DeepSeek's.
RC_GTEST_PROP(PlanProperty, BalancedWithManySlotsPerRankIsNeverHotterThanDeepSeek, ()) {
  World w;
  PlanOptions& o = w.options;
  o.num_ranks = *rc::gen::inRange(1, 9);
  const int slots_per_rank = *rc::gen::inRange(11, 41);
  o.num_slots = o.num_ranks * slots_per_rank;
  const int num_experts = *rc::gen::inRange(o.num_slots - o.num_slots / 4, o.num_slots + 1);
  w.loads = LoadMatrix::zeros(*rc::gen::inRange(1, 4), num_experts);
  for (double& v : w.loads.values) {
    v = *rc::gen::inRange(0, 8) == 0 ? *rc::gen::inRange(0, 1000000) : *rc::gen::inRange(0, 1000);
  }
  const Placement ours = plan_with(w, Policy::kBalanced);
  const Placement theirs = plan_with(w, Policy::kDeepSeek);
  for (int l = 0; l < w.loads.num_layers; ++l) {
    RC_ASSERT(max_over_mean(w.loads, ours, l) <= max_over_mean(w.loads, theirs, l) * (1 + 1e-9));
  }
}

RC_GTEST_PROP(PlanProperty, BalancedAvoidsSameRankDuplicates, ()) {
  const World w = random_world();
  const PlanOptions& o = w.options;
  const bool hierarchical = o.num_groups % o.num_nodes == 0;
  // An expert's replicas on a node can spread over its ranks (the layer is one node when
  // global; relaxed placements put some replicas on other nodes than their group's).
  const int num_nodes = hierarchical ? o.num_nodes : 1;
  const int ranks_per_node = o.num_ranks / num_nodes;
  const int slots_per_rank = o.num_slots / o.num_ranks;
  const int slots_per_node = o.num_slots / num_nodes;
  planner::BalancedPlanner planner;
  std::vector<int32_t> phy2log(static_cast<size_t>(o.num_slots));
  for (int l = 0; l < w.loads.num_layers; ++l) {
    if (!w.loads.has_data(l)) continue;
    planner.plan(w.loads.layer(l), o, phy2log);
    if (planner.duplicates_left() > 0) continue;  // kept where taking them apart heats a rank
    for (int node = 0; node < num_nodes; ++node) {
      std::vector<int> count(static_cast<size_t>(w.loads.num_experts), 0);
      std::vector<std::set<int>> ranks(static_cast<size_t>(w.loads.num_experts));
      for (int s = node * slots_per_node; s < (node + 1) * slots_per_node; ++s) {
        const auto e = static_cast<size_t>(phy2log[static_cast<size_t>(s)]);
        ++count[e];
        ranks[e].insert(s / slots_per_rank);
      }
      for (size_t e = 0; e < count.size(); ++e) {
        RC_ASSERT(static_cast<int>(ranks[e].size()) == std::min(count[e], ranks_per_node));
      }
    }
  }
}

// Global plans at the sizes the dealt start serves (3-64 ranks x 3-12 slots, up to a quarter of
// the slots redundant, skewed loads): valid, every replica of an expert with at most num_ranks
// of them on its own rank, within balance_slack of the bound or at DeepSeek's hottest rank.
RC_GTEST_PROP(PlanProperty, BalancedGlobalPlansAtScale, ()) {
  PlanOptions o;
  o.num_ranks = *rc::gen::inRange(3, 65);
  const int slots_per_rank = *rc::gen::inRange(3, 13);
  o.num_slots = o.num_ranks * slots_per_rank;
  const int num_experts = o.num_slots - *rc::gen::inRange(0, o.num_slots / 4 + 1);
  LoadMatrix loads = LoadMatrix::zeros(1, num_experts);
  const double skew = *rc::gen::inRange(0, 2000) / 1000.0;
  for (int e = 0; e < num_experts; ++e) {
    const int rank = *rc::gen::inRange(1, num_experts + 1);
    loads.layer(0)[static_cast<size_t>(e)] =
        *rc::gen::inRange(0, 8) == 0 ? 0.0 : std::round(1e6 / std::pow(rank, skew));
  }
  PlanReport report;
  o.policy = Policy::kBalanced;
  const Placement ours = plan(loads, o, nullptr, &report);
  RC_ASSERT(check_placement(ours).empty());
  if (!loads.has_data(0)) return;
  const std::vector<int> count = ours.replica_count(0);
  std::vector<std::set<int>> ranks(static_cast<size_t>(num_experts));
  const auto row = ours.layer_phy2log(0);
  for (size_t s = 0; s < row.size(); ++s) {
    ranks[static_cast<size_t>(row[s])].insert(static_cast<int>(s) / slots_per_rank);
  }
  if (report.layers[0].duplicates == 0) {
    for (size_t e = 0; e < ranks.size(); ++e) {
      RC_ASSERT(static_cast<int>(ranks[e].size()) == std::min(count[e], o.num_ranks));
    }
  }
  o.policy = Policy::kDeepSeek;
  const Placement theirs = plan(loads, o);
  const double target = report.layers[0].lower_bound * (1 + o.balance_slack);
  RC_ASSERT(max_over_mean(loads, ours, 0) <=
            std::max(max_over_mean(loads, theirs, 0), target) * (1 + 1e-9));
}

// A deployed placement: a plan of other loads (the same loads reversed per layer).
Placement deployed(const World& w, Policy policy) {
  World other = w;
  for (int l = 0; l < other.loads.num_layers; ++l) {
    auto row = other.loads.layer(l);
    std::reverse(row.begin(), row.end());
  }
  return plan_with(other, policy);
}

RC_GTEST_PROP(PlanProperty, CurrentNeverAddsMovesNorCostsBalance, ()) {
  const World w = random_world();
  for (Policy policy : {Policy::kBalanced, Policy::kDeepSeek, Policy::kGreedy}) {
    const Placement current = deployed(w, policy);
    const Placement fresh = plan_with(w, policy);
    const Placement kept = plan_with(w, policy, &current);
    RC_ASSERT(count_moved_slots(current, kept) <= count_moved_slots(current, fresh));
    for (int l = 0; l < w.loads.num_layers; ++l) {
      if (!w.loads.has_data(l)) continue;
      std::vector<double> a =
          rank_loads(w.loads.layer(l), fresh.layer_phy2log(l), {}, w.options.num_ranks);
      std::vector<double> b =
          rank_loads(w.loads.layer(l), kept.layer_phy2log(l), {}, w.options.num_ranks);
      if (policy == Policy::kBalanced) {
        // Another placement, as balanced as the fresh plan (or its aim).
        RC_ASSERT(max_over_mean(w.loads, kept, l) <= replan_goal(w, fresh, l) + 1e-9);
        continue;
      }
      for (size_t r = 0; r < a.size(); ++r) {  // the same ranks, slots reordered
        RC_ASSERT(std::abs(a[r] - b[r]) <= 1e-9 * std::max(1.0, a[r]));
      }
    }
    if (policy == Policy::kDeepSeek) RC_ASSERT(kept.phy2log == fresh.phy2log);
  }
}

// Tokens served off their group's main node (planner/topology.h), even routing.
double cross_node(const LoadMatrix& loads, const Placement& p, int layer, const PlanOptions& o) {
  return planner::cross_node_share(loads.layer(layer), p.layer_phy2log(layer), {}, o.num_nodes,
                                   o.num_groups);
}

// Hierarchical re-plans keep groups on their nodes: never more tokens off their group's main
// node than the current placement or a fresh plan serves there.
RC_GTEST_PROP(PlanProperty, HierarchicalReplansCrossNoMoreThanCurrentOrFresh, ()) {
  World w = random_world();
  // Made hierarchical: 2+ nodes, groups a multiple of the nodes, experts of whole groups.
  PlanOptions& o = w.options;
  o.num_ranks = 2 * *rc::gen::inRange(1, 5);
  o.num_slots = o.num_ranks * *rc::gen::inRange(1, 6);
  std::vector<int> nodes = divisors(o.num_ranks);
  nodes.erase(nodes.begin());  // 1
  o.num_nodes = *rc::gen::elementOf(nodes);
  o.num_groups = o.num_nodes * *rc::gen::inRange(1, 3);
  RC_PRE(o.num_groups <= o.num_slots);
  const int group_size = *rc::gen::inRange(1, o.num_slots / o.num_groups + 1);
  const int num_experts = o.num_groups * group_size;
  LoadMatrix loads = LoadMatrix::zeros(w.loads.num_layers, num_experts);
  for (double& v : loads.values) v = *rc::gen::inRange(0, 1000);
  w.loads = loads;
  w.options.topology = *rc::gen::element(Topology::kRelaxed, Topology::kStrict);
  w.options.move_tolerance = *rc::gen::element(0.0, 0.01);
  const Placement current = deployed(w, Policy::kBalanced);
  const Placement fresh = plan_with(w, Policy::kBalanced);
  const Placement kept = plan_with(w, Policy::kBalanced, &current);
  RC_ASSERT(check_placement(kept).empty());
  for (int l = 0; l < w.loads.num_layers; ++l) {
    const double limit = std::max(cross_node(w.loads, current, l, w.options),
                                  cross_node(w.loads, fresh, l, w.options));
    RC_ASSERT(cross_node(w.loads, kept, l, w.options) <= limit * (1 + 1e-9) + 1e-12);
  }
}

// Pairs of slots of one rank that hold the same expert in layer `layer` of `p`.
int same_rank_duplicates(const Placement& p, int layer) {
  const auto row = p.layer_phy2log(layer);
  const size_t slots_per_rank = row.size() / static_cast<size_t>(p.num_ranks);
  int n = 0;
  for (size_t s = 0; s < row.size(); ++s) {
    for (size_t t = s / slots_per_rank * slots_per_rank; t < s; ++t) n += row[t] == row[s];
  }
  return n;
}

// Global re-plans never put a replica beside a copy of itself: their swaps and hand-overs
// check the ranks, and the fallback is a fresh plan with its ranks relabelled.
RC_GTEST_PROP(PlanProperty, GlobalReplansAddNoSameRankDuplicates, ()) {
  World w = random_world();
  w.options.num_nodes = 1;
  w.options.num_groups = 1;
  w.options.move_tolerance = *rc::gen::element(0.0, 0.01);
  const Placement current = deployed(w, Policy::kBalanced);
  const Placement fresh = plan_with(w, Policy::kBalanced);
  const Placement kept = plan_with(w, Policy::kBalanced, &current);
  for (int l = 0; l < w.loads.num_layers; ++l) {
    RC_ASSERT(same_rank_duplicates(kept, l) <=
              std::max(same_rank_duplicates(current, l), same_rank_duplicates(fresh, l)));
  }
}

RC_GTEST_PROP(PlanProperty, MovesNeverExceedMaxMoves, ()) {
  World w = random_world();
  const Placement current = deployed(w, Policy::kBalanced);
  w.options.max_moves = *rc::gen::inRange(0, 8);
  w.options.move_tolerance = *rc::gen::element(0.0, 0.01, 0.1);
  const Placement kept = plan_with(w, Policy::kBalanced, &current);
  RC_ASSERT(check_placement(kept).empty());
  for (int l = 0; l < w.loads.num_layers; ++l) {
    int moved = 0;
    for (int s = 0; s < kept.num_slots; ++s) {
      moved += kept.layer_phy2log(l)[static_cast<size_t>(s)] !=
               current.layer_phy2log(l)[static_cast<size_t>(s)];
    }
    RC_ASSERT(moved <= w.options.max_moves);
  }
}

RC_GTEST_PROP(PlanProperty, ToleranceBoundsTheBalanceGivenUp, ()) {
  World w = random_world();
  const Placement current = deployed(w, Policy::kBalanced);
  w.options.move_tolerance = *rc::gen::element(0.0, 0.005, 0.05, 0.5);
  const Placement fresh = plan_with(w, Policy::kBalanced);
  const Placement kept = plan_with(w, Policy::kBalanced, &current);
  for (int l = 0; l < w.loads.num_layers; ++l) {
    if (!w.loads.has_data(l)) continue;
    RC_ASSERT(max_over_mean(w.loads, kept, l) <=
              replan_goal(w, fresh, l) + w.options.move_tolerance + 1e-9);
  }
}

RC_GTEST_PROP(PlanProperty, WeightedSharesAreNonNegativeSumToOneAndNeverHurt, ()) {
  World w = random_world();
  w.options.routing = Routing::kWeighted;
  for (Policy policy : {Policy::kBalanced, Policy::kDeepSeek, Policy::kGreedy}) {
    const Placement p = plan_with(w, policy);
    RC_ASSERT(p.routing_weight.size() == p.phy2log.size());
    RC_ASSERT(check_placement(p).empty());  // shares finite, >= 0, summing to 1 per expert
    for (int l = 0; l < p.num_layers; ++l) {
      std::vector<double> sum(static_cast<size_t>(p.num_experts), 0.0);
      for (int s = 0; s < p.num_slots; ++s) {
        const double share = p.layer_routing_weight(l)[static_cast<size_t>(s)];
        RC_ASSERT(share >= 0.0);
        sum[static_cast<size_t>(p.layer_phy2log(l)[static_cast<size_t>(s)])] += share;
      }
      for (double v : sum) RC_ASSERT(std::abs(v - 1.0) <= 1e-9);
      if (!w.loads.has_data(l)) continue;
      // The same placement with even shares is never better.
      const LayerBalance weighted = layer_balance(
          rank_loads(w.loads.layer(l), p.layer_phy2log(l), p.layer_routing_weight(l), p.num_ranks));
      RC_ASSERT(weighted.peak_to_avg <= max_over_mean(w.loads, p, l) * (1 + 1e-9));
    }
  }
}

// Weighted re-plans keep the current placement where re-solved shares reach the re-plan's goal,
// else take the even re-plan's placement: never more moved slots than that, and (shares
// honoured) never hotter than its goal or than that placement with even shares.
RC_GTEST_PROP(PlanProperty, WeightedReplansMoveNoMoreThanEvenOnes, ()) {
  World w = random_world();
  const Placement current = deployed(w, Policy::kBalanced);
  const Placement fresh = plan_with(w, Policy::kBalanced);
  const Placement even = plan_with(w, Policy::kBalanced, &current);
  w.options.routing = Routing::kWeighted;
  const Placement weighted = plan_with(w, Policy::kBalanced, &current);
  RC_ASSERT(check_placement(weighted).empty());
  RC_ASSERT(count_moved_slots(current, weighted) <= count_moved_slots(current, even));
  for (int l = 0; l < w.loads.num_layers; ++l) {
    if (!w.loads.has_data(l)) continue;
    const double hottest =
        layer_balance(rank_loads(w.loads.layer(l), weighted.layer_phy2log(l),
                                 weighted.layer_routing_weight(l), w.options.num_ranks))
            .peak_to_avg;
    RC_ASSERT(hottest <=
              std::max(replan_goal(w, fresh, l), max_over_mean(w.loads, even, l)) + 1e-9);
  }
}

RC_GTEST_PROP(PlanProperty, ZeroLoadLayersGetTheContiguousPlacement, ()) {
  World w = random_world();
  std::fill(w.loads.values.begin(), w.loads.values.end(), 0.0);
  for (Policy policy : {Policy::kBalanced, Policy::kDeepSeek, Policy::kGreedy}) {
    const Placement p = plan_with(w, policy);
    RC_ASSERT(p.phy2log == Placement::contiguous(w.loads.num_layers, w.loads.num_experts,
                                                 w.options.num_ranks, w.options.num_slots)
                               .phy2log);
  }
}

}  // namespace
}  // namespace eplb
