// Toy world: packs are ranks, items are replicas keyed by their logical expert; packs of
// 2 or 3 items.
#include "planner/packing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "planner/duplicates.h"
#include "planner/packing_test_util.h"

namespace eplb::planner {
namespace {

TEST(LptPack, PlacesEachItemOnTheLeastLoadedPackWithRoom) {
  // 3 packs x 2 items; runs already sorted heaviest first.
  std::vector<ItemRun> runs = {{9, 0, 1}, {7, 1, 1}, {5, 2, 1}, {4, 3, 1}, {3, 4, 1}, {1, 5, 1}};
  Packing p;
  p.reset(3, 2);
  LptScratch scratch;
  lpt_pack(runs, /*spread=*/false, p, scratch);
  // 9->0, 7->1, 5->2, 4->2 (5 < 7 < 9), 3->1 (7 < 9), 1->0 (only room left).
  EXPECT_EQ(keys_of(p), (std::vector<int32_t>{0, 5, 1, 4, 2, 3}));
  EXPECT_EQ(p.load, (std::vector<double>{10, 10, 9}));
}

TEST(LptPack, SpreadPutsTheReplicasOfOneRunOnDistinctPacks) {
  // 2 packs x 2 items: expert 0 has 2 replicas of 5, expert 1 two of 1.
  std::vector<ItemRun> runs = {{5, 0, 2}, {1, 1, 2}};
  Packing p;
  p.reset(2, 2);
  LptScratch scratch;
  lpt_pack(runs, /*spread=*/true, p, scratch);
  EXPECT_EQ(keys_of(p), (std::vector<int32_t>{0, 1, 0, 1}));
  EXPECT_EQ(count_duplicates(p), 0);
}

TEST(LptPack, WithoutSpreadReplicasMayShareAPack) {
  // 2 packs x 3: pack 0 gets 10; pack 1 gets 3 and both replicas of 2 (3 + 2 < 10); pack 0
  // then both replicas of 1.
  std::vector<ItemRun> runs = {{10, 0, 1}, {3, 1, 1}, {2, 2, 2}, {1, 3, 2}};
  Packing p;
  p.reset(2, 3);
  LptScratch scratch;
  lpt_pack(runs, /*spread=*/false, p, scratch);
  EXPECT_EQ(keys_of(p), (std::vector<int32_t>{0, 3, 3, 1, 2, 2}));
  EXPECT_EQ(count_duplicates(p), 2);
  lpt_pack(std::vector<ItemRun>{{1, 7, 1}}, false, p, scratch);  // full: nothing changes
  EXPECT_EQ(keys_of(p), (std::vector<int32_t>{0, 3, 3, 1, 2, 2}));
}

TEST(SortRuns, HeaviestFirstThenEarliest) {
  std::vector<ItemRun> runs = {{1, 3, 1}, {2, 5, 1}, {2, 4, 2}, {2.5, 6, 1}};
  std::vector<uint64_t> order;
  std::vector<ItemRun> scratch;
  sort_runs(runs, order, scratch);
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0].key, 6);
  EXPECT_EQ(runs[1].key, 5);
  EXPECT_EQ(runs[2].key, 4);
  EXPECT_EQ(runs[2].count, 2);
  EXPECT_EQ(runs[3].key, 3);
}

TEST(Packing, SwapAndResortKeepPacksHeaviestFirst) {
  Packing p = make_packing(2, 3, {0, 1, 2, 3, 4, 5}, {1, 5, 3, 9, 2, 4});
  p.sort_items();
  EXPECT_EQ(keys_of(p), (std::vector<int32_t>{1, 2, 0, 3, 5, 4}));
  p.swap_items(0, 4);  // 5 (key 1) <-> 4 (key 5)
  p.resort_item(0);
  p.resort_item(4);
  EXPECT_EQ(keys_of(p), (std::vector<int32_t>{5, 2, 0, 3, 1, 4}));
  EXPECT_DOUBLE_EQ(p.load[0], 8);
  EXPECT_DOUBLE_EQ(p.load[1], 16);
  EXPECT_EQ(p.hottest(), 1);
  EXPECT_EQ(p.count_key(1, 4), 1);
}

}  // namespace
}  // namespace eplb::planner
