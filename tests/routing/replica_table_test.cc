// Toy world: 2 ranks x 3 slots, 4 logical experts; expert 0 is hot and has three replicas.
//   slot     0  1  2 | 3  4  5      (rank 0 | rank 1)
//   phy2log  0  1  2 | 0  3  0
// -> offset [0, 3, 4, 5, 6], slot [0, 3, 5, 1, 2, 4].
#include "eplb/replica_table.h"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

#include "eplb/error.h"
#include "eplb/token_router.h"

namespace eplb {
namespace {

const std::vector<int32_t> kPhy2Log = {0, 1, 2, 0, 3, 0};

TEST(ReplicaTable, GroupsSlotsByExpertAscending) {
  const ReplicaTable table = build_replica_table(kPhy2Log, 4, 3);
  EXPECT_EQ(table.num_experts, 4);
  EXPECT_EQ(table.num_slots, 6);
  EXPECT_EQ(table.offset, (std::vector<int32_t>{0, 3, 4, 5, 6}));
  EXPECT_EQ(table.slot, (std::vector<int32_t>{0, 3, 5, 1, 2, 4}));
  EXPECT_EQ(table.replica_count(0), 3);
  EXPECT_EQ(table.replica_count(3), 1);
  EXPECT_EQ(table.slot_rank(table.slot[1]), 1);
  EXPECT_EQ(table.slot_rank(table.slot[3]), 0);
}

TEST(ReplicaTable, EvenSharesWithoutRoutingWeights) {
  const ReplicaTable table = build_replica_table(kPhy2Log, 4, 3);
  EXPECT_EQ(table.cum_weight, (std::vector<float>{static_cast<float>(1.0 / 3),
                                                  static_cast<float>(2.0 / 3), 1, 1, 1, 1}));
}

TEST(ReplicaTable, RoutingWeightsBecomeNormalisedCumulativeShares) {
  // Expert 0's shares 2 : 1 : 1 (not summing to 1: normalised); the others' single shares.
  const std::vector<double> weight = {2, 1, 1, 1, 1, 1};
  const ReplicaTable table = build_replica_table(kPhy2Log, 4, 3, weight);
  EXPECT_EQ(table.cum_weight, (std::vector<float>{0.5f, 0.75f, 1, 1, 1, 1}));
}

TEST(ReplicaTable, ZeroShareReplicaIsLeftOut) {
  // Slot 3 (rank 1) has share 0: not in expert 0's row, so no route policy can pick it.
  const std::vector<double> weight = {0.5, 1, 1, 0, 1, 0.5};
  const ReplicaTable table = build_replica_table(kPhy2Log, 4, 3, weight);
  EXPECT_EQ(table.offset, (std::vector<int32_t>{0, 2, 3, 4, 5}));
  EXPECT_EQ(table.slot, (std::vector<int32_t>{0, 5, 1, 2, 4}));
  EXPECT_EQ(table.cum_weight[0], 0.5f);
  EXPECT_EQ(table.cum_weight[1], 1.0f);
}

TEST(ReplicaTable, ExpertWithOnlyZeroSharesHasAnEmptyRow) {
  // Rank 1 excluded: expert 3 lives only there, expert 0 keeps its rank-0 replica.
  const std::vector<double> weight = {1, 1, 1, 0, 0, 0};
  const ReplicaTable table = build_replica_table(kPhy2Log, 4, 3, weight);
  EXPECT_EQ(table.offset, (std::vector<int32_t>{0, 1, 2, 3, 3}));
  EXPECT_EQ(table.slot, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(table.replica_count(3), 0);
  for (RoutePolicy policy : {RoutePolicy::kRoundRobin, RoutePolicy::kLocalFirst,
                             RoutePolicy::kWeighted}) {
    std::vector<int32_t> ids = {0, 3, 0, 0, 3, 0};
    std::vector<int32_t> slots(ids.size());
    route_tokens(ids, 2, table, policy, 1, 7, slots);
    EXPECT_EQ(slots, (std::vector<int32_t>{0, -1, 0, 0, -1, 0})) << route_policy_name(policy);
  }
}

TEST(ReplicaTable, EmptySlotsAreLeftOutAndExpertsWithoutReplicaHaveEmptyRows) {
  const std::vector<int32_t> phy2log = {0, -1, 2, 0};  // expert 1 has no replica
  const ReplicaTable table = build_replica_table(phy2log, 3, 2);
  EXPECT_EQ(table.offset, (std::vector<int32_t>{0, 2, 2, 3}));
  EXPECT_EQ(table.slot, (std::vector<int32_t>{0, 3, 2}));
  EXPECT_EQ(table.replica_count(1), 0);
}

TEST(ReplicaTable, NoSlotsGivesAllEmptyRows) {
  const ReplicaTable table = build_replica_table(std::span<const int32_t>{}, 2, 4);
  EXPECT_EQ(table.offset, (std::vector<int32_t>{0, 0, 0}));
  EXPECT_TRUE(table.slot.empty());
}

TEST(ReplicaTable, RejectsBadInputsNamingThePlace) {
  try {
    build_replica_table(std::vector<int32_t>{0, 1, 4, 0}, 4, 2);
    FAIL() << "expected eplb::Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "build_replica_table: phy2log[2]: expert 4 out of range [0, 4)");
  }
  EXPECT_THROW(build_replica_table(kPhy2Log, 4, 4), Error);  // 6 slots over ranks of 4
  EXPECT_THROW(build_replica_table(kPhy2Log, 4, 0), Error);
  EXPECT_THROW(build_replica_table(kPhy2Log, 4, 3, std::vector<double>{1, 1}), Error);
  EXPECT_THROW(build_replica_table(kPhy2Log, 4, 3, std::vector<double>{1, 1, 1, -1, 1, 1}), Error);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(build_replica_table(kPhy2Log, 4, 3, std::vector<double>{nan, 1, 1, 1, 1, 1}), Error);
}

}  // namespace
}  // namespace eplb
