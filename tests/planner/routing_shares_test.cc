// Weighted routing shares for a fixed placement.
//
// Toy world: 3 experts on 2 ranks x 2 slots; expert 0 has a replica on each rank.
#include "planner/routing_shares.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "eplb/balance.h"

namespace eplb::planner {
namespace {

TEST(ShareSolver, LevelsTheRanksAReplicatedExpertLinks) {
  // Ranks {0, 1} and {0, 2}; loads {10, 6, 2}. Even shares: 5 + 6 = 11 and 5 + 2 = 7. Expert 0
  // can send 3 tokens to rank 0 and 7 to rank 1: both at 9, the mean.
  const std::vector<double> loads = {10, 6, 2};
  const std::vector<int32_t> phy2log = {0, 1, 0, 2};
  std::vector<double> weight(4);
  ShareSolver solver;
  EXPECT_NEAR(solver.solve(loads, phy2log, 2, weight), 9.0, 1e-9);
  EXPECT_NEAR(weight[0], 0.3, 1e-9);
  EXPECT_NEAR(weight[2], 0.7, 1e-9);
  EXPECT_DOUBLE_EQ(weight[1], 1.0);
  EXPECT_DOUBLE_EQ(weight[3], 1.0);
}

TEST(ShareSolver, StopsAtZeroShareWhenTheOtherRankIsHotterAlone) {
  // Ranks {0, 1} and {0, 2}; loads {2, 20, 1}: rank 0 holds 20 alone, so expert 0 goes to rank 1.
  const std::vector<double> loads = {2, 20, 1};
  const std::vector<int32_t> phy2log = {0, 1, 0, 2};
  std::vector<double> weight(4);
  ShareSolver solver;
  EXPECT_NEAR(solver.solve(loads, phy2log, 2, weight), 20.0, 1e-9);
  EXPECT_NEAR(weight[0], 0.0, 1e-12);
  EXPECT_NEAR(weight[2], 1.0, 1e-12);
}

TEST(ShareSolver, SharesSumToOneAndNeverLoseToEvenShares) {
  // Random placements of 4 ranks x 3 slots, duplicates and zero loads included.
  std::mt19937 rng(5);
  ShareSolver solver;
  for (int round = 0; round < 500; ++round) {
    const int num_experts = 1 + static_cast<int>(rng() % 12);
    std::vector<double> loads(static_cast<size_t>(num_experts));
    for (auto& v : loads) v = rng() % 3 == 0 ? 0.0 : static_cast<double>(rng() % 1000);
    std::vector<int32_t> phy2log(12);
    for (size_t s = 0; s < phy2log.size(); ++s) {
      phy2log[s] = s < static_cast<size_t>(num_experts) ? static_cast<int32_t>(s)
                                                       : static_cast<int32_t>(rng() % num_experts);
    }
    std::shuffle(phy2log.begin(), phy2log.end(), rng);
    std::vector<double> weight(12);
    const double hottest = solver.solve(loads, phy2log, 4, weight);
    std::vector<double> sum(static_cast<size_t>(num_experts), 0.0);
    for (size_t s = 0; s < 12; ++s) {
      ASSERT_GE(weight[s], 0.0);
      sum[static_cast<size_t>(phy2log[s])] += weight[s];
    }
    for (double v : sum) ASSERT_NEAR(v, 1.0, 1e-9);
    const std::vector<double> with = rank_loads(loads, phy2log, weight, 4);
    const std::vector<double> even = rank_loads(loads, phy2log, {}, 4);
    ASSERT_NEAR(*std::max_element(with.begin(), with.end()), hottest, 1e-9 * (1 + hottest));
    ASSERT_LE(hottest, *std::max_element(even.begin(), even.end()) * (1 + 1e-12) + 1e-12);
  }
}

}  // namespace
}  // namespace eplb::planner
