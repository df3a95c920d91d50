// Toy world: 4 experts with loads {10, 20, 30, 40} on 2 ranks.
#include "eplb/balance.h"

#include <gtest/gtest.h>

namespace eplb {
namespace {

const std::vector<double> kLoads = {10, 20, 30, 40};

TEST(RankLoads, EvenSplitOverReplicas) {
  // 6 slots, 3 per rank: rank 0 = {0, 1, 3}, rank 1 = {2, 3, 0}.
  const std::vector<int32_t> phy2log = {0, 1, 3, 2, 3, 0};
  EXPECT_EQ(rank_loads(kLoads, phy2log, {}, 2), (std::vector<double>{5 + 20 + 20, 30 + 20 + 5}));
}

TEST(RankLoads, RoutingWeightsOverrideEvenSplit) {
  const std::vector<int32_t> phy2log = {0, 1, 3, 2, 3, 0};
  const std::vector<double> weights = {1, 1, 0.25, 1, 0.75, 0};
  EXPECT_EQ(rank_loads(kLoads, phy2log, weights, 2), (std::vector<double>{10 + 20 + 10, 30 + 30}));
}

TEST(RankLoads, ContiguousDeployment) {
  EXPECT_EQ(contiguous_rank_loads(kLoads, 2), (std::vector<double>{30, 70}));
}

TEST(LayerBalance, MatchesTensorRtLlmAndAscendDefinitions) {
  const LayerBalance b = layer_balance(std::vector<double>{30, 70});
  EXPECT_TRUE(b.has_data);
  EXPECT_DOUBLE_EQ(b.mean, 50);
  EXPECT_DOUBLE_EQ(b.std, 20);
  EXPECT_DOUBLE_EQ(b.max, 70);
  EXPECT_DOUBLE_EQ(b.peak_to_avg, 1.4);
  EXPECT_NEAR(b.imbalance, 0.4, 1e-12);
}

TEST(BalanceReport, LayersWithoutDataAreLeftOutOfAverages) {
  LoadMatrix m = LoadMatrix::zeros(3, 4);
  std::copy(kLoads.begin(), kLoads.end(), m.layer(0).begin());
  const std::vector<double> even = {25, 25, 25, 25};
  std::copy(even.begin(), even.end(), m.layer(2).begin());
  const BalanceReport r = balance_report(m, nullptr, 2);
  EXPECT_EQ(r.num_layers_with_data, 2);
  EXPECT_FALSE(r.layers[1].has_data);
  EXPECT_DOUBLE_EQ(r.layers[1].peak_to_avg, 0);
  EXPECT_DOUBLE_EQ(r.average.peak_to_avg, (1.4 + 1.0) / 2);
  EXPECT_DOUBLE_EQ(r.max_peak_to_avg, 1.4);
}

TEST(BalanceReport, AllLayersEmptyGivesNoAverage) {
  const BalanceReport r = balance_report(LoadMatrix::zeros(2, 4), nullptr, 2);
  EXPECT_EQ(r.num_layers_with_data, 0);
  EXPECT_FALSE(r.average.has_data);
  EXPECT_EQ(r.average.peak_to_avg, 0);
}

TEST(BalanceReport, UnderPlacement) {
  LoadMatrix m = LoadMatrix::zeros(1, 4);
  std::copy(kLoads.begin(), kLoads.end(), m.layer(0).begin());
  Placement p = Placement::contiguous(1, 4, 2, 6);  // {0,1,2 | 3,0,1}
  const BalanceReport r = balance_report(m, &p, 0);
  // rank 0: 5 + 10 + 30 = 45, rank 1: 40 + 5 + 10 = 55
  EXPECT_DOUBLE_EQ(r.layers[0].max, 55);
  EXPECT_DOUBLE_EQ(r.layers[0].peak_to_avg, 1.1);
}

}  // namespace
}  // namespace eplb
