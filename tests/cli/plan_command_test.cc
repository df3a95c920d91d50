// `eplb plan` end to end: files in, placement files and the JSON summary out.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_runner.h"

namespace eplb::testing {
namespace {

// DeepSeek EPLB's README example: 2 layers x 12 experts, 16 slots, 4 groups, 2 nodes, 8 ranks.
TEST(PlanCommand, DeepSeekPolicyReproducesItsReadmeExample) {
  ScratchDir dir;
  const CliResult r = run_eplb("plan --load " + test_data("cli/deepseek_readme.csv") +
                               " --ranks 8 --slots 16 --groups 4 --nodes 2 --policy deepseek"
                               " --out " + dir.path("p.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto placement = nlohmann::json::parse(slurp(dir.path("p.json")));
  EXPECT_EQ(placement["format"], "eplb.placement.v1");
  EXPECT_EQ(placement["phy2log"],
            nlohmann::json::parse("[[5,6,5,7,8,4,3,4,10,9,10,2,0,1,11,1],"
                                  "[7,10,6,8,6,11,8,9,2,4,5,1,5,0,3,1]]"));
  EXPECT_NE(r.out.find("wrote"), std::string::npos);
}

TEST(PlanCommand, JsonSummaryOnBundledDeepSeekV3Loads) {
  ScratchDir dir;
  const CliResult r = run_eplb("plan --load " + test_data("../../data/deepseek-v3-static.npy") +
                               " --ranks 32 --slots 288 --json --out " + dir.path("p.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["layers"], 58);
  EXPECT_GE(j["plan_ms"].get<double>(), 0.0);
  EXPECT_GT(j["before"]["mean"].get<double>(), 2.0);   // calibrated ~1.5 imbalance on 32 ranks
  EXPECT_LT(j["after"]["mean"].get<double>(), 1.05);
  EXPECT_LE(j["after"]["mean"].get<double>(), j["after"]["max"].get<double>());
  EXPECT_FALSE(j.contains("moved_slots"));
  EXPECT_EQ(j["format"], "trtllm");
  EXPECT_TRUE(std::filesystem::exists(dir.path("p.yaml")));
}

TEST(PlanCommand, CurrentPlacementGivesBeforeAndMovedSlots) {
  ScratchDir dir;
  const std::string load = " --load " + test_data("cli/deepseek_readme.csv");
  ASSERT_EQ(run_eplb("plan" + load + " --ranks 4 --slots 16 --out " + dir.path("a.json"))
                .exit_code, 0);
  const CliResult r = run_eplb("plan" + load + " --ranks 4 --slots 16 --json --current " +
                               dir.path("a.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.contains("moved_slots"));
  EXPECT_EQ(j["moved_slots"], 0);  // same loads, same planner: nothing to move
  EXPECT_DOUBLE_EQ(j["before"]["mean"].get<double>(), j["after"]["mean"].get<double>());
}

TEST(PlanCommand, LayerWithoutDataIsReportedAndNeverNaN) {
  ScratchDir dir;
  const CliResult r = run_eplb("plan --load " + test_data("cli/with_empty_layer.csv") +
                               " --ranks 2 --slots 6 --out " + dir.path("p.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1 layer(s) without data"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("nan"), std::string::npos) << r.out;
  const auto p = nlohmann::json::parse(slurp(dir.path("p.json")));
  EXPECT_EQ(p["layer_ids"], nlohmann::json::parse("[3,4,5]"));
  EXPECT_EQ(p["phy2log"][1], nlohmann::json::parse("[0,1,2,3,0,1]"));  // default placement
}

TEST(PlanCommand, LayersSelectsRowsAndKeepsIds) {
  const CliResult r = run_eplb("plan --load " + test_data("cli/with_empty_layer.csv") +
                               " --layers 0:1 --ranks 2 --slots 4 --format eplb --out -");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto p = nlohmann::json::parse(r.out);
  EXPECT_EQ(p["layer_ids"], nlohmann::json::parse("[3]"));
}

struct BadPlan {
  std::string args;
  std::string message;  // must appear in the one-line error
};

class PlanCommandBadInput : public ::testing::TestWithParam<BadPlan> {};

TEST_P(PlanCommandBadInput, OneLineErrorNamingTheFlagAndNoOutputFile) {
  ScratchDir dir;
  const std::string out = dir.path("p.json");
  const CliResult r = run_eplb("plan " + GetParam().args + " --out " + out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(GetParam().message), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_TRUE(std::filesystem::is_empty(dir.dir())) << "no temporary file left behind";
}

const std::string kReadme = "--load " + test_data("cli/deepseek_readme.csv");

INSTANTIATE_TEST_SUITE_P(
    Cases, PlanCommandBadInput,
    ::testing::Values(
        BadPlan{kReadme + " --ranks 5 --slots 16", "--slots 16 is not divisible by --ranks 5"},
        BadPlan{kReadme + " --ranks 4 --slots 8", "--slots 8 is fewer than the 12 logical experts"},
        BadPlan{kReadme + " --ranks 4 --slots 16 --nodes 3", "--nodes"},
        BadPlan{kReadme + " --ranks 4 --slots 16 --groups 5", "--groups"},
        BadPlan{kReadme + " --ranks 4 --slots 16 --policy best", "--policy best"},
        BadPlan{kReadme + " --ranks 4 --slots 16 --format xml", "--format"},
        BadPlan{kReadme + " --ranks 4 --slots 16 --layers 5:9", "--layers"},
        BadPlan{kReadme + " --ranks 4 --slots 16 --current /nonexistent/p.json",
                "/nonexistent/p.json"},
        BadPlan{"--load /nonexistent/loads.npy --ranks 4 --slots 16", "/nonexistent/loads.npy"},
        BadPlan{"--load " + test_data("cli/negative.csv") + " --ranks 2 --slots 4", "negative.csv"},
        BadPlan{kReadme + " --slots 16", "--ranks"}));

TEST(PlanCommand, FailureLeavesExistingOutputUntouched) {
  ScratchDir dir;
  const std::string out = dir.path("p.json");
  ASSERT_EQ(run_eplb("plan " + kReadme + " --ranks 4 --slots 16 --out " + out).exit_code, 0);
  const std::string before = slurp(out);
  EXPECT_NE(run_eplb("plan --load " + test_data("cli/negative.csv") +
                     " --ranks 4 --slots 16 --out " + out).exit_code, 0);
  EXPECT_EQ(slurp(out), before);
}

}  // namespace
}  // namespace eplb::testing
