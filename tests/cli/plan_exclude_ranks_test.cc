// `eplb plan --exclude-ranks`: planning over the live ranks, end to end.
// Loads: DeepSeek EPLB's README example, 2 layers x 12 experts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_runner.h"

namespace eplb::testing {
namespace {

const std::string kLoad = " --load " + test_data("cli/deepseek_readme.csv");

TEST(PlanExcludeRanks, ExcludedSlotsGetShareZeroInTheFileAndJson) {
  ScratchDir dir;
  // 4 ranks x 4 slots, rank 1 out: 12 live slots for 12 experts, every expert covered.
  const CliResult r = run_eplb("plan" + kLoad + " --ranks 4 --slots 16 --exclude-ranks 1 --json"
                               " --out " + dir.path("p.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["excluded_ranks"], nlohmann::json::parse("[1]"));
  EXPECT_EQ(j["uncovered_experts"], nlohmann::json::array());
  const auto p = nlohmann::json::parse(slurp(dir.path("p.json")));
  ASSERT_TRUE(p.contains("routing_weight"));
  for (const auto& layer : p["routing_weight"]) {
    for (int s = 4; s < 8; ++s) EXPECT_EQ(layer[s].get<double>(), 0.0) << "slot " << s;
  }
  // The file validates, and the report sees rank 1 idle.
  EXPECT_EQ(run_eplb("validate " + dir.path("p.json") + " --ranks 4 --experts 12").exit_code, 0);
  const CliResult text = run_eplb("plan" + kLoad + " --ranks 4 --slots 16 --exclude-ranks 1");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("excluded ranks: 1 "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("every expert has a slot on a live rank"), std::string::npos);
}

TEST(PlanExcludeRanks, UncoveredExpertsAreNamedPerLayer) {
  // 8 ranks x 2 slots, ranks 1-5 out: 6 live slots for 12 experts, 6 uncovered per layer.
  const CliResult r =
      run_eplb("plan" + kLoad + " --ranks 8 --slots 16 --exclude-ranks 1,2,3,4,5 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["uncovered_experts"].size(), 2u);
  for (const auto& layer : j["uncovered_experts"]) EXPECT_EQ(layer["experts"].size(), 6u);
  EXPECT_NE(r.err.find("warning: experts without a slot on a live rank"), std::string::npos)
      << r.err;
  const CliResult text = run_eplb("plan" + kLoad + " --ranks 8 --slots 16 --exclude-ranks 1,2,3,4,5");
  EXPECT_NE(text.out.find("6 expert(s) without a live slot"), std::string::npos) << text.out;
}

TEST(PlanExcludeRanks, FormatsWithoutWeightsWarnThatTheExclusionIsLost) {
  ScratchDir dir;
  const CliResult r = run_eplb("plan" + kLoad + " --ranks 4 --slots 16 --exclude-ranks 2 --out " +
                               dir.path("p.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("the trtllm format cannot mark the excluded ranks"), std::string::npos)
      << r.err;
}

TEST(PlanExcludeRanks, BadRanksAreErrorsNamingTheFlag) {
  const CliResult out_of_range = run_eplb("plan" + kLoad + " --ranks 4 --slots 16 --exclude-ranks 4");
  EXPECT_EQ(out_of_range.exit_code, 1);
  EXPECT_NE(out_of_range.err.find("--exclude-ranks: rank 4 out of range [0, 4)"), std::string::npos)
      << out_of_range.err;
  const CliResult all = run_eplb("plan" + kLoad + " --ranks 2 --slots 16 --exclude-ranks 0,1");
  EXPECT_EQ(all.exit_code, 1);
  EXPECT_NE(all.err.find("--exclude-ranks excludes all 2 ranks"), std::string::npos) << all.err;
}

}  // namespace
}  // namespace eplb::testing
