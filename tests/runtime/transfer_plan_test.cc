// Transfer plans. Toy world: 4 ranks x 2 slots on 2 nodes (ranks 0-1 | 2-3), 4 experts.
//   slot      0 1 | 2 3 || 4 5 | 6 7
//   old       0 1 | 2 3 || 0 1 | 2 3
#include "eplb/runtime/transfer_plan.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <vector>

#include "eplb/error.h"

namespace eplb {
namespace {

const std::vector<int32_t> kOld = {0, 1, 2, 3, 0, 1, 2, 3};
const TransferPlanOptions kToy{4, 2};

TEST(TransferPlan, PrefersLocalThenSameNodeThenLeastBusy) {
  // slot 1 <- expert 0: rank 0 holds it in slot 0 (local).
  // slot 3 <- expert 0: rank 1 has none; rank 0 (same node) holds it: slot 0.
  // slot 6 <- expert 1: rank 3 has none; rank 2 (same node) holds it: slot 5.
  // slot 7 <- expert 1: rank 2's slot 5 again (same node beats the idle rank 0).
  const std::vector<int32_t> next = {0, 0, 2, 0, 0, 1, 1, 1};
  const LayerTransferPlan plan = plan_layer_transfers(7, kOld, next, kToy);
  EXPECT_EQ(plan.layer_idx, 7);
  ASSERT_EQ(plan.copies.size(), 4U);
  auto copy = [&](size_t i) {
    const SlotCopy& c = plan.copies[i];
    return std::vector<int32_t>{c.expert_idx, c.src_slot, c.dst_slot, c.src_rank, c.dst_rank};
  };
  EXPECT_EQ(copy(0), (std::vector<int32_t>{0, 0, 1, 0, 0}));
  EXPECT_EQ(copy(1), (std::vector<int32_t>{0, 0, 3, 0, 1}));
  EXPECT_EQ(copy(2), (std::vector<int32_t>{1, 5, 6, 2, 3}));
  EXPECT_EQ(copy(3), (std::vector<int32_t>{1, 5, 7, 2, 3}));
  EXPECT_EQ(plan.locals[0], (std::vector<int32_t>{0}));
  EXPECT_EQ(plan.sends[0], (std::vector<int32_t>{1}));
  EXPECT_EQ(plan.recvs[1], (std::vector<int32_t>{1}));
  EXPECT_EQ(plan.sends[2], (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(plan.recvs[3], (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(plan.num_remote_copies(), 3);
}

TEST(TransferPlan, SpreadsSendsOverHolders) {
  // One node; expert 0 held on ranks 0 and 2, wanted in four slots of ranks 1 and 3.
  const std::vector<int32_t> old = {0, 1, 2, 3, 0, 1, 2, 3};
  const std::vector<int32_t> next = {0, 1, 0, 0, 0, 1, 0, 0};
  const LayerTransferPlan plan = plan_layer_transfers(0, old, next, {4, 1});
  ASSERT_EQ(plan.copies.size(), 4U);
  EXPECT_EQ(plan.sends[0].size(), 2U);
  EXPECT_EQ(plan.sends[2].size(), 2U);
}

TEST(TransferPlan, UnchangedLayerHasNoCopies) {
  EXPECT_TRUE(plan_layer_transfers(0, kOld, kOld, kToy).empty());
  // Empty slots in the new placement are never copied to.
  std::vector<int32_t> next = kOld;
  next[3] = -1;
  EXPECT_TRUE(plan_layer_transfers(0, kOld, next, kToy).empty());
}

TEST(TransferPlan, Errors) {
  const std::vector<int32_t> short_row = {0, 1};
  EXPECT_THROW(plan_layer_transfers(0, kOld, short_row, kToy), Error);
  EXPECT_THROW(plan_layer_transfers(0, kOld, kOld, {3, 1}), Error);
  EXPECT_THROW(plan_layer_transfers(0, kOld, kOld, {4, 3}), Error);
  std::vector<int32_t> next = kOld;
  next[0] = 5;  // no old slot holds expert 5
  try {
    plan_layer_transfers(2, kOld, next, kToy);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "plan_layer_transfers: layer 2: new phy2log[0]: expert 5 is in no slot of the "
                 "old placement (no source to copy from)");
  }
}

TEST(TransferPlan, ExcludedRanksAreNeverSourcesAndMissingHoldersBecomeLoads) {
  // Rank 0 masked: slot 2 <- expert 0 from slot 4 (rank 2), not slot 0 (same node, masked);
  // slot 3 <- expert 1 from slot 5, not slot 1.
  TransferSources sources{{0}, false};
  const std::vector<int32_t> next = {0, 1, 0, 1, 0, 1, 2, 3};
  LayerTransferPlan plan = plan_layer_transfers(1, kOld, next, kToy, sources);
  ASSERT_EQ(plan.copies.size(), 2U);
  EXPECT_EQ(plan.copies[0].src_slot, 4);
  EXPECT_EQ(plan.copies[1].src_slot, 5);
  EXPECT_EQ(plan.num_loads(), 0);
  // Ranks 0 and 2 masked: expert 0 has no usable holder. Without load_missing an error naming
  // it, with load_missing a load on the destination rank.
  sources.excluded_ranks = {0, 2};
  const std::vector<int32_t> want0 = {0, 1, 2, 0, 0, 1, 2, 3};  // slot 3 <- expert 0
  EXPECT_THROW(plan_layer_transfers(1, kOld, want0, kToy, sources), Error);
  sources.load_missing = true;
  plan = plan_layer_transfers(1, kOld, want0, kToy, sources);
  ASSERT_EQ(plan.copies.size(), 1U);
  EXPECT_TRUE(plan.copies[0].is_load());
  EXPECT_EQ(plan.copies[0].src_rank, -1);
  EXPECT_EQ(plan.loads[1], (std::vector<int32_t>{0}));
  EXPECT_TRUE(plan.sends[0].empty() && plan.recvs[1].empty());
  EXPECT_EQ(plan.num_remote_copies(), 0);
  EXPECT_EQ(plan.num_loads(), 1);
}

// Random worlds: every copy reads a slot holding its expert, every changed slot gets exactly
// one copy, no source of a better tier existed, and the per-rank lists partition the copies.
RC_GTEST_PROP(TransferPlan, CopiesTurnOldIntoNew, ()) {
  const int num_nodes = *rc::gen::inRange(1, 3);
  const int num_ranks = num_nodes * *rc::gen::inRange(1, 4);
  const int slots_per_rank = *rc::gen::inRange(1, 4);
  const int num_slots = num_ranks * slots_per_rank;
  const int num_experts = *rc::gen::inRange(1, num_slots + 1);
  auto gen_row = [&] {
    std::vector<int32_t> row(static_cast<size_t>(num_slots));
    for (int s = 0; s < num_slots; ++s) {
      row[static_cast<size_t>(s)] = s < num_experts ? s : *rc::gen::inRange(0, num_experts);
    }
    return row;
  };
  std::vector<int32_t> old = gen_row();
  std::vector<int32_t> next = gen_row();
  // Shuffle slot contents so experts sit anywhere.
  for (int s = num_slots - 1; s > 0; --s) {
    std::swap(old[static_cast<size_t>(s)], old[static_cast<size_t>(*rc::gen::inRange(0, s + 1))]);
    std::swap(next[static_cast<size_t>(s)], next[static_cast<size_t>(*rc::gen::inRange(0, s + 1))]);
  }
  const LayerTransferPlan plan = plan_layer_transfers(0, old, next, {num_ranks, num_nodes});
  const int ranks_per_node = num_ranks / num_nodes;
  std::vector<int32_t> result = old;
  int changed = 0;
  for (size_t s = 0; s < old.size(); ++s) changed += old[s] != next[s] ? 1 : 0;
  RC_ASSERT(static_cast<int>(plan.copies.size()) == changed);
  size_t listed = 0;
  for (int r = 0; r < num_ranks; ++r) {
    const size_t ri = static_cast<size_t>(r);
    listed += plan.sends[ri].size() + plan.locals[ri].size();
  }
  RC_ASSERT(listed == plan.copies.size());
  for (const SlotCopy& c : plan.copies) {
    RC_ASSERT(old[static_cast<size_t>(c.src_slot)] == c.expert_idx);
    RC_ASSERT(next[static_cast<size_t>(c.dst_slot)] == c.expert_idx);
    RC_ASSERT(c.src_rank == c.src_slot / slots_per_rank);
    RC_ASSERT(c.dst_rank == c.dst_slot / slots_per_rank);
    result[static_cast<size_t>(c.dst_slot)] = old[static_cast<size_t>(c.src_slot)];
    // No better tier: a local holder means a local copy; a same-node holder a same-node one.
    bool local_holder = false, node_holder = false;
    for (int s = 0; s < num_slots; ++s) {
      if (old[static_cast<size_t>(s)] != c.expert_idx) continue;
      local_holder = local_holder || s / slots_per_rank == c.dst_rank;
      node_holder =
          node_holder || s / slots_per_rank / ranks_per_node == c.dst_rank / ranks_per_node;
    }
    if (local_holder) RC_ASSERT(c.is_local());
    if (node_holder) RC_ASSERT(c.src_rank / ranks_per_node == c.dst_rank / ranks_per_node);
  }
  RC_ASSERT(result == next);
}

}  // namespace
}  // namespace eplb
