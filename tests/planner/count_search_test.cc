// Replica counts for the packing, three or more slots per rank (count_search.h).
#include "planner/count_search.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "eplb/planner.h"
#include "planner/deepseek.h"
#include "planner/rank_load.h"

namespace eplb::planner {
namespace {

double hottest(const std::vector<double>& loads, std::span<const int32_t> phy2log,
               int32_t num_ranks) {
  std::vector<int32_t> count;
  std::vector<double> rank_load;
  return max_rank_load(loads, phy2log, num_ranks, count, rank_load);
}

std::vector<int32_t> counts(std::span<const int32_t> phy2log, size_t num_experts) {
  std::vector<int32_t> count(num_experts, 0);
  for (int32_t e : phy2log) ++count[static_cast<size_t>(e)];
  return count;
}

bool same_rank_duplicate(std::span<const int32_t> phy2log, int32_t slots_per_rank) {
  for (size_t first = 0; first < phy2log.size(); first += static_cast<size_t>(slots_per_rank)) {
    std::set<int32_t> seen(phy2log.begin() + static_cast<ptrdiff_t>(first),
                           phy2log.begin() + static_cast<ptrdiff_t>(first) + slots_per_rank);
    if (seen.size() < static_cast<size_t>(slots_per_rank)) return true;
  }
  return false;
}

// Water-filling gives expert 0 (3.0 tokens) a replica on each of the 4 ranks (0.75 each), so
// experts 1 (0.98) and 2 (0.9) sit beside one: 0.75 + 0.98 + 0.05 = 1.78 (DeepSeek's packing
// instead puts two replicas of expert 0 on one rank). Expert 0 on 3 ranks (1.0 each) and
// expert 1 split in two leave ranks {0, 1/2, light}, {0, light, light} twice and
// {2, 1/2, light}: 1.0 + 0.49 + 0.05 = 1.54, the best for those counts.
TEST(CountSearch, GivesTheNextHeavyExpertAReplicaOfTheHotOne) {
  const std::vector<double> loads = {3.0, 0.98, 0.9, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05};
  std::vector<int32_t> phy2log = {0, 1, 3, 0, 2, 4, 0, 5, 6, 0, 7, 8};
  const double before = hottest(loads, phy2log, 4);
  ASSERT_NEAR(before, 1.78, 1e-9);

  CountSearch search;
  const double after = search.improve(loads, 4, 0.002, 4, before, phy2log);
  EXPECT_NEAR(after, 1.54, 1e-9);
  EXPECT_NEAR(hottest(loads, phy2log, 4), after, 1e-12);
  EXPECT_EQ(counts(phy2log, loads.size()), (std::vector<int32_t>{3, 2, 1, 1, 1, 1, 1, 1, 1}));
  EXPECT_FALSE(same_rank_duplicate(phy2log, 3));

  // The same through plan(): water-filling's counts miss the target, the search finds these.
  LoadMatrix m = LoadMatrix::zeros(1, static_cast<int>(loads.size()));
  std::copy(loads.begin(), loads.end(), m.values.begin());
  PlanOptions o;
  o.num_ranks = 4;
  o.num_slots = 12;
  const Placement planned = plan(m, o);
  EXPECT_NEAR(hottest(loads, planned.layer_phy2log(0), 4), 1.54, 1e-9);
}

TEST(CountSearch, KeepsAPlanItCannotCool) {
  // One replica per expert but one, already even: 3 ranks x 3 of equal experts.
  const std::vector<double> loads = {2, 1, 1, 1, 1, 1, 1, 1};
  std::vector<int32_t> phy2log = {0, 1, 2, 0, 3, 4, 5, 6, 7};
  const std::vector<int32_t> before = phy2log;
  CountSearch search;
  EXPECT_DOUBLE_EQ(search.improve(loads, 3, 0.002, 4, 3.0, phy2log), 3.0);
  EXPECT_EQ(phy2log, before);
}

// From DeepSeek's plan of random loads: never hotter, the value returned is the plan's hottest
// rank, every expert keeps a replica, and a changed plan has no same-rank duplicate.
RC_GTEST_PROP(CountSearchProperty, NeverHeatsAndLeavesAValidPlan, ()) {
  const int num_ranks = *rc::gen::inRange(2, 17);
  const int per_rank = *rc::gen::inRange(3, 7);
  const int num_slots = num_ranks * per_rank;
  const int num_experts = *rc::gen::inRange(num_slots - num_slots / 3, num_slots + 1);
  std::vector<double> loads(static_cast<size_t>(num_experts));
  for (double& v : loads) {
    switch (*rc::gen::inRange(0, 5)) {
      case 0: v = *rc::gen::inRange(0, 100000); break;  // rare giants
      case 1: v = 0; break;
      default: v = *rc::gen::inRange(0, 1000); break;
    }
  }
  PlanOptions o;
  o.num_ranks = num_ranks;
  o.num_slots = num_slots;
  std::vector<int32_t> phy2log(static_cast<size_t>(num_slots));
  DeepSeekPlanner deepseek;
  deepseek.plan(loads, o, phy2log);
  const double before = hottest(loads, phy2log, num_ranks);

  CountSearch search;
  const double after = search.improve(loads, num_ranks, 0.002, 4, before, phy2log);
  RC_ASSERT(after <= before);
  // (The search sums each rank's replicas heaviest first: the last bits may differ.)
  RC_ASSERT(std::abs(hottest(loads, phy2log, num_ranks) - after) <= 1e-9 * after);
  for (int32_t c : counts(phy2log, loads.size())) RC_ASSERT(c >= 1);
  if (after < before) RC_ASSERT(!same_rank_duplicate(phy2log, per_rank));
}

}  // namespace
}  // namespace eplb::planner
