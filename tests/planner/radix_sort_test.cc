// Radix sort and the small argmin of the packing loops, against std::sort / std::min_element.
#include "planner/radix_sort.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <numeric>
#include <random>
#include <vector>

#include "planner/small_argmin.h"
#include "planner/winner_tree.h"

namespace eplb::planner {
namespace {

std::vector<int32_t> reference_order(const std::vector<uint32_t>& key) {
  std::vector<int32_t> order(key.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return key[static_cast<size_t>(a)] > key[static_cast<size_t>(b)];
  });
  return order;
}

TEST(RadixSort, DescendingWithTiesByIndex) {
  const std::vector<uint32_t> key = {5, 9, 5, 0, 9, 1};
  std::vector<int32_t> order(key.size());
  RadixScratch scratch;
  radix_sort_descending(key, order, scratch);
  EXPECT_EQ(order, (std::vector<int32_t>{1, 4, 0, 2, 5, 3}));
}

TEST(RadixSort, MatchesAStableSortOnRandomAndCrowdedKeys) {
  // Float weights (top bits spread), keys crowded in their top 16 bits (the insertion pass
  // gives up and sorts the low bits too), and many ties.
  std::mt19937 rng(3);
  RadixScratch scratch;
  for (int round = 0; round < 200; ++round) {
    std::vector<uint32_t> key(static_cast<size_t>(1 + rng() % 600));
    for (auto& k : key) {
      switch (round % 3) {
        case 0: k = order_bits(static_cast<float>(rng() % 100000) / 7.0f); break;
        case 1: k = 0x40000000u | (rng() & 0xffffu); break;
        default: k = rng() % 4; break;
      }
    }
    std::vector<int32_t> order(key.size());
    radix_sort_descending(key, order, scratch);
    ASSERT_EQ(order, reference_order(key)) << "round " << round;
  }
}

TEST(SmallArgmin, LeastKeyWithTiesToTheLowestIndex) {
  SmallArgmin argmin;
  int64_t least = argmin.reset(20);
  EXPECT_EQ(argmin_index(least), 0);  // all zero: the first
  least = argmin.set(0, argmin_key(order_bits(3.0f), 0));
  EXPECT_EQ(argmin_index(least), 1);
  for (int32_t i = 1; i < 20; ++i) least = argmin.set(i, argmin_key(order_bits(2.0f), i));
  EXPECT_EQ(argmin_index(least), 1);
  least = argmin.set(1, SmallArgmin::kOut);
  EXPECT_EQ(argmin_index(least), 2);
  least = argmin.set(17, argmin_key(order_bits(1.0f), 17));
  EXPECT_EQ(argmin_index(least), 17);
  EXPECT_EQ(std::bit_cast<float>(argmin_value_bits(least)), 1.0f);
}

}  // namespace
}  // namespace eplb::planner
