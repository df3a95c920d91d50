// The simulator against direct computations.
//
// Toy trace A (hand-checkable): 4 steps, 2 layers, 4 experts on 2 ranks with 4 slots.
// Layer 0 loads {30, 10, 10, 10} every step; layer 1 {10, 10, 10, 10} on steps 0-1 and
// {0, 0, 20, 60} on steps 2-3. Contiguous (slot e holds expert e, ranks {0,1 | 2,3}):
// layer 0 ranks {40, 20} -> peak/avg 40/30; layer 1 {20, 20} -> 1, then {0, 80} -> 2.
// Step peak/avg = mean over the 2 layers: 7/6, 7/6, 5/3, 5/3.
//
// Toy trace B (online): the runtime tests' toy world as a trace: 3 layers, 8 experts, 12
// slots on 2 ranks, expert 7 - l of layer l gets 200 tokens per step and every other expert 2.
#include "eplb/sim/simulator.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "eplb/balance.h"
#include "eplb/error.h"
#include "eplb/planner.h"

namespace eplb::sim {
namespace {

LoadTrace make_trace(int steps, int layers, int experts) {
  LoadTrace t;
  t.num_steps = steps;
  t.num_layers = layers;
  t.num_experts = experts;
  t.values.assign(static_cast<size_t>(steps) * layers * experts, 0);
  return t;
}

void set_row(LoadTrace& t, int step, int layer, std::vector<double> row) {
  std::copy(
      row.begin(), row.end(),
      t.values.begin() + (static_cast<ptrdiff_t>(step) * t.num_layers + layer) * t.num_experts);
}

LoadTrace trace_a() {
  LoadTrace t = make_trace(4, 2, 4);
  for (int s = 0; s < 4; ++s) {
    set_row(t, s, 0, {30, 10, 10, 10});
    set_row(t, s, 1,
            s < 2 ? std::vector<double>{10, 10, 10, 10} : std::vector<double>{0, 0, 20, 60});
  }
  return t;
}

SimOptions options_a() {
  SimOptions o;
  o.num_ranks = 2;
  o.num_slots = 4;
  o.window_steps = 2;
  o.cost.fixed_us = 1;
  o.cost.token_us = 0.5;
  return o;
}

TEST(Simulator, NoneMatchesTheHandComputation) {
  const SimResult r = simulate(trace_a(), SimPolicy::kNone, options_a());
  ASSERT_EQ(r.step_peak_to_avg.size(), 4u);
  EXPECT_NEAR(r.step_peak_to_avg[0], 7.0 / 6, 1e-12);
  EXPECT_NEAR(r.step_peak_to_avg[3], 5.0 / 3, 1e-12);
  EXPECT_NEAR(r.mean_peak_to_avg, (7.0 / 6 + 5.0 / 3) / 2, 1e-12);
  EXPECT_NEAR(r.worst_peak_to_avg, 5.0 / 3, 1e-12);
  EXPECT_EQ(r.replans, 0);
  EXPECT_EQ(r.moved_experts, 0);
  // Compute: steps 0-1: (1 + 0.5 * 40) + (1 + 0.5 * 20) = 32; steps 2-3: 21 + 41 = 62.
  EXPECT_DOUBLE_EQ(r.compute_us_mean, (32 + 32 + 62 + 62) / 4.0);
  EXPECT_DOUBLE_EQ(r.stall_us_mean, 0);
}

// Static and oracle equal plan() + rank_loads() computed here, step by step.
TEST(Simulator, StaticAndOracleMatchADirectComputation) {
  const LoadTrace t = trace_a();
  const SimOptions o = options_a();
  PlanOptions p;
  p.num_ranks = 2;
  p.num_slots = 4;
  const Placement initial = Placement::contiguous(2, 4, 2, 4);
  auto step_score = [&](const Placement& placement, int s) {
    double sum = 0;
    for (int l = 0; l < 2; ++l) {
      sum += layer_balance(rank_loads(t.at(s, l), placement.layer_phy2log(l), {}, 2)).peak_to_avg;
    }
    return sum / 2;
  };
  const Placement fixed_plan = plan(t.window_sum(0, 2), p, &initial);
  const SimResult st = simulate(t, SimPolicy::kStatic, o);
  EXPECT_EQ(st.replans, 1);
  for (int s = 0; s < 4; ++s)
    EXPECT_DOUBLE_EQ(st.step_peak_to_avg[static_cast<size_t>(s)], step_score(fixed_plan, s));

  const Placement first = plan(t.window_sum(0, 2), p, &initial);
  const Placement second = plan(t.window_sum(2, 4), p, &first);
  const SimResult orc = simulate(t, SimPolicy::kOracle, o);
  EXPECT_EQ(orc.replans, 2);
  for (int s = 0; s < 4; ++s) {
    EXPECT_DOUBLE_EQ(orc.step_peak_to_avg[static_cast<size_t>(s)],
                     step_score(s < 2 ? first : second, s));
  }
  int64_t moved = 0;
  for (int l = 0; l < 2; ++l) {
    for (int s = 0; s < 4; ++s) {
      moved += initial.layer_phy2log(l)[static_cast<size_t>(s)] !=
               first.layer_phy2log(l)[static_cast<size_t>(s)];
      moved += first.layer_phy2log(l)[static_cast<size_t>(s)] !=
               second.layer_phy2log(l)[static_cast<size_t>(s)];
    }
  }
  EXPECT_EQ(orc.moved_experts, moved);
  EXPECT_DOUBLE_EQ(orc.moved_bytes, static_cast<double>(moved) * o.cost.expert_bytes);
  // The oracle is never worse than no balancing on its own windows.
  const SimResult none = simulate(t, SimPolicy::kNone, o);
  EXPECT_LE(orc.mean_peak_to_avg, none.mean_peak_to_avg + 1e-12);
  EXPECT_LT(orc.mean_peak_to_avg, none.mean_peak_to_avg);
}

LoadTrace trace_b(int steps) {
  LoadTrace t = make_trace(steps, 3, 8);
  for (int s = 0; s < steps; ++s) {
    for (int l = 0; l < 3; ++l) {
      std::vector<double> row(8, 2);
      row[static_cast<size_t>(7 - l)] = 200;
      set_row(t, s, l, row);
    }
  }
  return t;
}

// C = 4, A = 2, U = 1 (the runtime tests' timeline): gather af(3), plan taken bf(5), layers
// committed at bf(6), bf(7), bf(8). From step 8 on every layer is balanced.
TEST(Simulator, OnlineRebalancesThroughTheRuntime) {
  const LoadTrace t = trace_b(16);
  SimOptions o;
  o.num_ranks = 2;
  o.num_slots = 12;
  o.window_steps = 4;
  o.cost.expert_bytes = 1e9;  // 1 GB experts at 50 GB/s: 20 ms per slot, a visible stall
  OnlineKnobs k;
  k.expert_heat_collection_interval = 4;
  k.algorithm_execution_interval = 2;
  k.layer_updates_per_iter = 1;
  const SimResult online = simulate(t, SimPolicy::kOnline, o, k);
  const SimResult none = simulate(t, SimPolicy::kNone, o);
  EXPECT_GE(online.replans, 1);
  EXPECT_GT(online.moved_experts, 0);
  EXPECT_DOUBLE_EQ(online.step_peak_to_avg[0], none.step_peak_to_avg[0]);
  EXPECT_LT(online.step_peak_to_avg[15], online.step_peak_to_avg[0] - 0.2);
  EXPECT_LT(online.mean_peak_to_avg, none.mean_peak_to_avg);
  // Online's steady state equals what the planner gives on these (constant) loads.
  PlanOptions p;
  p.num_ranks = 2;
  p.num_slots = 12;
  const Placement initial = Placement::contiguous(3, 8, 2, 12);
  const Placement best = plan(t.window_sum(0, 4), p, &initial);
  double best_score = 0;
  for (int l = 0; l < 3; ++l) {
    best_score += layer_balance(rank_loads(t.at(15, l), best.layer_phy2log(l), {}, 2)).peak_to_avg;
  }
  EXPECT_NEAR(online.step_peak_to_avg[15], best_score / 3, 1e-9);
  // Moves happen during serving: with 1 GB experts they stall.
  EXPECT_GT(online.stall_us_max, 0);
  EXPECT_GT(online.step_us_mean, online.compute_us_mean);
}

// 4 ranks x 3 slots, every step the same loads that even replicas cannot balance but shares
// can (the runtime's weighted-routing test loads): with --routing weighted every policy that
// plans scores its steps by the planned shares, online too (the balancer routes by them).
TEST(Simulator, WeightedRoutingScoresThePlannedShares) {
  LoadTrace t = make_trace(16, 1, 8);
  for (int s = 0; s < 16; ++s) set_row(t, s, 0, {8, 40, 24, 16, 8, 4, 2, 100});
  SimOptions o;
  o.num_ranks = 4;
  o.num_slots = 12;
  o.window_steps = 4;
  OnlineKnobs k;
  k.expert_heat_collection_interval = 4;
  k.algorithm_execution_interval = 2;
  k.layer_updates_per_iter = 1;
  SimOptions w = o;
  w.routing = Routing::kWeighted;
  for (const SimPolicy policy : {SimPolicy::kStatic, SimPolicy::kOracle, SimPolicy::kOnline}) {
    SCOPED_TRACE(sim_policy_name(policy));
    const SimResult even = simulate(t, policy, o, k);
    const SimResult weighted = simulate(t, policy, w, k);
    EXPECT_FALSE(even.final_placement.has_routing_weight());
    ASSERT_TRUE(weighted.final_placement.has_routing_weight());
    EXPECT_TRUE(check_placement(weighted.final_placement).empty());
    // The last step: even 53 / 50.5 on the hottest rank, every rank at the mean with shares.
    EXPECT_NEAR(even.step_peak_to_avg[15], 53.0 / 50.5, 1e-9);
    EXPECT_NEAR(weighted.step_peak_to_avg[15], 1.0, 1e-9);
  }
}

// What the plots read: one Replan per deployed placement (online: per cycle, at its first
// commit), their moves summing to moved_experts, and the placement in force at the end.
TEST(Simulator, RecordsMovesPerReplanAndTheFinalPlacement) {
  const LoadTrace a = trace_a();
  const SimOptions o = options_a();
  PlanOptions p;
  p.num_ranks = 2;
  p.num_slots = 4;
  const Placement initial = Placement::contiguous(2, 4, 2, 4);
  const Placement first = plan(a.window_sum(0, 2), p, &initial);
  const Placement second = plan(a.window_sum(2, 4), p, &first);
  const SimResult orc = simulate(a, SimPolicy::kOracle, o);
  ASSERT_EQ(orc.replan_moves.size(), 2u);
  EXPECT_EQ(orc.replan_moves[0].step, 0);
  EXPECT_EQ(orc.replan_moves[1].step, 2);
  EXPECT_EQ(orc.replan_moves[0].moved_experts, count_moved_slots(initial, first));
  EXPECT_EQ(orc.replan_moves[1].moved_experts, count_moved_slots(first, second));
  EXPECT_EQ(orc.final_placement.phy2log, second.phy2log);
  const SimResult none = simulate(a, SimPolicy::kNone, o);
  EXPECT_TRUE(none.replan_moves.empty());
  EXPECT_EQ(none.final_placement.phy2log, initial.phy2log);

  // Trace B, C = 4, A = 2, U = 1: the first cycle commits layers at bf(6), bf(7), bf(8).
  const LoadTrace b = trace_b(16);
  SimOptions ob;
  ob.num_ranks = 2;
  ob.num_slots = 12;
  const SimResult online = simulate(b, SimPolicy::kOnline, ob, {4, 2, 1});
  ASSERT_FALSE(online.replan_moves.empty());
  EXPECT_EQ(online.replan_moves[0].step, 6);
  int64_t sum = 0;
  for (size_t i = 0; i < online.replan_moves.size(); ++i) {
    sum += online.replan_moves[i].moved_experts;
    if (i > 0) {
      EXPECT_GT(online.replan_moves[i].step, online.replan_moves[i - 1].step);
    }
  }
  EXPECT_EQ(sum, online.moved_experts);
  EXPECT_EQ(static_cast<int64_t>(online.replan_moves.size()), online.replans);
  double last = 0;
  for (int l = 0; l < 3; ++l) {
    last += layer_balance(rank_loads(b.at(15, l), online.final_placement.layer_phy2log(l), {}, 2))
                .peak_to_avg;
  }
  EXPECT_NEAR(online.step_peak_to_avg[15], last / 3, 1e-12);
}

TEST(Simulator, RejectsSlotsNotDivisibleByRanks) {
  SimOptions o = options_a();
  o.num_slots = 5;
  EXPECT_THROW(simulate(trace_a(), SimPolicy::kStatic, o), Error);
  EXPECT_THROW(simulate(trace_a(), SimPolicy::kOnline, o), Error);
}

TEST(Simulator, ParsesPolicyNames) {
  EXPECT_EQ(parse_sim_policy("oracle"), SimPolicy::kOracle);
  EXPECT_STREQ(sim_policy_name(SimPolicy::kOnline), "online");
  EXPECT_THROW(parse_sim_policy("dynamic"), Error);
}

}  // namespace
}  // namespace eplb::sim
