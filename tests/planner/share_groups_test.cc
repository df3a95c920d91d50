// A placement designed for weighted shares, two slots per rank (share_groups.h).
#include "planner/share_groups.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <vector>

#include "eplb/balance.h"
#include "eplb/planner.h"
#include "planner/routing_shares.h"

namespace eplb::planner {
namespace {

double hottest_with_shares(const std::vector<double>& loads, const std::vector<int32_t>& phy2log,
                           int32_t num_ranks) {
  std::vector<double> weight(phy2log.size());
  ShareSolver solver;
  return solver.solve(loads, phy2log, num_ranks, weight);
}

bool same_rank_duplicate(std::span<const int32_t> phy2log) {
  for (size_t s = 0; s < phy2log.size(); s += 2) {
    if (phy2log[s] == phy2log[s + 1]) return true;
  }
  return false;
}

// Runs the search on `phy2log` (hottest rank `before` with shares) and expects a placement
// without same-rank duplicates whose hottest rank with shares is `after`.
void expect_improves(const std::vector<double>& loads, std::vector<int32_t> phy2log,
                     int32_t num_ranks, double before, double after) {
  ASSERT_NEAR(hottest_with_shares(loads, phy2log, num_ranks), before, 1e-9);
  ShareGroupSearch search;
  ASSERT_TRUE(search.improve(loads, phy2log, before));
  EXPECT_FALSE(same_rank_duplicate(phy2log));
  EXPECT_NEAR(hottest_with_shares(loads, phy2log, num_ranks), after, 1e-6);
}

TEST(ShareGroupSearch, GivesTwoNearMeanExpertsALightHub) {
  // Loads {1000, 1000, 900, 50, 50} on 3 ranks x 2 slots (mean rank 1000). The even-split
  // plan replicates expert 0 beside 900 and 50 and pairs 1000 + 50 (1050; with shares the
  // star of expert 0 levels at 975). Re-splitting both groups: expert 3 as the hub of the two
  // 1000s levels at (1000 + 1000 + 50) / 2 = 1025, and 900 + 50 pairs at 950.
  const std::vector<double> loads = {1000, 1000, 900, 50, 50};
  expect_improves(loads, {0, 2, 0, 3, 1, 4}, 3, 1050, 1025);

  // Through plan(): the weighted plan gets the redesigned placement.
  LoadMatrix m = LoadMatrix::zeros(1, 5);
  m.values = loads;
  PlanOptions options;
  options.num_ranks = 3;
  options.num_slots = 6;
  options.routing = Routing::kWeighted;
  PlanReport report;
  const Placement p = plan(m, options, nullptr, &report);
  EXPECT_TRUE(check_placement(p).empty());
  EXPECT_NEAR(report.layers[0].max_over_mean, 1.025, 1e-9);
}

TEST(ShareGroupSearch, LeavesAnOptimalPlacementAlone) {
  // {900, 100} and {800, 200} pair at the mean rank load (1000): nothing to gain.
  const std::vector<double> loads = {900, 100, 800, 200};
  std::vector<int32_t> phy2log = {0, 1, 2, 3};
  const std::vector<int32_t> before = phy2log;
  ShareGroupSearch search;
  EXPECT_FALSE(search.improve(loads, phy2log, hottest_with_shares(loads, phy2log, 2)));
  EXPECT_EQ(phy2log, before);
}

TEST(ShareGroupSearch, MergesGroupsWithARankToSpare) {
  // Loads {3000, 100, 200, 350, 350} on 4 ranks x 2 slots (mean 1000): expert 0 on two ranks
  // beside 100 and 200 (1650 each at best), experts 3 and 4 both on the other two ranks (one
  // rank would hold them). As one star, expert 0 on all four ranks beside the others levels
  // them at 1000.
  expect_improves({3000, 100, 200, 350, 350}, {0, 1, 0, 2, 3, 4, 3, 4}, 4, 1650, 1000);
}

// Random deployments with two slots per rank: the weighted plan is a valid placement and never
// hotter than the even plan's placement with its best shares.
RC_GTEST_PROP(ShareGroupSearch, WeightedPlansNeverLoseToTheEvenPlacementWithShares, ()) {
  const int num_ranks = *rc::gen::inRange(2, 40);
  const int num_experts = *rc::gen::inRange(num_ranks + 1, 2 * num_ranks + 1);
  LoadMatrix m = LoadMatrix::zeros(1, num_experts);
  for (double& v : m.values) {
    switch (*rc::gen::inRange(0, 5)) {
      case 0: v = *rc::gen::inRange(0, 100000); break;  // rare giants
      case 1: v = 50; break;                            // ties
      default: v = *rc::gen::inRange(0, 1000); break;
    }
  }
  PlanOptions options;
  options.num_ranks = num_ranks;
  options.num_slots = 2 * num_ranks;
  const Placement even = plan(m, options);
  const std::vector<int32_t> even_phy2log(even.phy2log.begin(), even.phy2log.end());
  const double even_hottest = hottest_with_shares(m.values, even_phy2log, num_ranks);

  options.routing = Routing::kWeighted;
  const Placement weighted = plan(m, options);
  RC_ASSERT(check_placement(weighted).empty());
  const std::vector<double> ranks = rank_loads(m.layer(0), weighted.layer_phy2log(0),
                                               weighted.layer_routing_weight(0), num_ranks);
  RC_ASSERT(*std::max_element(ranks.begin(), ranks.end()) <= even_hottest * (1 + 1e-9) + 1e-9);
}

}  // namespace
}  // namespace eplb::planner
