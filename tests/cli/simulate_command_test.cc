// `eplb synth` and `eplb simulate` end to end: a small generated trace, one JSON object per
// policy, the knob grid, the table, and flag errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "cli_runner.h"
#include "synth_trace.h"

namespace eplb::testing {
namespace {

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TEST(SynthCommand, SameSeedSameFile) {
  ScratchDir dir;
  const std::string a = make_synth_trace(dir);
  const std::string first = slurp(a);
  ASSERT_GT(first.size(), 40u * 4 * 16 * 8);
  make_synth_trace(dir);
  EXPECT_EQ(slurp(a), first);
}

TEST(SimulateCommand, JsonOneObjectPerPolicyAndKnobGrid) {
  ScratchDir dir;
  const std::string trace = make_synth_trace(dir);
  const CliResult r = run_eplb("simulate --trace " + trace +
                               " --ranks 4 --slots 20 --window 10 --json"
                               " --expert_heat_collection_interval 5,10"
                               " --algorithm_execution_interval 2 --layer_updates_per_iter 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // no progress bar when stderr is not a terminal
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;  // none, static, online x 2, oracle
  EXPECT_EQ(lines[0]["policy"], "none");
  EXPECT_EQ(lines[1]["policy"], "static");
  EXPECT_EQ(lines[2]["policy"], "online");
  EXPECT_EQ(lines[2]["expert_heat_collection_interval"], 5);
  EXPECT_EQ(lines[3]["expert_heat_collection_interval"], 10);
  EXPECT_EQ(lines[4]["policy"], "oracle");
  const double none = lines[0]["peak_to_avg_mean"].get<double>();
  EXPECT_GT(none, 1.0);
  EXPECT_LT(lines[4]["peak_to_avg_mean"].get<double>(), none);
  EXPECT_GE(lines[2]["replans"].get<int>(), 1);
  EXPECT_LT(lines[2]["peak_to_avg_mean"].get<double>(), none);
  for (const auto& j : lines) {
    EXPECT_GE(j["step_us_mean"].get<double>(), j["compute_us_mean"].get<double>());
    EXPECT_EQ(j["steps"], 40);
  }
}

TEST(SimulateCommand, TableNamesEveryPolicy) {
  ScratchDir dir;
  const std::string trace = make_synth_trace(dir);
  const CliResult r = run_eplb("simulate --trace " + trace + " --ranks 4 --slots 20 --window 10");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* word : {"none", "static", "online", "oracle", "C=50 A=10 U=1", "vs none"}) {
    EXPECT_NE(r.out.find(word), std::string::npos) << word << "\n" << r.out;
  }
}

TEST(SimulateCommand, BadKnobListAndSlotsAreErrors) {
  ScratchDir dir;
  const std::string trace = make_synth_trace(dir);
  CliResult r = run_eplb("simulate --trace " + trace +
                         " --ranks 4 --slots 20 --expert_heat_collection_interval 5,x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--expert_heat_collection_interval"), std::string::npos) << r.err;
  r = run_eplb("simulate --trace " + trace + " --ranks 3 --slots 20");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("20"), std::string::npos) << r.err;
  r = run_eplb("simulate --trace " + trace + " --ranks 4 --policy dynamic");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("dynamic"), std::string::npos) << r.err;
}

// --routing weighted: every policy still runs (online with the balancer routing by shares);
// a routing name it does not know is an error naming it.
TEST(SimulateCommand, WeightedRoutingRunsEveryPolicy) {
  ScratchDir dir;
  const std::string trace = make_synth_trace(dir);
  CliResult r = run_eplb("simulate --trace " + trace +
                         " --ranks 4 --slots 20 --window 10 --routing weighted --json"
                         " --expert_heat_collection_interval 5 --algorithm_execution_interval 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  const double none = lines[0]["peak_to_avg_mean"].get<double>();
  EXPECT_LT(lines[3]["peak_to_avg_mean"].get<double>(), none);  // oracle
  EXPECT_GE(lines[2]["replans"].get<int>(), 1);                 // online
  r = run_eplb("simulate --trace " + trace + " --ranks 4 --slots 20 --routing uneven");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("uneven"), std::string::npos) << r.err;
}

// --trace also takes a TensorRT-LLM statistics directory: iterations 100..103 become 4 steps.
TEST(SimulateCommand, TrtllmStatisticsDirectoryAsTrace) {
  const CliResult r = run_eplb("simulate --trace " + test_data("loads/trtllm_stats") +
                               " --ranks 2 --window 2 --policy none,oracle --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0]["steps"], 4);
  EXPECT_EQ(lines[0]["layers"], 3);
  EXPECT_EQ(lines[0]["experts"], 8);
  EXPECT_LE(lines[1]["peak_to_avg_mean"].get<double>(), lines[0]["peak_to_avg_mean"].get<double>());
}

// Per-slot statistics (EPLB active) map to experts through --placement.
TEST(SimulateCommand, PerSlotTrtllmStatisticsNeedThePlacementTheyWereDumpedUnder) {
  // tests/data/loads/trtllm_slots: 10 per-slot counts per layer (2 ranks x 5 slots, EPLB on).
  ScratchDir dir;
  const std::string placement = dir.write(
      "deployed.json",
      R"({"format": "eplb.placement.v1", "num_layers": 2, "num_experts": 8, "num_ranks": 2,
          "num_slots": 10, "layer_ids": [3, 4],
          "phy2log": [[0, 1, 2, 3, 4, 5, 6, 7, 0, 1], [7, 6, 5, 4, 3, 2, 1, 0, 7, 7]]})");
  const std::string trace = test_data("loads/trtllm_slots");
  const std::string args = " --ranks 2 --slots 10 --window 1 --policy none --json";
  const CliResult mapped =
      run_eplb("simulate --trace " + trace + " --placement " + placement + args);
  ASSERT_EQ(mapped.exit_code, 0) << mapped.err;
  EXPECT_EQ(nlohmann::json::parse(mapped.out)["experts"], 8);
  const CliResult raw = run_eplb("simulate --trace " + trace + args);
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_EQ(nlohmann::json::parse(raw.out)["experts"], 10);  // slots taken as experts
  const CliResult missing =
      run_eplb("simulate --trace " + trace + " --placement " + dir.path("none.json") + args);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("none.json: cannot read"), std::string::npos) << missing.err;
}

// ... and SGLang dumps, as a glob in name order.
TEST(SimulateCommand, SglangDumpGlobAsTrace) {
  ScratchDir dir;
  dir.write("d/dump_1.json", R"({"logical_count": [[9, 1, 1, 1], [1, 1, 1, 9]]})");
  dir.write("d/dump_2.json", R"({"logical_count": [[9, 1, 1, 1], [1, 1, 1, 9]]})");
  const CliResult r = run_eplb("simulate --trace '" + dir.path("d/dump_*.json") +
                               "' --ranks 2 --policy none --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_EQ(lines[0]["steps"], 2);
  // Rank loads {10, 2} in both layers: peak/avg 10 / 6.
  EXPECT_DOUBLE_EQ(lines[0]["peak_to_avg_mean"].get<double>(), 10.0 / 6.0);
}

}  // namespace
}  // namespace eplb::testing
