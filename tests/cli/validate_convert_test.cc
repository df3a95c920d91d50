// `eplb validate` and `eplb convert`.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.h"

namespace eplb::testing {
namespace {

TEST(ValidateCommand, ValidFile) {
  ScratchDir dir;
  const std::string p = dir.write("p.json", R"({"format": "eplb.placement.v1", "num_layers": 1,
    "num_experts": 3, "num_ranks": 2, "num_slots": 4, "layer_ids": [7],
    "phy2log": [[0, 1, 2, 0]]})");
  const CliResult r = run_eplb("validate " + p + " --experts 3 --ranks 2");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("valid placement"), std::string::npos) << r.out;
}

TEST(ValidateCommand, ListsEveryProblemWithItsLocation) {
  ScratchDir dir;
  const std::string p = dir.write("p.json", R"({"format": "eplb.placement.v1", "num_layers": 2,
    "num_experts": 3, "num_ranks": 3, "num_slots": 4, "layer_ids": [7, 7],
    "phy2log": [[0, 1, 2, 0], [0, 1, 5, 1]]})");
  const CliResult r = run_eplb("validate " + p);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("num_slots: 4 slots cannot be split equally over 3 ranks"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("layer_ids[1]: layer id 7 appears twice"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("phy2log[1][2]: expert 5 out of range [0, 3)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("expert 2 has no replica"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("4 problem(s) found"), std::string::npos) << r.err;
}

TEST(ValidateCommand, ExpectedCountsMustMatch) {
  ScratchDir dir;
  const std::string p = dir.write("p.json", R"({"format": "eplb.placement.v1", "num_layers": 1,
    "num_experts": 3, "num_ranks": 2, "num_slots": 4, "layer_ids": [7],
    "phy2log": [[0, 1, 2, 0]]})");
  const CliResult r = run_eplb("validate " + p + " --experts 4 --ranks 4");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--experts 4"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--ranks 4"), std::string::npos) << r.err;
}

TEST(ValidateCommand, UnparsableFileIsOneLineError) {
  ScratchDir dir;
  const std::string p = dir.write("p.json", R"({"format": "eplb.placement.v1", "num_la)");
  const CliResult r = run_eplb("validate " + p);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(p), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(ConvertCommand, RoundTripThroughEveryFormatIsExact) {
  ScratchDir dir;
  ASSERT_EQ(run_eplb("plan --load " + test_data("cli/with_empty_layer.csv") +
                     " --ranks 2 --slots 6 --out " + dir.path("a.json")).exit_code, 0);
  const CliResult to_yaml = run_eplb("convert " + dir.path("a.json") + " " + dir.path("b.yaml"));
  ASSERT_EQ(to_yaml.exit_code, 0) << to_yaml.err;
  EXPECT_NE(slurp(dir.path("b.yaml")).find("initial_global_assignments"), std::string::npos);
  const CliResult no_ranks = run_eplb("convert " + dir.path("b.yaml") + " " + dir.path("c.json"));
  EXPECT_EQ(no_ranks.exit_code, 1);
  EXPECT_NE(no_ranks.err.find("--ranks"), std::string::npos) << no_ranks.err;
  ASSERT_EQ(run_eplb("convert " + dir.path("b.yaml") + " " + dir.path("c.json") + " --ranks 2")
                .exit_code, 0);
  EXPECT_EQ(slurp(dir.path("a.json")), slurp(dir.path("c.json")));
  // vllm-ascend's map uses 0-based MoE-layer ids; everything else survives.
  ASSERT_EQ(run_eplb("convert " + dir.path("a.json") + " " + dir.path("d.json") +
                     " --format ascend").exit_code, 0);
  const auto ascend = nlohmann::json::parse(slurp(dir.path("d.json")));
  EXPECT_EQ(ascend["moe_layer_count"], 3);
  EXPECT_EQ(ascend["layer_list"][0]["layer_id"], 0);
  ASSERT_EQ(run_eplb("convert " + dir.path("d.json") + " " + dir.path("e.json")).exit_code, 0);
  const auto a = nlohmann::json::parse(slurp(dir.path("a.json")));
  const auto e = nlohmann::json::parse(slurp(dir.path("e.json")));
  EXPECT_EQ(a["phy2log"], e["phy2log"]);
  EXPECT_EQ(e["layer_ids"], nlohmann::json::parse("[0,1,2]"));
}

TEST(EplbTool, VersionAndUsageErrors) {
  const CliResult v = run_eplb("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("eplb 0.1.0"), std::string::npos) << v.out;
  const CliResult bad = run_eplb("plan --ranks x");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--ranks"), std::string::npos) << bad.err;
  EXPECT_EQ(run_eplb("").exit_code, 2);
}

}  // namespace
}  // namespace eplb::testing
