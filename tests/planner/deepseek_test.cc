// Golden tests of policy `deepseek` against DeepSeek's EPLB (deepseek-ai/EPLB, eplb.py).
//
// Toy world of their README: 2 layers x 12 experts in 4 groups, 16 slots on 8 ranks
// (2 slots per rank) over 2 nodes.
#include "planner/deepseek.h"

#include <gtest/gtest.h>

#include <vector>

#include "eplb/planner.h"

namespace eplb {
namespace {

std::vector<int32_t> plan_rows(const std::vector<std::vector<double>>& rows,
                               const PlanOptions& options) {
  planner::DeepSeekPlanner planner;
  std::vector<int32_t> out;
  for (const auto& row : rows) {
    std::vector<int32_t> phy2log(static_cast<size_t>(options.num_slots), -1);
    planner.plan(row, options, phy2log);
    out.insert(out.end(), phy2log.begin(), phy2log.end());
  }
  return out;
}

TEST(DeepSeek, ReproducesTheReadmeExample) {
  const std::vector<std::vector<double>> weight = {
      {90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86},
      {20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27}};
  PlanOptions options;
  options.num_slots = 16;
  options.num_groups = 4;
  options.num_nodes = 2;
  options.num_ranks = 8;
  options.policy = Policy::kDeepSeek;
  EXPECT_EQ(plan_rows(weight, options),
            (std::vector<int32_t>{5, 6,  5, 7, 8, 4,  3, 4, 10, 9, 10, 2, 0, 1, 11, 1,  //
                                  7, 10, 6, 8, 6, 11, 8, 9, 2,  4, 5,  1, 5, 0, 3,  1}));
}

PlanOptions deepseek(int slots, int ranks, int nodes = 1, int groups = 1) {
  PlanOptions o;
  o.num_slots = slots;
  o.num_ranks = ranks;
  o.num_nodes = nodes;
  o.num_groups = groups;
  o.policy = Policy::kDeepSeek;
  return o;
}

// Traced by hand through eplb.py, global (1 group, 1 node): 4 experts {10, 40, 25, 5}, 6 slots
// on 2 ranks.
//   replicate: 40 is the largest -> expert 1 (now 20 per replica); then 25 -> expert 2.
//              phy2mlog = [0 1 2 3 1 2], per replica [10 20 12.5 5 20 12.5]
//   packing (sorted 20 20 12.5 12.5 10 5): phy1 -> rank 0, phy4 -> rank 1 (0 < 20),
//              phy2 -> rank 0 (20 = 20: first), phy5 -> rank 1, phy0 -> rank 0 (32.5 = 32.5),
//              phy3 -> rank 1 (rank 0 full)
// The only ties are between replicas of one expert, which do not change phy2log.
TEST(DeepSeek, HandTracedGlobalExample) {
  EXPECT_EQ(plan_rows({{10, 40, 25, 5}}, deepseek(6, 2)), (std::vector<int32_t>{1, 2, 0, 1, 2, 3}));
}

// The cases below are tie-free random inputs whose expected phy2log came from running
// eplb.py's algorithm under torch 2.11 (CPU), float32 as in rebalance_experts().
TEST(DeepSeek, MatchesTorchGlobal) {
  EXPECT_EQ(plan_rows({{928719, 515764, 301866, 850390, 960539, 833593, 173132, 719464, 826678},
                       {756107, 975788, 231869, 68699, 873502, 367943, 640098, 792912, 264473}},
                      deepseek(16, 4)),
            (std::vector<int32_t>{4, 5, 7, 2, 4, 5, 7, 1, 0, 3, 8, 1, 0, 3, 8, 6,  //
                                  7, 1, 6, 3, 7, 1, 4, 4, 0, 5, 4, 2, 0, 1, 6, 8}));
}

TEST(DeepSeek, MatchesTorchHierarchicalOneNodeOrdersGroupsByLoad) {
  EXPECT_EQ(plan_rows({{810234, 172570, 736877, 136830, 904570, 326486, 342943, 418783, 238310,
                        999556, 154306, 343157},
                       {360883, 936024, 933054, 21608, 33181, 490081, 496489, 157479, 28503, 62956,
                        880357, 304684}},
                      deepseek(24, 4, 1, 2)),
            (std::vector<int32_t>{
                5,  9, 2, 7, 7, 3, 4,  0, 9, 2, 11, 6, 4,  0, 9, 2, 11, 10, 4, 0, 9, 8, 1, 6,  //
                10, 5, 1, 0, 0, 4, 10, 5, 2, 2, 11, 3, 10, 1, 1, 2, 11, 8,  6, 6, 1, 2, 7, 9}));
}

TEST(DeepSeek, MatchesTorchHierarchicalTwoNodes) {
  EXPECT_EQ(plan_rows({{804066, 221247, 565825, 445213, 695355, 292135, 765384, 407310, 600102,
                        644327, 713202, 205012},
                       {202818, 556787, 192943, 570600, 458392, 295831, 882047, 544447, 234677,
                        784323, 816546, 673546}},
                      deepseek(20, 4, 2, 6)),
            (std::vector<int32_t>{3, 9, 8, 2, 11, 10, 10, 9, 8, 2, 0, 6, 4, 5, 7, 0, 6, 4, 1, 7,
                                  //
                                  10, 11, 3, 1, 0, 10, 11, 3, 1, 2, 6, 9, 5, 8, 4, 6, 9, 7, 7, 4}));
}

TEST(DeepSeek, MatchesTorchWhenGroupsDoNotSplitOverNodes) {
  // 3 groups on 2 nodes: eplb.py falls back to the global policy.
  EXPECT_EQ(plan_rows({{918952, 668801, 568634, 898991, 251780, 398286, 745640, 621201, 521652,
                        219779, 229921, 928224},
                       {19924, 689185, 934166, 770806, 543711, 984003, 542987, 144842, 654535,
                        476478, 655657, 763499}},
                      deepseek(24, 6, 2, 3)),
            (std::vector<int32_t>{
                6, 0,  2, 5, 6, 0, 8, 9, 1,  11, 2, 10, 1,  0,  3, 5, 7, 11, 3, 8, 7, 11, 3, 4,  //
                3, 10, 4, 9, 3, 8, 4, 6, 11, 5,  2, 0,  11, 10, 2, 7, 1, 5,  8, 9, 1, 5,  2, 6}));
}

TEST(BalancedPacking, FirstLeastLoadedPackWithRoom) {
  // 4 items into 2 packs of 2: 7 -> 0, 5 -> 1, 4 -> 1 (5 < 7), 1 -> 0 (pack 1 full).
  const std::vector<float> weight = {1, 7, 4, 5};
  std::vector<int32_t> pack(4);
  std::vector<int32_t> rank(4);
  planner::PackingScratch scratch;
  planner::balanced_packing(weight, 2, pack, rank, scratch);
  EXPECT_EQ(pack, (std::vector<int32_t>{0, 0, 1, 1}));
  EXPECT_EQ(rank, (std::vector<int32_t>{1, 0, 1, 0}));
}

TEST(BalancedPacking, OneItemPerPackIsTheIdentity) {
  const std::vector<float> weight = {1, 7, 4};
  std::vector<int32_t> pack(3);
  std::vector<int32_t> rank(3);
  planner::PackingScratch scratch;
  planner::balanced_packing(weight, 3, pack, rank, scratch);
  EXPECT_EQ(pack, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(rank, (std::vector<int32_t>{0, 0, 0}));
}

TEST(BalancedPacking, AccumulatesInFloat32) {
  // 2^24 + 1 is not a float: pack 0 holds 2^24 after adding 1 to it, and ties pack 1's 2^24,
  // so the next item goes to pack 0 (the first of least weight), as in eplb.py.
  const float big = 16777216.0f;  // 2^24
  const std::vector<float> weight = {big, big, 1, 1, 0.5f, 0.25f};
  std::vector<int32_t> pack(6);
  std::vector<int32_t> rank(6);
  planner::PackingScratch scratch;
  planner::balanced_packing(weight, 2, pack, rank, scratch);
  // big -> 0, big -> 1, 1 -> 0 (2^24 + 1 rounds to 2^24), 1 -> 0, then 0.5 -> 1, 0.25 -> 1.
  EXPECT_EQ(pack, (std::vector<int32_t>{0, 1, 0, 0, 1, 1}));
}

}  // namespace
}  // namespace eplb
