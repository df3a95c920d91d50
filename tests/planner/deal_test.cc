// Dealing replicas to ranks in rounds (deal.h): the quick start of policy `balanced`.
#include "planner/deal.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <vector>

#include "planner/replicate.h"

namespace eplb::planner {
namespace {

TEST(DealReplicas, DealsRoundsHeaviestReplicaToLeastLoadedRank) {
  // 6 experts, 3 ranks x 2 slots: no extra slot. Round 1 gives 60, 50, 40 to ranks 0, 1, 2;
  // round 2 gives 30 to rank 2 (least loaded), 20 to rank 1, 10 to rank 0.
  const std::vector<double> loads = {10, 60, 30, 50, 20, 40};
  std::vector<int32_t> count(6);
  Packing pk;
  DealScratch scratch;
  EXPECT_EQ(deal_replicas(loads, 3, 2, count, pk, scratch), 0);
  EXPECT_EQ(pk.key, (std::vector<int32_t>{1, 0, 3, 4, 5, 2}));
  EXPECT_EQ(pk.load, (std::vector<double>{70, 70, 70}));
  EXPECT_EQ(count, (std::vector<int32_t>(6, 1)));
}

TEST(DealReplicas, KeepsAnExpertStraddlingTwoRoundsOnDistinctRanks) {
  // 7 experts, 4 ranks x 2 slots: the extra slot goes to expert 0 (180 -> two of 90). Sorted:
  // 95 94 93 90 | 90 10 9 8. Round 2 would give expert 0's second 90 to rank 3 (least loaded),
  // which holds the first: rank 3 takes the 10 instead and the 90 goes to the next rank.
  const std::vector<double> loads = {180, 95, 94, 93, 10, 9, 8};
  std::vector<int32_t> count(7);
  Packing pk;
  DealScratch scratch;
  EXPECT_EQ(deal_replicas(loads, 4, 2, count, pk, scratch), 0);
  EXPECT_EQ(count, (std::vector<int32_t>{2, 1, 1, 1, 1, 1, 1}));
  EXPECT_EQ(pk.key, (std::vector<int32_t>{1, 6, 2, 5, 3, 0, 0, 4}));
}

TEST(DealReplicas, CountsDuplicatesItCannotAvoid) {
  // 2 ranks x 3 slots, loads {90, 40, 10}: expert 0 gets 3 replicas of 30 on 2 ranks.
  const std::vector<double> loads = {90, 40, 10};
  std::vector<int32_t> count(3);
  Packing pk;
  DealScratch scratch;
  EXPECT_EQ(deal_replicas(loads, 2, 3, count, pk, scratch), 1);
  EXPECT_EQ(count, (std::vector<int32_t>{3, 2, 1}));
}

// Replicas per expert as water_fill<double> gives them; every rank full, heaviest first (to
// float precision), loads summed; replicas of an expert with at most num_ranks of them on distinct
// ranks.
RC_GTEST_PROP(DealReplicas, DealsEveryReplicaOnceWithWaterFillingCounts, ()) {
  const int num_ranks = *rc::gen::inRange(1, 40);
  const int per_rank = *rc::gen::inRange(1, 12);
  const int num_slots = num_ranks * per_rank;
  const int num_experts = *rc::gen::inRange(1, num_slots + 1);
  // Distinct loads (no ties for water-filling to break differently), some zero.
  std::vector<double> loads(static_cast<size_t>(num_experts));
  for (size_t e = 0; e < loads.size(); ++e) {
    loads[e] = *rc::gen::inRange(0, 4) == 0 ? 0.0 : *rc::gen::inRange(1, 1000000) + e * 1e-3;
  }
  std::vector<int32_t> count(loads.size());
  Packing pk;
  DealScratch scratch;
  const int duplicates = deal_replicas(loads, num_ranks, per_rank, count, pk, scratch);

  std::vector<int32_t> expected(loads.size());
  std::vector<int32_t> extra(static_cast<size_t>(num_slots - num_experts));
  WaterFillScratch<double> tree;
  water_fill<double>(loads, expected, extra, tree);
  // Equal per-replica maxima (zero-load experts may take the extras in another order; experts
  // within float precision of each other may trade the last extra: relative 1e-6).
  auto largest = [&](const std::vector<int32_t>& c) {
    double m = 0;
    for (size_t e = 0; e < loads.size(); ++e) m = std::max(m, loads[e] / c[e]);
    return m;
  };
  RC_ASSERT(std::abs(largest(count) - largest(expected)) <= 1e-6 * largest(expected));

  RC_ASSERT(pk.key.size() == static_cast<size_t>(num_slots));
  std::vector<int32_t> seen(loads.size(), 0);
  int avoidable = 0;
  for (int r = 0; r < num_ranks; ++r) {
    double sum = 0;
    std::set<int32_t> experts;
    for (int i = 0; i < per_rank; ++i) {
      const auto pos = static_cast<size_t>(r * per_rank + i);
      const auto e = static_cast<size_t>(pk.key[pos]);
      RC_ASSERT(e < loads.size());
      ++seen[e];
      RC_ASSERT(pk.weight[pos] == loads[e] / count[e]);
      // Heaviest first to float precision (the order is a sort of float keys).
      if (i > 0) {
        RC_ASSERT(static_cast<float>(pk.weight[pos - 1]) >= static_cast<float>(pk.weight[pos]));
      }
      sum += pk.weight[pos];
      if (!experts.insert(pk.key[pos]).second && count[e] <= num_ranks) ++avoidable;
    }
    RC_ASSERT(std::abs(sum - pk.load[static_cast<size_t>(r)]) <= 1e-9 * std::max(sum, 1.0));
  }
  RC_ASSERT(seen == count);
  RC_ASSERT(avoidable <= duplicates);
}

}  // namespace
}  // namespace eplb::planner
