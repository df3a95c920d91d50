// `eplb report`: TensorRT-LLM's figures (mean, std, imbalance) and vllm-ascend's peak/avg.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_runner.h"

namespace eplb::testing {
namespace {

// Layer 3 loads {10, 20, 30, 40} on 2 ranks: contiguous rank loads {30, 70}; mean 50,
// std 20, imbalance 0.4, peak/avg 1.4. Layer 4 has no data; layer 5 is flat.
TEST(ReportCommand, ContiguousJson) {
  const CliResult r =
      run_eplb("report --load " + test_data("cli/with_empty_layer.csv") + " --ranks 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["layers"].size(), 3u);
  EXPECT_EQ(j["layers"][0]["layer"], 3);
  EXPECT_DOUBLE_EQ(j["layers"][0]["mean"].get<double>(), 50);
  EXPECT_DOUBLE_EQ(j["layers"][0]["std"].get<double>(), 20);
  EXPECT_NEAR(j["layers"][0]["imbalance"].get<double>(), 0.4, 1e-12);
  EXPECT_DOUBLE_EQ(j["layers"][0]["peak_to_avg"].get<double>(), 1.4);
  EXPECT_EQ(j["layers"][1]["has_data"], false);
  EXPECT_TRUE(j["layers"][1]["peak_to_avg"].is_null());
  EXPECT_EQ(j["num_layers_with_data"], 2);
  EXPECT_DOUBLE_EQ(j["average"]["peak_to_avg"].get<double>(), 1.2);
  EXPECT_EQ(r.out.find("nan"), std::string::npos);
}

TEST(ReportCommand, TableMarksLayersWithoutData) {
  const CliResult r = run_eplb("report --load " + test_data("cli/with_empty_layer.csv") + " --ranks 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("no data"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("average"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1.4000"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("nan"), std::string::npos) << r.out;
}

TEST(ReportCommand, UnderAPlacementSplitsReplicaLoadsEvenly) {
  ScratchDir dir;
  // Default placement of 4 experts in 6 slots on 2 ranks: {0,1,2 | 3,0,1}.
  const CliResult plan = run_eplb("plan --load " + test_data("cli/with_empty_layer.csv") +
                                  " --layers 1:2 --ranks 2 --slots 6 --out " + dir.path("p.json"));
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  const CliResult r = run_eplb("report --load " + test_data("cli/with_empty_layer.csv") +
                               " --layers 0:1 --placement " + dir.path("p.json") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  // Layer ids differ (3 vs 4) but counts agree: rows are matched by position.
  // rank 0: 5 + 10 + 30 = 45, rank 1: 40 + 5 + 10 = 55.
  EXPECT_DOUBLE_EQ(j["layers"][0]["max"].get<double>(), 55);
  EXPECT_EQ(j["num_ranks"], 2);
}

TEST(ReportCommand, NeedsRanksWithoutPlacement) {
  const CliResult r = run_eplb("report --load " + test_data("cli/with_empty_layer.csv"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--ranks is required"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace eplb::testing
