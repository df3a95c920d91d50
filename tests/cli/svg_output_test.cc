// `eplb simulate --svg DIR` and `eplb report --svg`: the files exist, parse as XML, hold one
// line per policy row / one bar group per online row / one cell per (layer, rank), and render.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli_runner.h"
#include "synth_trace.h"
#include "support/svg_render.h"
#include "support/xml_check.h"

namespace eplb::testing {
namespace {

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(SimulateSvg, WritesThreeWellFormedPlots) {
  ScratchDir dir;
  const std::string trace = make_synth_trace(dir);
  const std::string out = dir.path("plots/sub");  // created, parents included
  const CliResult r =
      run_eplb("simulate --trace " + trace + " --ranks 4 --slots 20 --window 10 --svg " + out +
               " --expert_heat_collection_interval 5,10"
               " --algorithm_execution_interval 2 --layer_updates_per_iter 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Plots: " + out + "/imbalance.svg"), std::string::npos) << r.out;

  const std::string imbalance = slurp(out + "/imbalance.svg");
  auto check = check_xml(imbalance);
  ASSERT_EQ(check.error, "") << imbalance;
  // 5 rows (none, static, online x 2, oracle): a line each in the plot and in the legend.
  EXPECT_EQ(check.counts["polyline"], 5);
  EXPECT_EQ(check.counts["line"] >= 5, true);
  for (const char* label :
       {">none<", ">static<", ">online C=5 A=2 U=2<", ">online C=10 A=2 U=2<", ">oracle<"}) {
    EXPECT_NE(imbalance.find(label), std::string::npos) << label;
  }

  const std::string heatmap = slurp(out + "/heatmap.svg");
  check = check_xml(heatmap);
  ASSERT_EQ(check.error, "") << heatmap;
  EXPECT_EQ(occurrences(heatmap, " tokens"), 2u * 4 * 4);  // 2 panels x 4 layers x 4 ranks
  EXPECT_NE(heatmap.find(">before: default deployment<"), std::string::npos);
  EXPECT_NE(heatmap.find(">after: "), std::string::npos);
  EXPECT_NE(heatmap.find("last 10 steps"), std::string::npos);

  const std::string moves = slurp(out + "/moves.svg");
  check = check_xml(moves);
  ASSERT_EQ(check.error, "") << moves;
  EXPECT_GE(occurrences(moves, " slots</title>"), 2u);  // at least a cycle per online row
  EXPECT_NE(moves.find(">online C=5 A=2 U=2<"), std::string::npos);
  EXPECT_EQ(moves.find(">none<"), std::string::npos);  // online rows only

  if (have_xmllint()) {
    for (const char* name : {"imbalance.svg", "heatmap.svg", "moves.svg"}) {
      EXPECT_TRUE(xmllint_accepts(out + "/" + name)) << name;
    }
  }
  if (!have_rsvg_convert()) GTEST_SKIP() << "rsvg-convert not on PATH: rendering not checked";
  for (const char* name : {"imbalance.svg", "heatmap.svg", "moves.svg"}) {
    EXPECT_TRUE(is_png(render_png(out + "/" + name))) << name;
  }
}

TEST(SimulateSvg, NoMovesPlotWithoutOnlineRowsAndJsonStaysClean) {
  ScratchDir dir;
  const std::string trace = make_synth_trace(dir);
  const CliResult r = run_eplb("simulate --trace " + trace +
                               " --ranks 4 --policy none --json --svg " + dir.path("p"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("Plots"), std::string::npos);  // stdout is JSON lines only
  EXPECT_TRUE(std::filesystem::exists(dir.path("p/imbalance.svg")));
  EXPECT_TRUE(std::filesystem::exists(dir.path("p/heatmap.svg")));
  EXPECT_FALSE(std::filesystem::exists(dir.path("p/moves.svg")));
  // Only the default deployment: one panel.
  EXPECT_EQ(occurrences(slurp(dir.path("p/heatmap.svg")), " tokens"), 4u * 4);
}

TEST(SimulateSvg, UnwritableDirectoryNamesTheFlag) {
  ScratchDir dir;
  const std::string trace = make_synth_trace(dir);
  const std::string file = dir.write("occupied", "x");
  const CliResult r =
      run_eplb("simulate --trace " + trace + " --ranks 4 --policy none --svg " + file + "/d");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--svg " + file + "/d"), std::string::npos) << r.err;
}

// A TensorRT-LLM statistics trace keeps the model's layer ids (3, 4, 5) as heatmap rows.
TEST(SimulateSvg, HeatmapRowsCarryTheTracesLayerIds) {
  ScratchDir dir;
  const CliResult r = run_eplb("simulate --trace " + test_data("loads/trtllm_stats") +
                               " --ranks 2 --window 2 --policy none,static --svg " + dir.path("p"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string svg = slurp(dir.path("p/heatmap.svg"));
  ASSERT_EQ(check_xml(svg).error, "") << svg;
  for (const char* cell : {"layer 3, rank 0:", "layer 5, rank 1:"}) {
    EXPECT_EQ(occurrences(svg, cell), 2u) << cell;  // before and after
  }
  EXPECT_EQ(svg.find("layer 0, rank"), std::string::npos);
  EXPECT_NE(svg.find("last 2 steps"), std::string::npos);
}

// with_empty_layer.csv: layers 3, 4 (no data), 5; 4 experts.
TEST(ReportSvg, ContiguousHeatmapToAFileOrADirectory) {
  ScratchDir dir;
  CliResult r = run_eplb("report --load " + test_data("cli/with_empty_layer.csv") +
                         " --ranks 2 --svg " + dir.path("h.svg"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Heatmap: " + dir.path("h.svg")), std::string::npos) << r.out;
  const std::string svg = slurp(dir.path("h.svg"));
  ASSERT_EQ(check_xml(svg).error, "") << svg;
  EXPECT_EQ(occurrences(svg, " tokens"), 3u * 2);       // 3 layers x 2 ranks, one panel
  EXPECT_EQ(occurrences(svg, "fill=\"#cccccc\""), 2u);  // layer 4 has no data
  EXPECT_NE(svg.find("layer 3, rank 1: 70 tokens (1.4x mean)"), std::string::npos);

  r = run_eplb("report --load " + test_data("cli/with_empty_layer.csv") +
               " --ranks 2 --json --svg " + dir.path("d"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("Heatmap"), std::string::npos);  // stdout stays JSON
  EXPECT_EQ(check_xml(slurp(dir.path("d/heatmap.svg"))).error, "");
}

TEST(ReportSvg, BeforeAndAfterUnderAPlacement) {
  ScratchDir dir;
  const CliResult plan = run_eplb("plan --load " + test_data("cli/with_empty_layer.csv") +
                                  " --ranks 2 --slots 6 --out " + dir.path("p.json"));
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  const CliResult r =
      run_eplb("report --load " + test_data("cli/with_empty_layer.csv") + " --placement " +
               dir.path("p.json") + " --svg " + dir.path("h.svg"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string svg = slurp(dir.path("h.svg"));
  ASSERT_EQ(check_xml(svg).error, "") << svg;
  EXPECT_EQ(occurrences(svg, " tokens"), 2u * 3 * 2);  // before and after
  EXPECT_NE(svg.find(">before: experts contiguous on ranks<"), std::string::npos);
  EXPECT_NE(svg.find(">after: p.json<"), std::string::npos);
  EXPECT_NE(svg.find("layer 3, rank 1: 70 tokens"), std::string::npos);  // before
}

}  // namespace
}  // namespace eplb::testing
