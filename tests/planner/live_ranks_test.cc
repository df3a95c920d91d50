// Planning over live ranks (PlanOptions::excluded_ranks, planner/live_ranks.h).
//
// Toy world: 4 ranks x 3 slots (12 slots), 8 experts, loads 80 70 60 50 40 30 20 10;
// rank r holds slots 3r..3r+2.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "eplb/planner.h"
#include "eplb/replica_table.h"
#include "eplb/token_router.h"
#include "support/test_support.h"

namespace eplb {
namespace {

using testing::error_of;

LoadMatrix toy_loads() {
  LoadMatrix loads = LoadMatrix::zeros(1, 8);
  for (int e = 0; e < 8; ++e) loads.values[static_cast<size_t>(e)] = 80 - 10 * e;
  return loads;
}

PlanOptions toy_options(std::vector<int> excluded) {
  PlanOptions o;
  o.num_ranks = 4;
  o.num_slots = 12;
  o.excluded_ranks = std::move(excluded);
  return o;
}

// Share of each expert's tokens over its slots, [num_experts].
std::vector<double> share_sums(const Placement& p, int layer) {
  std::vector<double> sum(static_cast<size_t>(p.num_experts), 0.0);
  auto row = p.layer_phy2log(layer);
  auto weight = p.layer_routing_weight(layer);
  for (size_t s = 0; s < row.size(); ++s) sum[static_cast<size_t>(row[s])] += weight[s];
  return sum;
}

TEST(LiveRanks, ExcludedRankGetsZeroSharesAndEveryExpertStaysServed) {
  const Placement current = Placement::contiguous(1, 8, 4, 12);
  PlanReport report;
  const Placement p = plan(toy_loads(), toy_options({1}), &current, &report);
  ASSERT_TRUE(check_placement(p).empty());
  ASSERT_TRUE(p.has_routing_weight());  // even routing, but the excluded slots need share 0
  for (int s = 3; s < 6; ++s) {
    EXPECT_EQ(p.routing_weight[static_cast<size_t>(s)], 0.0) << "slot " << s;
    EXPECT_EQ(p.phy2log[static_cast<size_t>(s)], current.phy2log[static_cast<size_t>(s)]);
  }
  for (double sum : share_sums(p, 0)) EXPECT_NEAR(sum, 1.0, 1e-12);
  int width = 0;
  const std::vector<int32_t> log2phy = p.log2phy(0, &width);
  for (int32_t slot : log2phy) EXPECT_TRUE(slot < 3 || slot >= 6) << "slot " << slot;
  EXPECT_TRUE(report.layers[0].uncovered_experts.empty());
  EXPECT_EQ(report.layers_uncovered, 0);
  EXPECT_EQ(report.layers[0].moved_slots, count_moved_slots(current, p));
  // 9 live slots for 8 experts: the hottest (80) gets a second replica, and 70+40+10,
  // 60+40+20, 50+40+30 balance the 3 live ranks exactly; allow slack for the move limit.
  EXPECT_LT(report.layers[0].max_over_mean, 1.1);
}

TEST(LiveRanks, ExpertsWhoseOnlyReplicaWasExcludedAreReplacedOnLiveRanks) {
  // Current: slots 0..7 hold experts 0..7, slots 8..11 repeat 0..3; rank 2 (slots 6..8)
  // holds the only replicas of experts 6 and 7.
  const Placement current = Placement::contiguous(1, 8, 4, 12);
  const Placement p = plan(toy_loads(), toy_options({2}), &current);
  const ReplicaTable table = build_replica_table(p.layer_phy2log(0), 8, 3, p.layer_routing_weight(0));
  for (int e = 0; e < 8; ++e) {
    ASSERT_GE(table.replica_count(e), 1) << "expert " << e;
    for (int r = table.offset[static_cast<size_t>(e)]; r < table.offset[static_cast<size_t>(e) + 1]; ++r) {
      EXPECT_NE(table.slot_rank(table.slot[static_cast<size_t>(r)]), 2);
    }
  }
}

TEST(LiveRanks, FewerLiveSlotsThanExpertsReportsTheUncoveredByIdAndStaysValid) {
  // Ranks 1, 2, 3 excluded: 3 live slots for 8 experts; experts 0..2 (the hottest) are served.
  PlanReport report;
  const LoadMatrix loads = toy_loads();
  const Placement p = plan(loads, toy_options({3, 1, 2}), nullptr, &report);
  ASSERT_TRUE(check_placement(p).empty());  // every expert still has a slot (share 0)
  EXPECT_EQ(report.layers[0].uncovered_experts, (std::vector<int32_t>{3, 4, 5, 6, 7}));
  EXPECT_EQ(report.layers_uncovered, 1);
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_NE(report.warnings[0].find("layer 0: 3,4,5,6,7"), std::string::npos) << report.warnings[0];
  const std::vector<double> sums = share_sums(p, 0);
  for (int e = 0; e < 8; ++e) EXPECT_EQ(sums[static_cast<size_t>(e)], e < 3 ? 1.0 : 0.0) << e;
  std::vector<int32_t> live(p.phy2log.begin(), p.phy2log.begin() + 3);
  std::sort(live.begin(), live.end());
  EXPECT_EQ(live, (std::vector<int32_t>{0, 1, 2}));
}

TEST(LiveRanks, CurrentLackingAnExpertIsRepairedWithoutExcludedRanks) {
  // The runtime's current placement after an exclusion with too few live slots may lack
  // experts; once every rank is back, planning from it still places every expert.
  std::vector<int32_t> current = Placement::contiguous(1, 8, 4, 12).phy2log;
  current[7] = 0;  // expert 7 had its only slot there
  const LoadMatrix loads = toy_loads();
  std::vector<int32_t> phy2log(12);
  std::vector<double> weight(12);
  LayerReport report;
  plan_layer(loads.layer(0), toy_options({}), current, phy2log, weight, &report);
  std::vector<int32_t> sorted = phy2log;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()) - sorted.begin(), 8);
  int64_t moved = 0;
  for (size_t s = 0; s < 12; ++s) moved += phy2log[s] != current[s];
  EXPECT_EQ(report.moved_slots, moved);
}

TEST(LiveRanks, PlanLayerWithoutRoutingWeightIsRejected) {
  std::vector<double> loads(8, 1.0);
  std::vector<int32_t> phy2log(12);
  EXPECT_NE(error_of([&] { plan_layer(loads, toy_options({0}), {}, phy2log); })
                .find("--exclude-ranks needs routing_weight"),
            std::string::npos);
  std::vector<double> weight(12);
  plan_layer(loads, toy_options({0}), {}, phy2log, weight, nullptr);
  EXPECT_EQ(std::count(weight.begin(), weight.begin() + 3, 0.0), 3);
}

TEST(LiveRanks, BadExcludedRanksNameTheFlag) {
  const LoadMatrix loads = toy_loads();
  EXPECT_EQ(error_of([&] { plan(loads, toy_options({4})); }),
            "--exclude-ranks: rank 4 out of range [0, 4)");
  EXPECT_EQ(error_of([&] { plan(loads, toy_options({-1})); }),
            "--exclude-ranks: rank -1 out of range [0, 4)");
  EXPECT_EQ(error_of([&] { plan(loads, toy_options({2, 2})); }),
            "--exclude-ranks: rank 2 is listed twice");
  EXPECT_EQ(error_of([&] { plan(loads, toy_options({0, 1, 2, 3})); }),
            "--exclude-ranks excludes all 4 ranks (at least one must serve)");
}

// --- properties ---

std::vector<int> divisors(int n) {
  std::vector<int> d;
  for (int i = 1; i <= n; ++i) {
    if (n % i == 0) d.push_back(i);
  }
  return d;
}

RC_GTEST_PROP(LiveRanksProperty, NoTokenReachesAnExcludedRankAndServedExpertsKeepAReplica, ()) {
  PlanOptions o;
  o.num_ranks = *rc::gen::inRange(2, 9);
  const int slots_per_rank = *rc::gen::inRange(1, 5);
  o.num_slots = o.num_ranks * slots_per_rank;
  const int num_experts = *rc::gen::inRange(1, o.num_slots + 1);
  o.num_nodes = *rc::gen::elementOf(divisors(o.num_ranks));
  o.num_groups = *rc::gen::elementOf(divisors(num_experts));
  o.policy = *rc::gen::element(Policy::kBalanced, Policy::kDeepSeek, Policy::kGreedy);
  o.routing = *rc::gen::element(Routing::kEven, Routing::kWeighted);
  std::vector<int> ranks(static_cast<size_t>(o.num_ranks));
  std::iota(ranks.begin(), ranks.end(), 0);
  const auto num_excluded = *rc::gen::inRange<size_t>(1, ranks.size());
  std::vector<int> shuffled = *rc::gen::container<std::vector<int>>(
      ranks.size(), rc::gen::inRange(0, 1000000));
  std::sort(ranks.begin(), ranks.end(), [&](int a, int b) {
    return std::make_pair(shuffled[static_cast<size_t>(a)], a) <
           std::make_pair(shuffled[static_cast<size_t>(b)], b);
  });
  o.excluded_ranks.assign(ranks.begin(), ranks.begin() + static_cast<ptrdiff_t>(num_excluded));
  std::vector<char> excluded(static_cast<size_t>(o.num_ranks), 0);
  for (int r : o.excluded_ranks) excluded[static_cast<size_t>(r)] = 1;

  const int num_layers = *rc::gen::inRange(1, 3);
  LoadMatrix loads = LoadMatrix::zeros(num_layers, num_experts);
  for (double& v : loads.values) v = *rc::gen::element(0, 0, 7, 7, 1000, 3, 50, 90000);
  const bool with_current = *rc::gen::arbitrary<bool>();
  Placement current = Placement::contiguous(num_layers, num_experts, o.num_ranks, o.num_slots);
  if (with_current) {  // a random valid deployment: every expert once, the rest random
    for (int l = 0; l < num_layers; ++l) {
      auto row = current.layer_phy2log(l);
      for (int32_t& e : row) e = *rc::gen::inRange(0, num_experts);
      std::vector<int32_t> order(row.size());
      std::iota(order.begin(), order.end(), 0);
      const auto keys = *rc::gen::container<std::vector<int>>(row.size(), rc::gen::arbitrary<int>());
      std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
        return std::make_pair(keys[static_cast<size_t>(a)], a) <
               std::make_pair(keys[static_cast<size_t>(b)], b);
      });
      for (int e = 0; e < num_experts; ++e) row[static_cast<size_t>(order[static_cast<size_t>(e)])] = e;
    }
  }
  PlanReport report;
  const Placement p = plan(loads, o, with_current ? &current : nullptr, &report);
  RC_ASSERT(check_placement(p).empty());

  const int live_slots = (o.num_ranks - static_cast<int>(num_excluded)) * slots_per_rank;
  for (int l = 0; l < num_layers; ++l) {
    const std::vector<int32_t>& uncovered = report.layers[static_cast<size_t>(l)].uncovered_experts;
    RC_ASSERT(static_cast<int>(uncovered.size()) == std::max(0, num_experts - live_slots));
    auto row = p.layer_phy2log(l);
    auto weight = p.layer_routing_weight(l);
    // Shares: 1 per served expert, 0 per uncovered one; 0 on every excluded slot.
    const std::vector<double> sums = share_sums(p, l);
    for (int e = 0; e < num_experts; ++e) {
      const bool lost = std::binary_search(uncovered.begin(), uncovered.end(), e);
      RC_ASSERT(std::fabs(sums[static_cast<size_t>(e)] - (lost ? 0.0 : 1.0)) < 1e-9);
    }
    for (size_t s = 0; s < row.size(); ++s) {
      if (excluded[s / static_cast<size_t>(slots_per_rank)] == 0) continue;
      RC_ASSERT(weight[s] == 0.0);
      // An excluded slot keeps its current expert, unless it holds the only slot of one.
      if (with_current && row[s] != current.layer_phy2log(l)[s]) {
        RC_ASSERT(std::count(row.begin(), row.end(), row[s]) == 1);
      }
    }
    // Route every expert at every top-k position under every policy: never an excluded rank,
    // never slot -1 for a served expert.
    const ReplicaTable table = build_replica_table(row, num_experts, slots_per_rank, weight);
    std::vector<int32_t> ids;
    for (int t = 0; t < 3 * slots_per_rank; ++t) {
      for (int e = 0; e < num_experts; ++e) ids.push_back(e);
    }
    for (RoutePolicy policy :
         {RoutePolicy::kRoundRobin, RoutePolicy::kLocalFirst, RoutePolicy::kWeighted}) {
      std::vector<int32_t> slots(ids.size());
      route_tokens(ids, num_experts, table, policy, o.excluded_ranks[0], 11, slots);
      for (size_t i = 0; i < ids.size(); ++i) {
        const bool lost = std::binary_search(uncovered.begin(), uncovered.end(), ids[i]);
        if (lost) {
          RC_ASSERT(slots[i] == -1);
        } else {
          RC_ASSERT(slots[i] >= 0);
          RC_ASSERT(excluded[static_cast<size_t>(slots[i] / slots_per_rank)] == 0);
        }
      }
    }
  }
}

}  // namespace
}  // namespace eplb
