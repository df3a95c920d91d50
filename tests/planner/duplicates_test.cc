// Taking same-rank duplicates apart. Toy world: 2-3 packs (ranks) of 2 items (slots), keys =
// logical experts.
#include "planner/duplicates.h"

#include <gtest/gtest.h>

#include <vector>
#include "planner/packing_test_util.h"

namespace eplb::planner {
namespace {

TEST(SpreadDuplicates, SwapsADuplicateWithTheBestPartner) {
  // Pack 0 holds key 0 twice (2 + 2), pack 1 keys 1 and 2 (5 + 3), pack 2 keys 3 and 4
  // (1 + 1). Swapping with pack 1 leaves a pack at 7; with pack 2's key 3, both at 3.
  Packing p = make_packing(3, 2, {0, 0, 1, 2, 3, 4}, {2, 2, 5, 3, 1, 1});
  EXPECT_EQ(spread_duplicates(p, 1e300), 0);
  EXPECT_EQ(keys_of(p), (std::vector<int32_t>{0, 3, 1, 2, 0, 4}));
  EXPECT_DOUBLE_EQ(p.load[0], 3);
  EXPECT_DOUBLE_EQ(p.load[2], 3);
}

TEST(SpreadDuplicates, RespectsTheLimit) {
  Packing p = make_packing(3, 2, {0, 0, 1, 2, 3, 4}, {2, 2, 5, 3, 1, 1});
  EXPECT_EQ(spread_duplicates(p, 2.5), 1);  // every swap leaves a pack above 2.5
  EXPECT_EQ(count_duplicates(p), 1);
}

TEST(SpreadDuplicates, LeavesUnavoidableDuplicates) {
  // Key 0 on every pack and twice on pack 0: no pack lacks it.
  Packing p = make_packing(2, 2, {0, 0, 0, 1}, {1, 1, 1, 1});
  EXPECT_EQ(spread_duplicates(p, 1e300), 1);
}

TEST(CountDuplicates, CountsExtraCopiesPerPack) {
  EXPECT_EQ(count_duplicates(make_packing(2, 3, {0, 0, 0, 1, 2, 1}, {1, 1, 1, 1, 1, 1})), 3);
  EXPECT_EQ(count_duplicates(make_packing(2, 2, {0, 1, 1, 0}, {1, 1, 1, 1})), 0);
}

TEST(DonateDuplicates, HandsTheSecondCopyToAnotherExpert) {
  // 2 ranks x 2 slots, one node. Loads {10, 6, 4, 0.5}; rank 0 holds expert 0 twice (10),
  // rank 1 holds experts 1 and 2 (10). Expert 3 has no slot, so it is no candidate: the
  // second copy of 0 could become expert 1 (ranks 10 + 3 and 3 + 4) or expert 2 (10 + 2 and
  // 6 + 2).
  const std::vector<double> loads = {10, 6, 4, 0.5};
  std::vector<int32_t> count;
  std::vector<double> rank_load;
  std::vector<int32_t> phy2log = {0, 0, 1, 2};
  EXPECT_EQ(donate_duplicates(loads, 2, 1, /*limit=*/11, phy2log, count, rank_load), 1);
  EXPECT_EQ(phy2log, (std::vector<int32_t>{0, 0, 1, 2}));
  EXPECT_EQ(donate_duplicates(loads, 2, 1, /*limit=*/12, phy2log, count, rank_load), 0);
  EXPECT_EQ(phy2log, (std::vector<int32_t>{0, 2, 1, 2}));
  // With expert 3 (0.5) on rank 1 it is the best recipient: 10 + 0.25 and 6 + 0.25.
  phy2log = {0, 0, 1, 3};
  EXPECT_EQ(donate_duplicates(loads, 2, 1, /*limit=*/11, phy2log, count, rank_load), 0);
  EXPECT_EQ(phy2log, (std::vector<int32_t>{0, 3, 1, 3}));
}

}  // namespace
}  // namespace eplb::planner
