// Toy world: 4 experts with loads {10, 40, 25, 5}; 2 or more redundant slots.
#include "planner/replicate.h"

#include <gtest/gtest.h>

#include <vector>

namespace eplb::planner {
namespace {

TEST(WaterFill, GivesEachExtraSlotToTheLargestPerReplicaLoad) {
  const std::vector<double> loads = {10, 40, 25, 5};
  std::vector<int32_t> count(4);
  std::vector<int32_t> extra(3);
  ReplicaTree<double> tree;
  water_fill<double>(loads, count, extra, tree);
  // 40 -> 40/2 = 20; then 25 -> 25/2 = 12.5; then 40/2 = 20 again -> 40/3.
  EXPECT_EQ(extra, (std::vector<int32_t>{1, 2, 1}));
  EXPECT_EQ(count, (std::vector<int32_t>{1, 3, 2, 1}));
}

TEST(WaterFill, BreaksTiesByLowestIndexLikeTorchMax) {
  const std::vector<float> loads = {6, 12, 12, 3};
  std::vector<int32_t> count(4);
  std::vector<int32_t> extra(3);
  ReplicaTree<float> tree;
  water_fill<float>(loads, count, extra, tree);
  // 12 (1) ties 12 (2): expert 1; then 12 (2); then 6 ties 6 ties 6: expert 0.
  EXPECT_EQ(extra, (std::vector<int32_t>{1, 2, 0}));
  EXPECT_EQ(count, (std::vector<int32_t>{2, 2, 2, 1}));
}

TEST(WaterFill, WithoutExtraSlotsEveryExpertHasOneReplica) {
  const std::vector<double> loads = {3, 1};
  std::vector<int32_t> count(2, 7);
  std::vector<int32_t> extra;
  ReplicaTree<double> tree;
  water_fill<double>(loads, count, extra, tree);
  EXPECT_EQ(count, (std::vector<int32_t>{1, 1}));
}

TEST(WaterFill, AllZeroLoadsSpreadExtraSlotsFromTheFirstExpert) {
  const std::vector<double> loads = {0, 0, 0};
  std::vector<int32_t> count(3);
  std::vector<int32_t> extra(4);
  ReplicaTree<double> tree;
  water_fill<double>(loads, count, extra, tree);
  EXPECT_EQ(extra, (std::vector<int32_t>{0, 0, 0, 0}));
  EXPECT_EQ(count, (std::vector<int32_t>{5, 1, 1}));
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
