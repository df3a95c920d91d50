// Toy world: 2 ranks x 3 slots, experts 0..4.
#include "planner/keep_current.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace eplb::planner {
namespace {

TEST(KeepCurrentSlots, KeepsEveryExpertThatStaysOnItsRank) {
  std::vector<int32_t> next = {2, 1, 0, 4, 3, 3};
  const std::vector<int32_t> current = {0, 1, 2, 3, 4, 1};
  std::vector<int32_t> count(5, 0);
  std::vector<int32_t> row;
  keep_current_slots(next, current, 3, count, row);
  // Rank 0 holds {0, 1, 2} before and after: nothing moves. Rank 1 keeps 3 and 4 in
  // their slots; the second 3 takes the slot that held 1.
  EXPECT_EQ(next, (std::vector<int32_t>{0, 1, 2, 3, 4, 3}));
  EXPECT_TRUE(std::all_of(count.begin(), count.end(), [](int32_t c) { return c == 0; }));
}

TEST(KeepCurrentSlots, FillsTheOtherSlotsInPlannedOrder) {
  std::vector<int32_t> next = {4, 3, 2};
  const std::vector<int32_t> current = {0, 2, 1};
  std::vector<int32_t> count(5, 0);
  std::vector<int32_t> row;
  keep_current_slots(next, current, 3, count, row);
  EXPECT_EQ(next, (std::vector<int32_t>{4, 2, 3}));
}

TEST(KeepCurrentSlots, KeepsOnlyAsManyCopiesAsPlanned) {
  std::vector<int32_t> next = {1, 0};
  const std::vector<int32_t> current = {0, 0};
  std::vector<int32_t> count(2, 0);
  std::vector<int32_t> row;
  keep_current_slots(next, current, 2, count, row);
  EXPECT_EQ(next, (std::vector<int32_t>{0, 1}));
}

}  // namespace
}  // namespace eplb::planner
