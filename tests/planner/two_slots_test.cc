// Two slots per rank: better replica counts for the pairing.
//
// Toy worlds: 1-40 ranks x 2 slots.
#include "planner/two_slots.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "planner/deepseek.h"
#include "planner/rank_load.h"

namespace eplb::planner {
namespace {

double hottest(const std::vector<double>& loads, const std::vector<int32_t>& phy2log, int ranks) {
  std::vector<int32_t> count;
  std::vector<double> rank_load;
  return max_rank_load(loads, phy2log, ranks, count, rank_load);
}

TEST(ImprovePairs, KeepsAPairingItCannotBeat) {
  // Loads {12, 9, 1, 1} on 3 ranks x 2: DeepSeek pairs the two halves of expert 1 (4.5 + 4.5
  // = 9, with 6 + 1 twice). Moving a replica of expert 0 to expert 1 gives 12 + 1: worse.
  const std::vector<double> loads = {12, 9, 1, 1};
  PlanOptions o;
  o.num_ranks = 3;
  o.num_slots = 6;
  std::vector<int32_t> phy2log(6);
  DeepSeekPlanner deepseek;
  deepseek.plan(loads, o, phy2log);
  const std::vector<int32_t> before = phy2log;
  PairScratch scratch;
  EXPECT_FALSE(improve_pairs(loads, phy2log, 8, scratch));
  EXPECT_EQ(phy2log, before);
  EXPECT_DOUBLE_EQ(hottest(loads, phy2log, 3), 9);
}

TEST(ImprovePairs, NeverHeatsARankNorPairsAnExpertWithItself) {
  std::mt19937 rng(21);
  DeepSeekPlanner deepseek;
  PairScratch scratch;
  int improved = 0;
  for (int round = 0; round < 300; ++round) {
    const int ranks = 2 + static_cast<int>(rng() % 30);
    const int experts = ranks + 1 + static_cast<int>(rng() % ranks);
    std::vector<double> loads(static_cast<size_t>(experts));
    for (auto& v : loads)
      v = std::round(100000.0 / std::pow(1.0 + static_cast<double>(rng() % 50), 1.3));
    PlanOptions o;
    o.num_ranks = ranks;
    o.num_slots = 2 * ranks;
    std::vector<int32_t> phy2log(static_cast<size_t>(2 * ranks));
    deepseek.plan(loads, o, phy2log);
    const double before = hottest(loads, phy2log, ranks);
    const bool changed = improve_pairs(loads, phy2log, 8, scratch);
    improved += changed;
    EXPECT_LE(hottest(loads, phy2log, ranks), before);
    std::vector<int> count(static_cast<size_t>(experts), 0);
    for (size_t s = 0; s < phy2log.size(); s += 2) {
      // DeepSeek's own pairing may pair an expert with itself; ours never does.
      EXPECT_TRUE(!changed || phy2log[s] != phy2log[s + 1]);
      ++count[static_cast<size_t>(phy2log[s])];
      ++count[static_cast<size_t>(phy2log[s + 1])];
    }
    for (int c : count) EXPECT_GE(c, 1);
  }
  EXPECT_GT(improved, 0);
}

TEST(PairedFloor, PairsTheSortedReplicasFromBothEnds) {
  std::vector<double> scratch;
  // Replicas 4, 3, 2, 1 on 2 ranks: 4 + 1 and 3 + 2.
  EXPECT_DOUBLE_EQ(
      paired_floor(std::vector<int32_t>{0, 1, 2, 3}, std::vector<double>{4, 3, 2, 1}, scratch), 5);
  // Expert 0 (20 tokens) in two replicas of 10 beside the two lightest: 10 + 1.
  EXPECT_DOUBLE_EQ(
      paired_floor(std::vector<int32_t>{0, 0, 1, 2}, std::vector<double>{10, 1, 1}, scratch), 11);
}

TEST(PairedFloor, IsDeepSeeksHottestRankAndUnderAnyOtherPairing) {
  std::mt19937 rng(5);
  DeepSeekPlanner deepseek;
  std::vector<double> scratch;
  for (int round = 0; round < 300; ++round) {
    const int ranks = 1 + static_cast<int>(rng() % 40);
    const int experts = ranks + static_cast<int>(rng() % (ranks + 1));
    std::vector<double> loads(static_cast<size_t>(experts));
    // Ties on purpose: many experts share a load.
    for (auto& v : loads) v = std::round(1000.0 / (1.0 + static_cast<double>(rng() % 8)));
    PlanOptions o;
    o.num_ranks = ranks;
    o.num_slots = 2 * ranks;
    std::vector<int32_t> phy2log(static_cast<size_t>(2 * ranks));
    deepseek.plan(loads, o, phy2log);
    std::vector<double> replica_load(loads.size());
    std::vector<int> count(loads.size(), 0);
    for (int32_t e : phy2log) ++count[static_cast<size_t>(e)];
    for (size_t e = 0; e < loads.size(); ++e) replica_load[e] = loads[e] / count[e];
    const double floor = paired_floor(phy2log, replica_load, scratch);
    // DeepSeek compares float32 loads: equal up to their rounding.
    EXPECT_NEAR(hottest(loads, phy2log, ranks), floor, floor * 1e-6);
    std::shuffle(phy2log.begin(), phy2log.end(), rng);
    EXPECT_GE(hottest(loads, phy2log, ranks), floor * (1 - 1e-12));
  }
}

}  // namespace
}  // namespace eplb::planner
