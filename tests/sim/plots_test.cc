// The chart builders: well-formed SVG, one element per series / cell / bar, escaped labels,
// errors for inconsistent input, and (when rsvg-convert is installed) a real render.
#include "eplb/sim/plots.h"

#include <gtest/gtest.h>

#include "eplb/balance.h"
#include "sim/plot_frame.h"
#include "support/svg_render.h"
#include "support/test_support.h"
#include "support/xml_check.h"

namespace eplb::sim {
namespace {

using eplb::testing::check_xml;
using eplb::testing::error_of;

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::vector<ImbalanceSeries> three_series() {
  return {{"none", "", {1.5, 1.6, 1.4, 1.5}},
          {"online C=5 <&>", "", {1.5, 1.2, 0, 1.1}},  // step 2 has no data: a gap
          {"oracle", "#123456", {1.0, 1.05, 1.0, 1.02}}};
}

TEST(NiceTicks, RoundStepsCoveringTheRange) {
  EXPECT_EQ(internal::nice_ticks(0, 10, 5), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(internal::nice_ticks(1, 4.9, 6), (std::vector<double>{1, 2, 3, 4}));  // 0.65 -> 1
  EXPECT_EQ(internal::nice_ticks(1, 2.9, 6), (std::vector<double>{1, 1.5, 2, 2.5}));
  EXPECT_EQ(internal::nice_ticks(0, 3, 10, true), (std::vector<double>{0, 1, 2, 3}));
  EXPECT_EQ(internal::extend_ticks({0, 500, 1000}, 1084),
            (std::vector<double>{0, 500, 1000, 1500}));
  EXPECT_EQ(internal::extend_ticks({0, 500, 1000}, 1000), (std::vector<double>{0, 500, 1000}));
  EXPECT_GE(internal::nice_ticks(5, 5, 4).size(), 2u);  // an empty range still gets an axis
  EXPECT_EQ(internal::tick_digits({0, 0.5, 1}), 1);
  EXPECT_EQ(internal::tick_digits({0, 200, 400}), 0);
  EXPECT_EQ(internal::tick_digits({1, 1.25, 1.5}), 2);
}

TEST(ImbalanceSvg, OneLinePerRunOfDataAndEscapedLegend) {
  const std::string svg = imbalance_svg(three_series(), "Imbalance", "trace <x>");
  const auto check = check_xml(svg);
  ASSERT_EQ(check.error, "") << svg;
  // none: 1 line, online: 2 (split by the gap), oracle: 1; the legend draws one line each.
  EXPECT_EQ(check.counts.at("polyline"), 4);
  EXPECT_NE(svg.find("online C=5 &lt;&amp;&gt;"), std::string::npos);
  EXPECT_NE(svg.find("trace &lt;x&gt;"), std::string::npos);
  EXPECT_NE(svg.find("stroke=\"#123456\""), std::string::npos);
  EXPECT_NE(svg.find(plot_colour(0)), std::string::npos);
  EXPECT_NE(svg.find(">peak/avg rank load (max/mean)<"), std::string::npos);
  EXPECT_NE(svg.find(">step<"), std::string::npos);
}

// 10000 steps: drawn in 1280 buckets of 8 steps by their lowest and highest value, so a
// one-step spike survives and the file stays small.
TEST(ImbalanceSvg, LongTracesKeepSpikesInBoundedSize) {
  std::vector<double> values(10000, 1.2);
  values[4321] = 3.5;
  const std::string svg = imbalance_svg({{"long", "", values}}, "t");
  ASSERT_EQ(check_xml(svg).error, "");
  EXPECT_LT(svg.size(), 60000u);
  EXPECT_EQ(occurrences(svg, "<polyline"), 1u);  // the legend's swatch is a <line>
  const size_t at = svg.find("points=\"");
  ASSERT_NE(at, std::string::npos);
  const std::string points = svg.substr(at, svg.find('"', at + 8) - at);
  EXPECT_LE(occurrences(points, ","), 2u * 1250);
  EXPECT_GE(occurrences(points, ","), 1250u);
  // 3.5 is the top of the axis (ticks 1..3.5), drawn at the plot's top edge, y = 44.
  EXPECT_NE(points.find(",44 "), std::string::npos) << "the spike is kept";
}

TEST(ImbalanceSvg, RejectsNoSeriesAndUnequalLengths) {
  EXPECT_EQ(error_of([] { imbalance_svg({}, "t"); }), "imbalance plot: no series");
  auto series = three_series();
  series[2].values.pop_back();
  EXPECT_EQ(error_of([&] { imbalance_svg(series, "t"); }),
            "imbalance plot: series 'oracle' has 3 steps, 'none' has 4");
}

// 2 layers x 4 experts on 2 ranks. Layer 0 loads {10, 20, 30, 40}: contiguous rank loads
// {30, 70}; layer 1 has no data.
LoadMatrix toy_loads() {
  LoadMatrix m = LoadMatrix::zeros(2, 4);
  m.layer_ids = {3, 4};
  const double row[] = {10, 20, 30, 40};
  std::copy(std::begin(row), std::end(row), m.layer(0).begin());
  return m;
}

TEST(HeatmapPanel, RankLoadsAsEplbReportComputesThem) {
  const LoadMatrix loads = toy_loads();
  const HeatmapPanel before = heatmap_panel(loads, nullptr, 2, "before");
  EXPECT_EQ(before.num_layers, 2);
  EXPECT_EQ(before.num_ranks, 2);
  EXPECT_EQ(before.layer_ids, (std::vector<int>{3, 4}));
  EXPECT_EQ(before.loads, (std::vector<double>{30, 70, 0, 0}));
  // Swap experts 1 and 3: rank 0 holds {0, 3} = 50, rank 1 holds {2, 1} = 50.
  Placement p = Placement::contiguous(2, 4, 2, 4, {3, 4});
  p.phy2log = {0, 3, 2, 1, 0, 1, 2, 3};
  const HeatmapPanel after = heatmap_panel(loads, &p, 0, "after");
  EXPECT_EQ(after.loads, (std::vector<double>{50, 50, 0, 0}));
  Placement other = Placement::contiguous(3, 4, 2, 4);
  EXPECT_NE(error_of([&] { heatmap_panel(loads, &other, 0, "x"); }).find("3 layers"),
            std::string::npos);
}

TEST(HeatmapSvg, OneCellPerLayerAndRankPerPanelGreyWithoutData) {
  const LoadMatrix loads = toy_loads();
  Placement p = Placement::contiguous(2, 4, 2, 4, {3, 4});
  p.phy2log = {0, 3, 2, 1, 0, 1, 2, 3};
  const std::vector<HeatmapPanel> panels = {heatmap_panel(loads, nullptr, 2, "before <a>"),
                                            heatmap_panel(loads, &p, 0, "after")};
  const std::string svg = heatmap_svg(panels, "Heatmap", "sub");
  const auto check = check_xml(svg);
  ASSERT_EQ(check.error, "") << svg;
  EXPECT_EQ(occurrences(svg, " tokens"), 8u);           // 2 panels x 2 layers x 2 ranks, tooltips
  EXPECT_EQ(occurrences(svg, "fill=\"#cccccc\""), 4u);  // layer 4 has no data, both panels
  EXPECT_NE(svg.find("layer 3, rank 1: 70 tokens (1.4x mean)"), std::string::npos);
  EXPECT_NE(svg.find("layer 3, rank 0: 50 tokens (1x mean)"), std::string::npos);
  EXPECT_NE(svg.find("mean peak/avg 1.4<"), std::string::npos);
  EXPECT_NE(svg.find("mean peak/avg 1<"), std::string::npos);
  EXPECT_NE(svg.find("before &lt;a&gt;"), std::string::npos);
  EXPECT_EQ(check.counts.at("linearGradient"), 1);  // the colour scale
  EXPECT_EQ(check.counts.at("stop"), 3);
}

TEST(HeatmapSvg, RejectsInconsistentPanels) {
  HeatmapPanel p;
  p.title = "bad";
  p.num_layers = 2;
  p.num_ranks = 2;
  p.layer_ids = {0, 1};
  p.loads = {1, 2, 3};
  EXPECT_EQ(error_of([&] { heatmap_svg({p}, "t"); }),
            "heatmap panel 'bad': 2 layers x 2 ranks does not match 3 loads and 2 layer ids");
  EXPECT_EQ(error_of([] { heatmap_svg({}, "t"); }), "heatmap: no panel");
}

TEST(MovesSvg, OneBarPerCycleAndSeries) {
  const std::vector<MovesSeries> series = {{"online C=20", "", {300, 120, 80}, {20, 45, 70}},
                                           {"online C=50", "", {310}, {50}}};
  const std::string svg = moves_svg(series, "Moves", "");
  const auto check = check_xml(svg);
  ASSERT_EQ(check.error, "") << svg;
  EXPECT_EQ(occurrences(svg, " slots</title>"), 4u);
  EXPECT_NE(svg.find("online C=20, cycle 2 (from step 45): 120 slots"), std::string::npos);
  EXPECT_NE(svg.find(">re-plan cycle<"), std::string::npos);
  EXPECT_EQ(error_of([] {
              moves_svg({{"x", "", {1}, {}}}, "t");
            }),
            "moves plot: series 'x' has 1 cycles but 0 steps");
}

TEST(PlotsRender, RsvgConvertAcceptsEveryChart) {
  if (!eplb::testing::have_rsvg_convert()) GTEST_SKIP() << "rsvg-convert not on PATH";
  eplb::testing::ScratchDir dir;
  const LoadMatrix loads = toy_loads();
  const std::vector<std::pair<std::string, std::string>> charts = {
      {"imbalance.svg", imbalance_svg(three_series(), "Imbalance")},
      {"heatmap.svg", heatmap_svg({heatmap_panel(loads, nullptr, 2, "before")}, "Heatmap")},
      {"moves.svg", moves_svg({{"online", "", {3, 1}, {5, 10}}}, "Moves")}};
  for (const auto& [name, svg] : charts) {
    const std::string png = eplb::testing::render_png(dir.write(name, svg));
    EXPECT_TRUE(eplb::testing::is_png(png)) << name;
    EXPECT_GT(png.size(), 1000u) << name;
  }
}

}  // namespace
}  // namespace eplb::sim
