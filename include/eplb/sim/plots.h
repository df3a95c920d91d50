// Chart builders for `eplb simulate --svg`, `eplb report --svg` (the heatmap) and their tests.
// Each returns a complete SVG document (eplb/sim/svg.h); writing it is the caller's business.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eplb/load_matrix.h"
#include "eplb/placement.h"

namespace eplb::sim {

// The i-th colour of the categorical palette (cycles after 10), "#rrggbb".
std::string plot_colour(size_t i);

// One line of the imbalance chart: peak/avg per step; values <= 0 or non-finite (steps
// without data) leave a gap.
struct ImbalanceSeries {
  std::string label;
  std::string colour;          // "#rrggbb"; empty: plot_colour(series index)
  std::vector<double> values;  // [num_steps]
};

// Line chart of peak/avg (max/mean rank load) against the step, one line per series, with
// axes, ticks, a legend on the right and `title` / `subtitle` on top. Traces longer than 1280
// steps are drawn in 1280 buckets of consecutive steps, each by its lowest and highest value. Throws eplb::Error when
// `series` is empty or the series' lengths differ.
std::string imbalance_svg(const std::vector<ImbalanceSeries>& series, const std::string& title,
                          const std::string& subtitle = {});

// One panel of the heatmap: token load per (layer, rank).
struct HeatmapPanel {
  std::string title;
  int num_layers = 0;
  int num_ranks = 0;
  std::vector<int> layer_ids;  // [num_layers], the row labels
  std::vector<double> loads;   // [num_layers, num_ranks] tokens per rank
};

// The panel of `loads` under `placement` (rows aligned with the loads' rows), or, when
// `placement` is null, under the contiguous deployment on `num_ranks` ranks (expert e on rank
// e * num_ranks / num_experts, as `eplb report` computes it).
HeatmapPanel heatmap_panel(const LoadMatrix& loads, const Placement* placement, int num_ranks,
                           std::string title);

// Panels side by side, rows = layers, columns = ranks. A cell's colour is its load divided by
// the mean rank load of its layer in its panel (1 = perfectly balanced, white; below 1 blue,
// above red, one scale for every panel, shown as a legend bar); layers without data are grey.
// Throws eplb::Error when `panels` is empty, or a panel's shape is inconsistent.
std::string heatmap_svg(const std::vector<HeatmapPanel>& panels, const std::string& title,
                        const std::string& subtitle = {});

// The bars of one policy in the moves chart: slots re-filled per re-plan cycle.
struct MovesSeries {
  std::string label;
  std::string colour;          // empty: plot_colour(series index)
  std::vector<int64_t> moves;  // [num_cycles] slots re-filled, all ranks
  std::vector<int64_t> steps;  // [num_cycles] first step served by the cycle's moves
};

// Grouped bar chart: x = re-plan cycle (1-based), one bar per series in each group, y = slots
// re-filled. Throws eplb::Error when `series` is empty or moves and steps differ in length.
std::string moves_svg(const std::vector<MovesSeries>& series, const std::string& title,
                      const std::string& subtitle = {});

}  // namespace eplb::sim
