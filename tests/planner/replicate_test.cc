// Toy world: 4 experts with loads {10, 40, 25, 5}; 2 or more redundant slots.
#include "planner/replicate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

namespace eplb::planner {
namespace {

TEST(WaterFill, GivesEachExtraSlotToTheLargestPerReplicaLoad) {
  const std::vector<double> loads = {10, 40, 25, 5};
  std::vector<int32_t> count(4);
  std::vector<int32_t> extra(3);
  WaterFillScratch<double> tree;
  water_fill<double>(loads, count, extra, tree);
  // 40 -> 40/2 = 20; then 25 -> 25/2 = 12.5; then 40/2 = 20 again -> 40/3.
  EXPECT_EQ(extra, (std::vector<int32_t>{1, 2, 1}));
  EXPECT_EQ(count, (std::vector<int32_t>{1, 3, 2, 1}));
}

TEST(WaterFill, BreaksTiesByLowestIndexLikeTorchMax) {
  const std::vector<float> loads = {6, 12, 12, 3};
  std::vector<int32_t> count(4);
  std::vector<int32_t> extra(3);
  WaterFillScratch<float> tree;
  water_fill<float>(loads, count, extra, tree);
  // 12 (1) ties 12 (2): expert 1; then 12 (2); then 6 ties 6 ties 6: expert 0.
  EXPECT_EQ(extra, (std::vector<int32_t>{1, 2, 0}));
  EXPECT_EQ(count, (std::vector<int32_t>{2, 2, 2, 1}));
}

TEST(WaterFill, WithoutExtraSlotsEveryExpertHasOneReplica) {
  const std::vector<double> loads = {3, 1};
  std::vector<int32_t> count(2, 7);
  std::vector<int32_t> extra;
  WaterFillScratch<double> tree;
  water_fill<double>(loads, count, extra, tree);
  EXPECT_EQ(count, (std::vector<int32_t>{1, 1}));
}

TEST(WaterFill, AllZeroLoadsSpreadExtraSlotsFromTheFirstExpert) {
  const std::vector<double> loads = {0, 0, 0};
  std::vector<int32_t> count(3);
  std::vector<int32_t> extra(4);
  WaterFillScratch<double> tree;
  water_fill<double>(loads, count, extra, tree);
  EXPECT_EQ(extra, (std::vector<int32_t>{0, 0, 0, 0}));
  EXPECT_EQ(count, (std::vector<int32_t>{5, 1, 1}));
}

TEST(WaterFill, MatchesTheTextbookLoopOnRowsWithTiesAndZeros) {
  // The reference: every extra slot to argmax(load / count), the lowest index among equals,
  // over all experts (water_fill() only lets the heaviest num_extra compete).
  std::mt19937 rng(5);
  WaterFillScratch<double> scratch;
  for (int round = 0; round < 500; ++round) {
    const auto n = static_cast<size_t>(1 + rng() % 50);
    const auto num_extra = static_cast<size_t>(rng() % (3 * n + 2));
    std::vector<double> loads(n);
    for (auto& v : loads) v = round % 3 == 0 ? static_cast<double>(rng() % 4) : rng() % 100000;
    std::vector<int32_t> want_count(n, 1);
    std::vector<int32_t> want_extra;
    for (size_t j = 0; j < num_extra; ++j) {
      size_t best = 0;
      for (size_t e = 1; e < n; ++e) {
        if (loads[e] / want_count[e] > loads[best] / want_count[best]) best = e;
      }
      ++want_count[best];
      want_extra.push_back(static_cast<int32_t>(best));
    }
    std::vector<int32_t> count(n);
    std::vector<int32_t> extra(num_extra);
    const double largest = water_fill<double>(loads, count, extra, scratch);
    ASSERT_EQ(count, want_count) << "round " << round;
    double want_largest = 0;
    for (size_t e = 0; e < n; ++e) want_largest = std::max(want_largest, loads[e] / count[e]);
    ASSERT_EQ(largest, want_largest) << "round " << round;
    ASSERT_EQ(extra, want_extra) << "round " << round;
  }
}

TEST(LargestReplicaIfOptimal, AcceptsWaterFillingCountsAndAgreesWithIt) {
  // Water-filling's own counts are optimal; any counts it accepts give water-filling's
  // largest load per replica; counts one move away from optimal are refused.
  std::mt19937 rng(8);
  WaterFillScratch<double> scratch;
  int accepted_others = 0;
  for (int round = 0; round < 500; ++round) {
    const auto n = static_cast<size_t>(1 + rng() % 40);
    const auto num_extra = static_cast<size_t>(rng() % (2 * n + 2));
    std::vector<double> loads(n);
    for (auto& v : loads) v = round % 4 == 0 ? static_cast<double>(rng() % 3) : rng() % 10000;
    std::vector<int32_t> count(n);
    std::vector<int32_t> extra(num_extra);
    const double want = water_fill<double>(loads, count, extra, scratch);
    const auto own = largest_replica_if_optimal(loads, count);
    ASSERT_TRUE(own.has_value()) << "round " << round;
    ASSERT_EQ(*own, want) << "round " << round;
    // Random counts with the same total.
    std::vector<int32_t> other(n, 1);
    for (size_t j = 0; j < num_extra; ++j) ++other[rng() % n];
    if (const auto got = largest_replica_if_optimal(loads, other)) {
      ASSERT_EQ(*got, want) << "round " << round;
      ++accepted_others;
    }
  }
  EXPECT_GT(accepted_others, 0);
  // {10, 1} on 3 slots: water-filling gives {2, 1}, largest 5; {1, 2} is not optimal (10 > 1).
  EXPECT_FALSE(largest_replica_if_optimal(std::vector<double>{10, 1}, std::vector<int32_t>{1, 2}));
  EXPECT_EQ(largest_replica_if_optimal(std::vector<double>{10, 1}, std::vector<int32_t>{2, 1}),
            5.0);
  EXPECT_FALSE(largest_replica_if_optimal(std::vector<double>{10, 1}, std::vector<int32_t>{3, 0}));
}

TEST(WinnerTree, SmallestFirstTiesToLowestIndexAndSkipsRemovedLeaves) {
  WinnerTree<double, SmallestFirst> tree;
  const std::vector<double> values = {3, 1, 2, 1, 5};
  tree.build(values);
  EXPECT_EQ(tree.top(), 1);
  tree.remove(1);
  EXPECT_EQ(tree.top(), 3);
  tree.update(3, 4);
  EXPECT_EQ(tree.top(), 2);
  tree.update(0, 0);
  EXPECT_EQ(tree.top(), 0);
}

TEST(WinnerTree, LargestFirstOnASingleLeaf) {
  WinnerTree<float, LargestFirst> tree;
  tree.build(1, 2.0f);
  EXPECT_EQ(tree.top(), 0);
  tree.update(0, 1.0f);
  EXPECT_EQ(tree.top(), 0);
}

}  // namespace
}  // namespace eplb::planner

namespace eplb::planner {
namespace {

TEST(ReplicateInOrder, MatchesWaterFillingAndASortOfTheReplicas) {
  // Random rows with ties and zeros; the reference: water_fill<float>, then every replica
  // (index e for an expert's first, num_experts + j for extra slot j) sorted by per-replica
  // load descending, then index.
  std::mt19937 rng(11);
  WaterFillScratch<float> tree;
  ReplicaOrderScratch scratch;
  for (int round = 0; round < 300; ++round) {
    const auto n = static_cast<size_t>(1 + rng() % 40);
    const auto extra = static_cast<size_t>(rng() % (2 * n + 3));
    std::vector<float> loads(n);
    for (auto& v : loads) v = static_cast<float>(round % 2 == 0 ? rng() % 5 : rng() % 100000);
    std::vector<int32_t> count(n);
    std::vector<int32_t> chosen(extra);
    water_fill<float>(loads, count, chosen, tree);
    std::vector<std::pair<float, int32_t>> replicas;
    for (size_t p = 0; p < n + extra; ++p) {
      const auto e = static_cast<size_t>(p < n ? static_cast<int32_t>(p) : chosen[p - n]);
      replicas.emplace_back(loads[e] / static_cast<float>(count[e]), static_cast<int32_t>(p));
    }
    std::stable_sort(replicas.begin(), replicas.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<int32_t> want;
    for (const auto& r : replicas) want.push_back(r.second);

    std::vector<int32_t> count2(n);
    std::vector<int32_t> chosen2(extra);
    std::vector<int32_t> order(n + extra);
    replicate_in_order(loads, count2, chosen2, order, scratch);
    ASSERT_EQ(count2, count) << "round " << round;
    ASSERT_EQ(chosen2, chosen) << "round " << round;
    ASSERT_EQ(order, want) << "round " << round;
  }
}

}  // namespace
}  // namespace eplb::planner
