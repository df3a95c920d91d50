// Toy world (as in replica_table_test.cc): 2 ranks x 3 slots, 4 logical experts.
//   slot     0  1  2 | 3  4  5      (rank 0 | rank 1)
//   phy2log  0  1  2 | 0  3  0      expert 0 has replicas at slots 0, 3, 5
// Round robin picks replica (token_idx + k_idx + seed) mod replica_count.
#include "eplb/token_router.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "eplb/error.h"
#include "routing/route_rule.h"

namespace eplb {
namespace {

const std::vector<int32_t> kPhy2Log = {0, 1, 2, 0, 3, 0};

std::vector<int32_t> route(const std::vector<int32_t>& topk_ids, int k, const ReplicaTable& table,
                           RoutePolicy policy, int local_rank = -1, uint64_t seed = 0) {
  std::vector<int32_t> slots(topk_ids.size(), -2);
  route_tokens(topk_ids, k, table, policy, local_rank, seed, slots);
  return slots;
}

// 5 tokens x k = 2, with a dropped choice (-1) and an id past the end (7).
const std::vector<int32_t> kTopkIds = {0, 1, 0, 3, 2, 0, 0, -1, 7, 0};

TEST(RouteTokens, RoundRobinExactOnToyWorld) {
  const ReplicaTable table = build_replica_table(kPhy2Log, 4, 3);
  // Expert 0 entries: (t0,k0) -> 0 % 3 = 0: slot 0; (t1,k0) -> 1: slot 3; (t2,k1) -> 3 % 3 = 0:
  // slot 0; (t3,k0) -> 0: slot 0; (t4,k1) -> 5 % 3 = 2: slot 5.
  EXPECT_EQ(route(kTopkIds, 2, table, RoutePolicy::kRoundRobin),
            (std::vector<int32_t>{0, 1, 3, 4, 2, 0, 0, -1, -1, 5}));
  // The seed shifts every rotation by one.
  EXPECT_EQ(route(kTopkIds, 2, table, RoutePolicy::kRoundRobin, -1, 1),
            (std::vector<int32_t>{3, 1, 5, 4, 2, 3, 3, -1, -1, 0}));
}

TEST(RouteTokens, LocalFirstPrefersTheLowestLocalReplica) {
  const ReplicaTable table = build_replica_table(kPhy2Log, 4, 3);
  // Rank 1 holds expert 0 at slots 3 and 5 (3 wins) and expert 3; experts 1, 2 are remote there
  // and fall back to round robin (single replicas).
  EXPECT_EQ(route(kTopkIds, 2, table, RoutePolicy::kLocalFirst, 1),
            (std::vector<int32_t>{3, 1, 3, 4, 2, 3, 3, -1, -1, 3}));
  EXPECT_EQ(route(kTopkIds, 2, table, RoutePolicy::kLocalFirst, 0),
            (std::vector<int32_t>{0, 1, 0, 4, 2, 0, 0, -1, -1, 0}));
  // A rank with no slots: plain round robin.
  EXPECT_EQ(route(kTopkIds, 2, table, RoutePolicy::kLocalFirst, 5),
            route(kTopkIds, 2, table, RoutePolicy::kRoundRobin));
}

TEST(RouteTokens, InvalidIdsAndExpertsWithoutReplicaMapToMinusOne) {
  const std::vector<int32_t> phy2log = {0, -1, 2, 0};  // expert 1 has no replica
  const ReplicaTable table = build_replica_table(phy2log, 3, 2);
  const std::vector<int32_t> topk_ids = {1, -1, 3, 2147483647, -2147483647 - 1, 2};
  for (RoutePolicy policy :
       {RoutePolicy::kRoundRobin, RoutePolicy::kLocalFirst, RoutePolicy::kWeighted}) {
    EXPECT_EQ(route(topk_ids, 3, table, policy, 0), (std::vector<int32_t>{-1, -1, -1, -1, -1, 2}))
        << route_policy_name(policy);
  }
}

TEST(RouteTokens, RoundRobinSpreadsExactlyEvenlyOverTheBatch) {
  const ReplicaTable table = build_replica_table(kPhy2Log, 4, 3);
  std::vector<int32_t> topk_ids(3000, 0);  // 3000 tokens x k = 1, all to expert 0
  std::array<int, 6> per_slot{};
  for (int32_t slot : route(topk_ids, 1, table, RoutePolicy::kRoundRobin)) ++per_slot[slot];
  EXPECT_EQ(per_slot, (std::array<int, 6>{1000, 0, 0, 1000, 0, 1000}));
}

// Regression: with replica = (token_idx * k + k_idx) mod r, an expert always chosen at the same
// top-k position never rotates when r divides k. 8 replicas, k = 8, expert 0 always at k_idx 0.
TEST(RouteTokens, RoundRobinRotatesWhenReplicaCountDividesK) {
  std::vector<int32_t> phy2log(16);
  for (int s = 0; s < 16; ++s) phy2log[s] = s < 8 ? 0 : s - 7;  // expert 0 on slots 0..7
  const ReplicaTable table = build_replica_table(phy2log, 9, 4);
  const int num_tokens = 800;
  std::vector<int32_t> topk_ids;
  for (int t = 0; t < num_tokens; ++t) {
    for (int j = 0; j < 8; ++j) topk_ids.push_back(j == 0 ? 0 : j);
  }
  std::array<int, 8> per_replica{};
  const std::vector<int32_t> slots = route(topk_ids, 8, table, RoutePolicy::kRoundRobin);
  for (int t = 0; t < num_tokens; ++t) ++per_replica[slots[static_cast<size_t>(t) * 8]];
  for (int count : per_replica) EXPECT_EQ(count, num_tokens / 8);
}

TEST(RouteTokens, WeightedSharesConvergeToRoutingWeights) {
  const std::vector<double> weight = {0.5, 1, 1, 0.2, 1, 0.3};  // expert 0: 50% / 20% / 30%
  const ReplicaTable table = build_replica_table(kPhy2Log, 4, 3, weight);
  const int num_tokens = 200000;
  std::vector<int32_t> topk_ids(static_cast<size_t>(num_tokens) * 2);
  for (size_t i = 0; i < topk_ids.size(); ++i) topk_ids[i] = i % 2 == 0 ? 0 : 3;
  std::array<double, 6> per_slot{};
  for (int32_t slot : route(topk_ids, 2, table, RoutePolicy::kWeighted, -1, 42)) ++per_slot[slot];
  // Binomial standard deviation at n = 2e5 is ~0.0011; 5 sigma.
  EXPECT_NEAR(per_slot[0] / num_tokens, 0.5, 0.0056);
  EXPECT_NEAR(per_slot[3] / num_tokens, 0.2, 0.0045);
  EXPECT_NEAR(per_slot[5] / num_tokens, 0.3, 0.0052);
  EXPECT_EQ(per_slot[4], num_tokens);
}

TEST(RouteTokens, WeightedNeverPicksAZeroShareReplica) {
  const std::vector<double> weight = {0.5, 1, 1, 0, 1, 0.5};
  const ReplicaTable table = build_replica_table(kPhy2Log, 4, 3, weight);
  const std::vector<int32_t> topk_ids(50000, 0);
  for (int32_t slot : route(topk_ids, 1, table, RoutePolicy::kWeighted, -1, 7)) {
    EXPECT_NE(slot, 3);
  }
}

TEST(RouteTokens, DeterministicPerSeedAndSeedsDiffer) {
  const ReplicaTable table = build_replica_table(kPhy2Log, 4, 3);
  const std::vector<int32_t> topk_ids(1000, 0);
  const auto a = route(topk_ids, 1, table, RoutePolicy::kWeighted, -1, 1);
  EXPECT_EQ(a, route(topk_ids, 1, table, RoutePolicy::kWeighted, -1, 1));
  EXPECT_NE(a, route(topk_ids, 1, table, RoutePolicy::kWeighted, -1, 2));
  // An entry's slot depends on its (token_idx, k_idx), not on the batch it came in.
  const std::vector<int32_t> prefix(topk_ids.begin(), topk_ids.begin() + 10);
  const auto b = route(prefix, 1, table, RoutePolicy::kWeighted, -1, 1);
  EXPECT_EQ(b, std::vector<int32_t>(a.begin(), a.begin() + 10));
}

TEST(RouteTokens, EmptyBatch) {
  const ReplicaTable table = build_replica_table(kPhy2Log, 4, 3);
  EXPECT_TRUE(route({}, 8, table, RoutePolicy::kWeighted).empty());
}

TEST(RouteTokens, RejectsShapeMismatch) {
  const ReplicaTable table = build_replica_table(kPhy2Log, 4, 3);
  std::vector<int32_t> slots(3);
  EXPECT_THROW(
      route_tokens(std::vector<int32_t>{0, 1, 2}, 2, table, RoutePolicy::kRoundRobin, 0, 0, slots),
      Error);
  EXPECT_THROW(
      route_tokens(std::vector<int32_t>{0, 1}, 2, table, RoutePolicy::kRoundRobin, 0, 0, slots),
      Error);
  EXPECT_THROW(route_tokens(std::vector<int32_t>{}, 0, table, RoutePolicy::kRoundRobin, 0, 0,
                            std::span<int32_t>{}),
               Error);
}

// The hash is splitmix64: its finalizer at state kGolden is splitmix64's first output for seed 0.
TEST(RouteHash, IsSplitmix64AndPinned) {
  EXPECT_EQ(detail::mix64(detail::kGolden), 0xE220A8397B1DCDAFull);
  // Pinned: changing the hash changes every weighted routing decision ever logged.
  EXPECT_EQ(detail::route_hash(0, 0, 0), 0xA706DD2F4D197E6Full);
  EXPECT_EQ(detail::route_hash(42, 7, 3), 0x51B7C3520AC7A93Full);
  EXPECT_EQ(detail::route_hash(~uint64_t{0}, uint64_t{1} << 40, 7), 0x2256809CE5D8B350ull);
  EXPECT_EQ(detail::route_uniform(0), 0.0f);
  EXPECT_EQ(detail::route_uniform(~uint64_t{0}), 1.0f - 1.0f / 16777216.0f);
}

// Invariants over random placements: a valid id lands on a slot holding that logical expert,
// an invalid one on -1; local-first stays local whenever a local replica exists.
RC_GTEST_PROP(RouteTokensProperty, SlotsHoldTheirLogicalExpert, ()) {
  const int num_ranks = *rc::gen::inRange(1, 5);
  const int slots_per_rank = *rc::gen::inRange(1, 5);
  const int num_slots = num_ranks * slots_per_rank;
  const int num_experts = *rc::gen::inRange(1, num_slots + 1);
  const auto phy2log = *rc::gen::container<std::vector<int32_t>>(static_cast<size_t>(num_slots),
                                                                 rc::gen::inRange(-1, num_experts));
  const ReplicaTable table = build_replica_table(phy2log, num_experts, slots_per_rank);
  const int k = *rc::gen::inRange(1, 9);
  const int num_tokens = *rc::gen::inRange(0, 20);
  const auto topk_ids = *rc::gen::container<std::vector<int32_t>>(
      static_cast<size_t>(num_tokens * k), rc::gen::inRange(-2, num_experts + 2));
  const auto policy = static_cast<RoutePolicy>(*rc::gen::inRange(0, 3));
  const int local_rank = *rc::gen::inRange(-1, num_ranks + 1);
  const auto seed = *rc::gen::arbitrary<uint64_t>();
  const auto slots = route(topk_ids, k, table, policy, local_rank, seed);
  for (size_t i = 0; i < topk_ids.size(); ++i) {
    const int32_t e = topk_ids[i];
    if (e < 0 || e >= num_experts || table.replica_count(e) == 0) {
      RC_ASSERT(slots[i] == -1);
      continue;
    }
    RC_ASSERT(slots[i] >= 0 && slots[i] < num_slots);
    RC_ASSERT(phy2log[static_cast<size_t>(slots[i])] == e);
    if (policy == RoutePolicy::kLocalFirst) {
      bool has_local = false;
      for (int r = table.offset[e]; r < table.offset[e + 1]; ++r) {
        has_local = has_local || table.slot_rank(table.slot[r]) == local_rank;
      }
      RC_ASSERT(!has_local || table.slot_rank(slots[i]) == local_rank);
    }
  }
}

}  // namespace
}  // namespace eplb
