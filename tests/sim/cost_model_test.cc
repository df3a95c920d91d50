// The cost model on hand-computed cases.
#include "eplb/sim/cost_model.h"

#include <gtest/gtest.h>

#include <vector>

#include "eplb/error.h"

namespace eplb::sim {
namespace {

// 2 ranks with 100 and 300 tokens; 10 us fixed, 0.5 us/token: 10 + 0.5 * 300 = 160 us.
TEST(CostModel, LayerTimeWaitsForTheHottestRank) {
  CostModel m;
  m.fixed_us = 10;
  m.token_us = 0.5;
  const std::vector<double> ranks = {100, 300};
  EXPECT_DOUBLE_EQ(layer_time_us(m, ranks), 160);
}

// 1 GB experts at 10 GB/s: 3 slots take 0.3 s = 300,000 us. Against 100,000 us of compute
// the stall is 200,000 us; against 500,000 us it is hidden.
TEST(CostModel, TransfersOverlapComputeAndOnlyTheirExcessStalls) {
  CostModel m;
  m.expert_bytes = 1e9;
  m.bandwidth_gbs = 10;
  EXPECT_DOUBLE_EQ(transfer_time_us(m, 3), 300000);
  StepCost c = step_cost(m, 100000, 3);
  EXPECT_DOUBLE_EQ(c.transfer_us, 300000);
  EXPECT_DOUBLE_EQ(c.stall_us, 200000);
  EXPECT_DOUBLE_EQ(c.total_us, 300000);
  c = step_cost(m, 500000, 3);
  EXPECT_DOUBLE_EQ(c.stall_us, 0);
  EXPECT_DOUBLE_EQ(c.total_us, 500000);
}

// DeepSeek-V3 expert: 3 x 7168 x 2048 FP8 bytes; at 50 GB/s one takes 880.8 us.
TEST(CostModel, DefaultsAreDeepSeekV3Class) {
  const CostModel m;
  EXPECT_DOUBLE_EQ(m.expert_bytes, 3.0 * 7168 * 2048);
  EXPECT_NEAR(transfer_time_us(m, 1), 880.8, 0.1);
}

TEST(CostModel, RejectsNonPositiveBandwidth) {
  CostModel m;
  m.bandwidth_gbs = 0;
  EXPECT_THROW(validate_cost_model(m), Error);
  m = CostModel{};
  m.token_us = -1;
  EXPECT_THROW(validate_cost_model(m), Error);
}

}  // namespace
}  // namespace eplb::sim
