// Toy world: 2 layers, 4 experts, 6 slots on 2 ranks (3 slots per rank).
#include "eplb/placement.h"

#include <gtest/gtest.h>

#include "eplb/error.h"

namespace eplb {
namespace {

TEST(Placement, ContiguousHoldsExpertSlotModExperts) {
  const Placement p = Placement::contiguous(2, 4, 2, 6);
  EXPECT_EQ(p.slots_per_rank(), 3);
  EXPECT_EQ(std::vector<int32_t>(p.layer_phy2log(1).begin(), p.layer_phy2log(1).end()),
            (std::vector<int32_t>{0, 1, 2, 3, 0, 1}));
  EXPECT_EQ(p.layer_ids, (std::vector<int>{0, 1}));
  EXPECT_EQ(p.rank_of_slot(3), 1);
  EXPECT_EQ(p.replica_count(0), (std::vector<int>{2, 2, 1, 1}));
  EXPECT_TRUE(check_placement(p).empty());
}

TEST(Placement, Log2PhyListsSlotsAscendingPadded) {
  const Placement p = Placement::contiguous(1, 4, 2, 6);
  int width = 0;
  const std::vector<int32_t> table = p.log2phy(0, &width);
  EXPECT_EQ(width, 2);
  EXPECT_EQ(table, (std::vector<int32_t>{0, 4, 1, 5, 2, -1, 3, -1}));
}

TEST(Placement, Log2PhyLeavesOutZeroShareSlots) {
  // 2 ranks x 3 slots, 4 experts, rank 1 excluded: its slots 3..5 have share 0.
  Placement p = Placement::contiguous(1, 4, 2, 6);  // phy2log 0 1 2 | 3 0 1
  p.routing_weight = {1, 1, 1, 0, 0, 0};
  int width = 0;
  const std::vector<int32_t> table = p.log2phy(0, &width);
  EXPECT_EQ(width, 1);
  EXPECT_EQ(table, (std::vector<int32_t>{0, 1, 2, -1}));  // expert 3: not served
  EXPECT_TRUE(check_placement(p).empty());
}

TEST(PlacementCheck, ReportsEachProblemWithItsLocation) {
  Placement p = Placement::contiguous(2, 4, 2, 6, {3, 3});
  p.layer_phy2log(1)[2] = 9;   // out of range; expert 2 then has no replica in layer 1
  const auto problems = check_placement(p);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0], "layer_ids[1]: layer id 3 appears twice");
  EXPECT_EQ(problems[1], "phy2log[1][2]: expert 9 out of range [0, 4)");
  EXPECT_EQ(problems[2], "phy2log[1] (layer 3): expert 2 has no replica");
  EXPECT_THROW(validate_placement(p, "p.json"), Error);
}

TEST(PlacementCheck, RoutingWeightsMustSumToOnePerExpert) {
  Placement p = Placement::contiguous(1, 4, 2, 6);
  p.routing_weight = {0.5, 0.5, 1, 0.9, 0.25, 0.5};
  const auto problems = check_placement(p);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0], "routing_weight[0]: shares of expert 0 sum to 0.750000, not 1");
}

TEST(PlacementCheck, SlotsNotDivisibleByRanks) {
  Placement p = Placement::contiguous(1, 4, 2, 6);
  p.num_ranks = 4;
  EXPECT_EQ(check_placement(p).at(0), "num_slots: 6 slots cannot be split equally over 4 ranks");
}

TEST(Placement, CountMovedSlots) {
  const Placement a = Placement::contiguous(2, 4, 2, 6);
  Placement b = a;
  b.layer_phy2log(0)[4] = 3;
  b.layer_phy2log(1)[5] = 2;
  EXPECT_EQ(count_moved_slots(a, b), 2);
  EXPECT_THROW(count_moved_slots(a, Placement::contiguous(2, 4, 2, 8)), Error);
}

}  // namespace
}  // namespace eplb

namespace eplb {
namespace {

TEST(AlignLayers, ById) {
  Placement p = Placement::contiguous(3, 4, 2, 6, {3, 4, 5});
  p.layer_phy2log(2)[5] = 3;
  const Placement a = align_layers(p, {5, 3}, "p.json");
  EXPECT_EQ(a.num_layers, 2);
  EXPECT_EQ(a.layer_ids, (std::vector<int>{5, 3}));
  EXPECT_EQ(a.layer_phy2log(0)[5], 3);
  EXPECT_EQ(a.layer_phy2log(1)[5], 1);
}

TEST(AlignLayers, ByRowWhenIdsDifferButCountsAgree) {
  const Placement p = Placement::contiguous(2, 4, 2, 6, {0, 1});
  const Placement a = align_layers(p, {3, 4}, "p.json");
  EXPECT_EQ(a.layer_ids, (std::vector<int>{3, 4}));
  EXPECT_EQ(a.phy2log, p.phy2log);
}

TEST(AlignLayers, MissingLayerNamesIt) {
  const Placement p = Placement::contiguous(2, 4, 2, 6, {3, 4});
  try {
    align_layers(p, {3, 4, 9}, "p.json");
    FAIL() << "expected eplb::Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "p.json: has no layer 9 (its 2 layers do not match the 3 layers of the loads)");
  }
}

}  // namespace
}  // namespace eplb
