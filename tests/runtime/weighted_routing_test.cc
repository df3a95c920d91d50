// BalancerConfig::routing kWeighted: the online balancer plans each replica's share of its
// expert's tokens and routes by it. Toy world of runtime_world.h (3 layers, 8 experts, 12
// slots, C = 4, A = 2, U = 1; gather af(3), plan taken bf(5), next gather af(8)) on 4 ranks of
// 3 slots, with loads that even replicas cannot balance but shares can (every layer alike).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "eplb/planner.h"
#include "eplb/runtime/balancer.h"
#include "runtime/rank_mask.h"
#include "runtime/runtime_world.h"

namespace eplb {
namespace {

using testing::RankOutcome;
using testing::run_world;
using testing::toy_config;
using testing::WorldOptions;

constexpr int kRanks = 4;

// Tokens per step of each expert on every rank; the hot expert 7 has `hot`.
std::vector<int64_t> skewed_loads(int64_t hot = 100) { return {8, 40, 24, 16, 8, 4, 2, hot}; }

BalancerConfig weighted_config() {
  BalancerConfig c = toy_config(kRanks);
  c.routing = Routing::kWeighted;
  c.route_policy = RoutePolicy::kWeighted;
  return c;
}

void expect_same_on_every_rank(const std::vector<RankOutcome>& ranks) {
  for (size_t r = 0; r < ranks.size(); ++r) {
    EXPECT_EQ(ranks[r].error, "") << "rank " << r;
    EXPECT_EQ(ranks[r].weight_mismatches, 0) << "rank " << r;
    EXPECT_EQ(ranks[r].placement.phy2log, ranks[0].placement.phy2log) << "rank " << r;
    EXPECT_EQ(ranks[r].placement.routing_weight, ranks[0].placement.routing_weight) << "rank " << r;
  }
}

// Tokens of each expert per slot when `tokens` tokens of every expert go through route().
std::vector<int64_t> tokens_per_slot(const Balancer& b, int layer_idx, int tokens) {
  const int num_experts = b.config().num_experts;
  std::vector<int32_t> ids;
  for (int t = 0; t < tokens; ++t) {
    for (int e = 0; e < num_experts; ++e) ids.push_back(e);
  }
  std::vector<int32_t> slots(ids.size());
  b.route(layer_idx, ids, 1, slots, 7);
  std::vector<int64_t> count(static_cast<size_t>(b.config().num_slots()), 0);
  for (int32_t s : slots) {
    if (s >= 0) ++count[static_cast<size_t>(s)];
  }
  return count;
}

TEST(WeightedRouting, TheCommittedPlacementCarriesThePlannersShares) {
  const BalancerConfig config = weighted_config();
  WorldOptions options;
  options.num_steps = 9;  // one cycle: every layer committed at bf(8)
  options.loads = [](int, int64_t, int) { return skewed_loads(); };
  const auto ranks = run_world(config, options);
  expect_same_on_every_rank(ranks);
  const BalancerMetrics& m = ranks[0].metrics;
  EXPECT_EQ(m.cycles, 1);
  EXPECT_EQ(m.last_cycle.layers_committed, 3);

  // What the planner makes of the gathered loads (4 steps on each rank) from the default
  // deployment.
  const Placement start = initial_placement(config);
  const Placement& got = ranks[0].placement;
  ASSERT_EQ(got.routing_weight.size(), got.phy2log.size());
  EXPECT_TRUE(check_placement(got).empty());
  const auto slots = static_cast<size_t>(config.num_slots());
  for (int l = 0; l < config.num_layers; ++l) {
    std::vector<double> loads;
    for (int64_t v : skewed_loads()) loads.push_back(4.0 * kRanks * static_cast<double>(v));
    std::vector<int32_t> phy2log(slots);
    std::vector<double> shares(slots);
    plan_layer(loads, config.plan_options(), start.layer_phy2log(l), phy2log, shares, nullptr);
    const auto row = got.layer_phy2log(l);
    const auto weight = got.layer_routing_weight(l);
    EXPECT_EQ(std::vector<int32_t>(row.begin(), row.end()), phy2log) << "layer " << l;
    EXPECT_EQ(std::vector<double>(weight.begin(), weight.end()), shares) << "layer " << l;
    // Planned shares are not all even: the hot expert's replicas balance the ranks.
    EXPECT_NE(shares, even_routing_weight(phy2log, config.num_experts)) << "layer " << l;
  }
  // With shares every rank is at the mean; an even split leaves the hottest at 53 / 50.5.
  EXPECT_NEAR(m.last_cycle.imbalance_after_mean, 1.0, 1e-9);
}

TEST(WeightedRouting, RouteSendsEachReplicaItsShare) {
  const BalancerConfig config = weighted_config();
  WorldOptions options;
  options.num_steps = 9;
  options.loads = [](int, int64_t, int) { return skewed_loads(); };
  constexpr int kTokens = 20000;
  std::vector<std::vector<int64_t>> routed(3);
  std::vector<Placement> seen(3);
  options.serve = [&](int rank, int64_t step, Balancer& b) {
    if (rank != 0 || step != 8) return;
    for (int l = 0; l < 3; ++l) {
      routed[static_cast<size_t>(l)] = tokens_per_slot(b, l, kTokens);
      seen[static_cast<size_t>(l)] = b.placement();
    }
  };
  const auto ranks = run_world(config, options);
  expect_same_on_every_rank(ranks);
  for (int l = 0; l < 3; ++l) {
    const Placement& p = seen[static_cast<size_t>(l)];
    const auto weight = p.layer_routing_weight(l);
    ASSERT_FALSE(weight.empty());
    for (size_t s = 0; s < weight.size(); ++s) {
      const double fraction = static_cast<double>(routed[static_cast<size_t>(l)][s]) / kTokens;
      EXPECT_NEAR(fraction, weight[s], 0.02) << "layer " << l << " slot " << s;
    }
  }
}

// Cycle 1 plans the skewed loads; from step 4 the hot expert cools from 100 to 80 tokens. The
// second plan keeps every replica where it is and changes only the shares: the layers switch
// with no weight moved.
TEST(WeightedRouting, ASharesOnlyRePlanMovesNoWeights) {
  const BalancerConfig config = weighted_config();
  WorldOptions options;
  options.num_steps = 14;  // cycle 2: gather af(8), taken bf(10), committed by bf(13)
  options.loads = [](int, int64_t step, int) { return skewed_loads(step >= 4 ? 80 : 100); };
  std::vector<Placement> after_first(1);
  options.between = [&](int rank, int64_t step, Balancer& b) {
    if (rank == 0 && step == 8) after_first[0] = b.placement();
  };
  const auto ranks = run_world(config, options);
  expect_same_on_every_rank(ranks);
  const BalancerMetrics& m = ranks[0].metrics;
  EXPECT_EQ(m.cycles, 2);
  EXPECT_EQ(m.rebalances, 2);
  EXPECT_EQ(m.last_cycle.layers_changed, 3);
  EXPECT_EQ(m.last_cycle.layers_committed, 3);
  EXPECT_EQ(m.last_cycle.moved_experts, 0);
  EXPECT_EQ(m.last_cycle.bytes_moved, 0);
  const Placement& first = after_first[0];
  const Placement& last = ranks[0].placement;
  EXPECT_EQ(last.phy2log, first.phy2log);
  EXPECT_NE(last.routing_weight, first.routing_weight);
  EXPECT_NEAR(m.last_cycle.imbalance_after_mean, 1.0, 1e-9);
  EXPECT_GT(m.last_cycle.imbalance_before_mean, 1.0 + 1e-3);
}

// Rank 3 masked from the start (its experts 1, 2, 3 have replicas elsewhere): routing leaves it
// out, and the plans over ranks 0-2 give its slots share 0.
TEST(WeightedRouting, AMaskedRankGetsNoTokensAndNoPlannedShare) {
  const BalancerConfig config = weighted_config();
  WorldOptions options;
  options.num_steps = 16;
  options.loads = [](int, int64_t, int) { return skewed_loads(); };
  options.between = [](int, int64_t step, Balancer& b) {
    if (step == 0) b.mask_ranks({3});
  };
  const int spr = config.resolved_slots_per_rank();
  std::vector<int64_t> to_masked(kRanks, 0), dropped(kRanks, 0), routed(kRanks, 0);
  options.serve = [&](int rank, int64_t step, Balancer& b) {
    if (step == 0) return;
    for (int l = 0; l < config.num_layers; ++l) {
      const std::vector<int64_t> per_slot = tokens_per_slot(b, l, 200);
      for (int64_t n : per_slot) routed[static_cast<size_t>(rank)] += n;
      for (int s = 3 * spr; s < 4 * spr; ++s) {
        to_masked[static_cast<size_t>(rank)] += per_slot[static_cast<size_t>(s)];
      }
    }
    dropped[static_cast<size_t>(rank)] = b.metrics().dropped_tokens;
  };
  const auto ranks = run_world(config, options);
  expect_same_on_every_rank(ranks);
  for (int r = 0; r < kRanks; ++r) {
    EXPECT_EQ(to_masked[static_cast<size_t>(r)], 0) << "rank " << r;
    EXPECT_EQ(dropped[static_cast<size_t>(r)], 0) << "rank " << r;
    // Every token of every expert found a live slot.
    EXPECT_EQ(routed[static_cast<size_t>(r)], 15 * 3 * 200 * config.num_experts) << "rank " << r;
  }
  const BalancerMetrics& m = ranks[0].metrics;
  EXPECT_GE(m.rebalances, 1);
  const Placement& p = ranks[0].placement;
  EXPECT_TRUE(check_placement(p).empty());
  for (int l = 0; l < config.num_layers; ++l) {
    for (int s = 3 * spr; s < 4 * spr; ++s) {
      EXPECT_EQ(p.layer_routing_weight(l)[static_cast<size_t>(s)], 0.0) << "layer " << l;
    }
  }
}

// A custom planner (BalancerCallbacks::plan_layer) returns a placement only: its layers get an
// even split.
TEST(WeightedRouting, ACustomPlannersLayersSplitEvenly) {
  const BalancerConfig config = weighted_config();
  WorldOptions options;
  options.num_steps = 9;
  options.loads = [](int, int64_t, int) { return skewed_loads(); };
  options.plan_fn = [&config](int) -> LayerPlanFn {
    return [&config](const LayerPlanInput& in, std::span<int32_t> out) {
      PlanOptions o = config.plan_options();
      o.routing = Routing::kEven;
      plan_layer(in.expert_loads, o, in.current_phy2log, out);
    };
  };
  const auto ranks = run_world(config, options);
  expect_same_on_every_rank(ranks);
  EXPECT_EQ(ranks[0].metrics.last_cycle.layers_committed, 3);
  const Placement& p = ranks[0].placement;
  for (int l = 0; l < config.num_layers; ++l) {
    const auto weight = p.layer_routing_weight(l);
    EXPECT_EQ(std::vector<double>(weight.begin(), weight.end()),
              even_routing_weight(p.layer_phy2log(l), config.num_experts))
        << "layer " << l;
  }
}

TEST(LiveShares, PlannedSharesAreRenormalisedOverTheLiveSlots) {
  // 2 ranks x 3 slots: expert 0 on slots 0, 3 (planned 0.25 / 0.75), expert 1 on 1, 4
  // (planned 1 / 0), expert 2 on slot 2, expert 3 on slot 5.
  const std::vector<int32_t> row = {0, 1, 2, 0, 1, 3};
  const std::vector<double> planned = {0.25, 1.0, 1.0, 0.75, 0.0, 1.0};
  const std::vector<char> none = {0, 0};
  EXPECT_EQ(runtime::live_shares(row, none, 3, 4, planned), planned);
  // Rank 0 masked: expert 0 keeps only slot 3 (share 1); expert 1's live slot 4 was planned 0,
  // so it splits evenly over its live slots rather than go unserved; expert 2 is lost.
  const std::vector<char> rank0 = {1, 0};
  const std::vector<double> want = {0.0, 0.0, 0.0, 1.0, 1.0, 1.0};
  EXPECT_EQ(runtime::live_shares(row, rank0, 3, 4, planned), want);
  // Without planned shares and without a mask: empty (an even split).
  EXPECT_TRUE(runtime::live_shares(row, none, 3, 4).empty());
}

}  // namespace
}  // namespace eplb
