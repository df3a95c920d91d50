// Local search on packings. Toy world: 2-3 packs of 1-3 items, keys = logical experts.
#include "planner/refine.h"

#include <gtest/gtest.h>

#include <vector>

#include "planner/duplicates.h"
#include "planner/packing_test_util.h"

namespace eplb::planner {
namespace {

TEST(RefineSwaps, LowersTheHottestPackToTheOptimum) {
  // {8, 7} = 15 and {2, 1} = 3: swapping 7 and 1 gives {8, 1} = 9 and {7, 2} = 9.
  Packing p = make_packing(2, 2, {0, 1, 2, 3}, {8, 7, 2, 1});
  EXPECT_EQ(refine_swaps(p, 100), 1);
  EXPECT_DOUBLE_EQ(p.load[0], 9);
  EXPECT_DOUBLE_EQ(p.load[1], 9);
}

TEST(RefineSwaps, NeverCreatesADuplicate) {
  // Key 0 is on both packs; moving pack 0's 6 (key 1) would put key 1 twice on pack 1.
  Packing p = make_packing(2, 2, {0, 1, 0, 1}, {6, 6, 1, 1});
  refine_swaps(p, 100);
  EXPECT_EQ(count_duplicates(p), 0);
}

TEST(RefineSwaps, StopsWhenNoSwapHelps) {
  Packing p = make_packing(2, 1, {0, 1}, {5, 1});
  EXPECT_EQ(refine_swaps(p, 100), 0);
  EXPECT_DOUBLE_EQ(p.load[0], 5);
}

TEST(PairSwap, ExchangesTwoItemsWhenNoSingleSwapFits) {
  // {9, 8, 2, 1} = 20 and {6, 5, 4, 3} = 18: every single swap moves 2 or more, or
  // nothing useful (gap 2); exchanging {9, 1} for {6, 3} moves 1: 19 and 19.
  Packing p = make_packing(2, 4, {0, 1, 2, 3, 4, 5, 6, 7}, {9, 8, 2, 1, 6, 5, 4, 3});
  EXPECT_EQ(refine_swaps(p, 100), 0);
  PairSwapScratch scratch;
  EXPECT_TRUE(pair_swap(p, scratch));
  EXPECT_DOUBLE_EQ(p.load[0], 19);
  EXPECT_DOUBLE_EQ(p.load[1], 19);
  EXPECT_FALSE(pair_swap(p, scratch));  // balanced: nothing left to gain
}

TEST(RefineToTarget, StopsAtTheTarget) {
  // {9, 8, 2, 1} = 20, {6, 5, 4, 3} = 18, {1, 1, 1, 1} = 4; mean 14. Target 20: nothing to do.
  Packing p = make_packing(3, 4, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
                           {9, 8, 2, 1, 6, 5, 4, 3, 1, 1, 1, 1});
  PairSwapScratch scratch;
  EXPECT_EQ(refine_to_target(p, {20, 100, 0}, scratch), 0);
  // Target 15: one swap per pack above it, each with the coldest pack.
  EXPECT_GT(refine_to_target(p, {15, 100, 0}, scratch), 0);
  EXPECT_LE(p.load[p.hottest()], 15);
  EXPECT_EQ(count_duplicates(p), 0);
}

TEST(RefineToTarget, NeverRaisesTheHottestPackNorAddsDuplicates) {
  // Key 0 on every pack: swapping it anywhere would duplicate it; no other swap lowers 9.
  Packing p = make_packing(3, 2, {0, 1, 0, 2, 0, 3}, {5, 4, 5, 1, 5, 0});
  PairSwapScratch scratch;
  const double before = p.load[p.hottest()];
  refine_to_target(p, {0, 100, 4}, scratch);
  EXPECT_LE(p.load[p.hottest()], before);
  EXPECT_EQ(count_duplicates(p), 0);
}

TEST(RefineToTarget, UsesPairSwapsWhenSingleSwapsAreStuck) {
  // {9, 8, 2, 1} = 20 and {6, 5, 4, 3} = 18: no single swap helps; {9, 1} for {6, 3} does.
  Packing p = make_packing(2, 4, {0, 1, 2, 3, 4, 5, 6, 7}, {9, 8, 2, 1, 6, 5, 4, 3});
  PairSwapScratch scratch;
  EXPECT_EQ(refine_to_target(p, {19, 100, 0}, scratch), 0);
  EXPECT_DOUBLE_EQ(p.load[p.hottest()], 20);
  EXPECT_EQ(refine_to_target(p, {19, 100, 1}, scratch), 1);
  EXPECT_DOUBLE_EQ(p.load[p.hottest()], 19);
}

}  // namespace
}  // namespace eplb::planner
