// Two slots per rank: better replica counts for the pairing.
//
// Toy worlds: 2-31 ranks x 2 slots.
#include "planner/two_slots.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "planner/deepseek.h"
#include "planner/rank_load.h"

namespace eplb::planner {
namespace {

double hottest(const std::vector<double>& loads, const std::vector<int32_t>& phy2log,
               int ranks) {
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
    for (auto& v : loads) v = std::round(100000.0 / std::pow(1.0 + static_cast<double>(rng() % 50), 1.3));
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

}  // namespace
}  // namespace eplb::planner
