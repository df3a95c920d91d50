// `eplb tune`: the grid (given and default), the ranking by estimated step time, the
// recommendation and its vllm-ascend / TensorRT-LLM snippets, and flag errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "synth_trace.h"

namespace eplb::testing {
namespace {

TEST(TuneCommand, JsonGridRankedByStepTimeAndRecommendationIsTheFastest) {
  ScratchDir dir;
  const std::string trace = make_synth_trace(dir);
  const CliResult r = run_eplb("tune --trace " + trace +
                               " --ranks 4 --slots 20 --window 10 --json"
                               " --expert_heat_collection_interval 5,10"
                               " --algorithm_execution_interval 2,4 --layer_updates_per_iter 1,2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["grid"].size(), 8u);  // 2 x 2 x 2
  double previous = 0;
  for (size_t i = 0; i < j["grid"].size(); ++i) {
    const auto& row = j["grid"][i];
    EXPECT_EQ(row["rank"], i + 1);
    const double step = row["step_us_mean"].get<double>();
    EXPECT_GE(step, previous);
    EXPECT_NEAR(step, row["compute_us_mean"].get<double>() + row["stall_us_mean"].get<double>(),
                1e-6 * step);
    previous = step;
  }
  const auto& rec = j["recommendation"];
  const auto& first = j["grid"][0];
  for (const char* k : {"expert_heat_collection_interval", "algorithm_execution_interval",
                        "layer_updates_per_iter", "step_us_mean"}) {
    EXPECT_EQ(rec[k], first[k]) << k;
  }
  EXPECT_EQ(rec["vllm_ascend_additional_config"]["dynamic_eplb"], true);
  EXPECT_EQ(rec["vllm_ascend_additional_config"]["expert_heat_collection_interval"],
            first["expert_heat_collection_interval"]);
  EXPECT_EQ(rec["vllm_ascend_additional_config"]["algorithm_execution_interval"],
            first["algorithm_execution_interval"]);
  EXPECT_EQ(rec["vllm_ascend_additional_config"]["num_redundant_experts"], 4);  // 20 - 16
  EXPECT_EQ(rec["trtllm_moe_load_balancer"]["num_slots"], 20);
  EXPECT_EQ(rec["trtllm_moe_load_balancer"]["layer_updates_per_iter"],
            first["layer_updates_per_iter"]);
  EXPECT_GT(j["none"]["step_us_mean"].get<double>(), 0);
  EXPECT_GT(j["static"]["step_us_mean"].get<double>(), 0);
}

// The same setting through simulate gives the same figures: tune reuses the simulator.
TEST(TuneCommand, AgreesWithSimulateForTheSameKnobs) {
  ScratchDir dir;
  const std::string trace = make_synth_trace(dir);
  const std::string common = " --trace " + trace +
                             " --ranks 4 --slots 20 --window 10 --json"
                             " --expert_heat_collection_interval 5 --algorithm_execution_interval 2"
                             " --layer_updates_per_iter 2";
  const CliResult tune = run_eplb("tune" + common);
  const CliResult sim = run_eplb("simulate" + common + " --policy online");
  ASSERT_EQ(tune.exit_code, 0) << tune.err;
  ASSERT_EQ(sim.exit_code, 0) << sim.err;
  const auto t = nlohmann::json::parse(tune.out)["grid"][0];
  const auto s = nlohmann::json::parse(sim.out);
  EXPECT_DOUBLE_EQ(t["step_us_mean"].get<double>(), s["step_us_mean"].get<double>());
  EXPECT_DOUBLE_EQ(t["peak_to_avg_mean"].get<double>(), s["peak_to_avg_mean"].get<double>());
  EXPECT_EQ(t["moved_experts"], s["moved_experts"]);
}

TEST(TuneCommand, DefaultGridFitsTheTraceAndTablePrintsSnippets) {
  ScratchDir dir;
  const std::string trace = make_synth_trace(dir);
  const CliResult j =
      run_eplb("tune --trace " + trace + " --ranks 4 --slots 20 --window 10 --json");
  ASSERT_EQ(j.exit_code, 0) << j.err;
  // 40 steps: C in {10} (C <= steps / 2); A in {5, 10}; U in {1, 2, 4}.
  const auto grid = nlohmann::json::parse(j.out)["grid"];
  EXPECT_EQ(grid.size(), 6u);
  for (const auto& row : grid) {
    EXPECT_EQ(row["expert_heat_collection_interval"], 10);
    EXPECT_LE(row["algorithm_execution_interval"].get<int>(), 10);
  }

  const CliResult r = run_eplb("tune --trace " + trace + " --ranks 4 --slots 20 --window 10");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* text :
       {"Recommendation: expert_heat_collection_interval=", "\"dynamic_eplb\":true",
        "num_redundant_experts\":4", "num_slots: 20\nlayer_updates_per_iter: ", "vs none"}) {
    EXPECT_NE(r.out.find(text), std::string::npos) << text << "\n" << r.out;
  }
}

TEST(TuneCommand, BadKnobListIsAnError) {
  ScratchDir dir;
  const std::string trace = make_synth_trace(dir);
  const CliResult r = run_eplb("tune --trace " + trace + " --ranks 4 --layer_updates_per_iter 0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--layer_updates_per_iter 0"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace eplb::testing
