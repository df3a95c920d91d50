// heatmap_svg / heatmap_panel: token load per (layer, rank), before and after a placement.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <span>

#include "eplb/balance.h"
#include "eplb/error.h"
#include "eplb/sim/plots.h"
#include "sim/plot_frame.h"

namespace eplb::sim {
namespace {

using internal::text_width;

constexpr std::array<double, 3> kLow = {33, 102, 172};   // load 0: blue
constexpr std::array<double, 3> kMid = {247, 247, 247};  // load = layer mean: white
constexpr std::array<double, 3> kHigh = {178, 24, 43};   // load = scale maximum: red
constexpr const char* kNoData = "#cccccc";
constexpr size_t kMaxCellsWithTooltips = 2048;  // above this the file would grow large

std::string hex(const std::array<double, 3>& rgb) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "#%02x%02x%02x", static_cast<int>(std::lround(rgb[0])),
                static_cast<int>(std::lround(rgb[1])), static_cast<int>(std::lround(rgb[2])));
  return buf;
}

std::array<double, 3> mix(const std::array<double, 3>& a, const std::array<double, 3>& b,
                          double t) {
  t = std::clamp(t, 0.0, 1.0);
  return {a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t};
}

// Colour of `ratio` (load / layer mean) on the scale [0, vmax], white at 1.
std::string ratio_colour(double ratio, double vmax) {
  if (ratio <= 1) return hex(mix(kLow, kMid, ratio));
  return hex(mix(kMid, kHigh, (ratio - 1) / (vmax - 1)));
}

// Every `k`-th label fits when k * cell >= label + gap.
int label_every(double cell, double label_width) {
  return std::max(1, static_cast<int>(std::ceil((label_width + 6) / cell)));
}

void check_panel(const HeatmapPanel& p) {
  if (p.num_layers <= 0 || p.num_ranks <= 0 ||
      p.loads.size() != static_cast<size_t>(p.num_layers) * static_cast<size_t>(p.num_ranks) ||
      p.layer_ids.size() != static_cast<size_t>(p.num_layers)) {
    throw Error("heatmap panel '" + p.title + "': " + std::to_string(p.num_layers) + " layers x " +
                std::to_string(p.num_ranks) + " ranks does not match " +
                std::to_string(p.loads.size()) + " loads and " +
                std::to_string(p.layer_ids.size()) + " layer ids");
  }
}

}  // namespace

HeatmapPanel heatmap_panel(const LoadMatrix& loads, const Placement* placement, int num_ranks,
                           std::string title) {
  HeatmapPanel p;
  p.title = std::move(title);
  p.num_layers = loads.num_layers;
  p.num_ranks = placement ? placement->num_ranks : num_ranks;
  p.layer_ids = loads.layer_ids;
  if (p.num_ranks <= 0) throw Error("heatmap: rank count " + std::to_string(p.num_ranks));
  if (placement &&
      (placement->num_layers != loads.num_layers || placement->num_experts != loads.num_experts)) {
    throw Error("heatmap: placement of " + std::to_string(placement->num_layers) + " layers x " +
                std::to_string(placement->num_experts) + " experts for loads of " +
                std::to_string(loads.num_layers) + " layers x " +
                std::to_string(loads.num_experts) + " experts");
  }
  p.loads.reserve(static_cast<size_t>(p.num_layers) * static_cast<size_t>(p.num_ranks));
  for (int l = 0; l < loads.num_layers; ++l) {
    const std::vector<double> ranks =
        placement ? rank_loads(loads.layer(l), placement->layer_phy2log(l),
                               placement->layer_routing_weight(l), placement->num_ranks)
                  : contiguous_rank_loads(loads.layer(l), num_ranks);
    p.loads.insert(p.loads.end(), ranks.begin(), ranks.end());
  }
  return p;
}

std::string heatmap_svg(const std::vector<HeatmapPanel>& panels, const std::string& title,
                        const std::string& subtitle) {
  using namespace internal;
  if (panels.empty()) throw Error("heatmap: no panel");
  // ratio[p][l * R + r] = load / mean rank load of the layer; -1 for a layer without data.
  std::vector<std::vector<double>> ratios;
  std::vector<double> mean_peak;  // per panel, over layers with data
  double vmax = 1.5;
  size_t num_cells = 0;
  int max_layers = 0, max_ranks = 0;
  for (const HeatmapPanel& p : panels) {
    check_panel(p);
    max_layers = std::max(max_layers, p.num_layers);
    max_ranks = std::max(max_ranks, p.num_ranks);
    num_cells += p.loads.size();
    std::vector<double> r(p.loads.size(), -1);
    double peak_sum = 0;
    int with_data = 0;
    for (int l = 0; l < p.num_layers; ++l) {
      const auto row = std::span<const double>(p.loads).subspan(
          static_cast<size_t>(l) * static_cast<size_t>(p.num_ranks),
          static_cast<size_t>(p.num_ranks));
      const LayerBalance b = layer_balance(row);
      if (!b.has_data) continue;
      peak_sum += b.peak_to_avg;
      ++with_data;
      vmax = std::max(vmax, b.peak_to_avg);
      for (int k = 0; k < p.num_ranks; ++k) {
        r[static_cast<size_t>(l) * static_cast<size_t>(p.num_ranks) + static_cast<size_t>(k)] =
            row[static_cast<size_t>(k)] / b.mean;
      }
    }
    mean_peak.push_back(with_data > 0 ? peak_sum / with_data : 0);
    ratios.push_back(std::move(r));
  }
  const std::vector<double> scale_ticks = nice_ticks(0, vmax, 5);
  vmax = std::max(vmax, scale_ticks.empty() ? vmax : scale_ticks.back());

  // Cells fill about 360 x 420 units per panel, within readable bounds.
  const double cell_w = std::clamp(std::floor(360.0 / max_ranks), 3.0, 32.0);
  const double cell_h = std::clamp(std::floor(420.0 / max_layers), 3.0, 22.0);
  const double top = titles_height(subtitle) + 22;  // room for the panel titles
  const double left = 72;
  const double gap = 64;
  double x = left;
  std::vector<double> panel_x;
  for (const HeatmapPanel& p : panels) {
    panel_x.push_back(x);
    const double w = std::max(p.num_ranks * cell_w, text_width(p.title, 13) + 8);
    x += w + gap;
  }
  const double plot_bottom = top + max_layers * cell_h;
  const double legend_top = plot_bottom + 54;
  const double legend_w = 300;
  double width = std::max(x - gap + 24, legend_w + 2 * left);
  width = std::max(width, text_width(subtitle, 12) + 40);
  const double height = legend_top + 56;

  SvgDocument doc(width, height, title);
  draw_titles(doc, title, subtitle);
  const bool tooltips = num_cells <= kMaxCellsWithTooltips;
  TextStyle tick;
  tick.size = 10;
  tick.fill = "#444";
  TextStyle label;
  label.size = 12;
  label.anchor = TextAnchor::kMiddle;
  for (size_t pi = 0; pi < panels.size(); ++pi) {
    const HeatmapPanel& p = panels[pi];
    const double px = panel_x[pi];
    TextStyle head;
    head.size = 13;
    head.bold = true;
    doc.text(px, top - 24, p.title, head);
    head.bold = false;
    head.size = 11;
    head.fill = "#555";
    doc.text(px, top - 8, "mean peak/avg " + svg_number(mean_peak[pi], 3), head);
    for (int l = 0; l < p.num_layers; ++l) {
      for (int k = 0; k < p.num_ranks; ++k) {
        const size_t i =
            static_cast<size_t>(l) * static_cast<size_t>(p.num_ranks) + static_cast<size_t>(k);
        const double ratio = ratios[pi][i];
        const std::string fill = ratio < 0 ? kNoData : ratio_colour(ratio, vmax);
        std::string tip;
        if (tooltips) {
          tip = "layer " + std::to_string(p.layer_ids[static_cast<size_t>(l)]) + ", rank " +
                std::to_string(k) + ": " + svg_number(p.loads[i], 1) + " tokens" +
                (ratio < 0 ? std::string() : " (" + svg_number(ratio, 2) + "x mean)");
        }
        doc.rect(px + k * cell_w, top + l * cell_h, cell_w, cell_h, fill, "none", tip);
      }
    }
    doc.rect(px, top, p.num_ranks * cell_w, p.num_layers * cell_h, "none", "#888888");
    // Row labels: layer ids, as many as fit.
    tick.anchor = TextAnchor::kEnd;
    const int every_layer = label_every(cell_h, 8);
    for (int l = 0; l < p.num_layers; l += every_layer) {
      doc.text(px - 4, top + (l + 0.5) * cell_h + 3.5,
               std::to_string(p.layer_ids[static_cast<size_t>(l)]), tick);
    }
    // Column labels: rank indices, as many as fit.
    tick.anchor = TextAnchor::kMiddle;
    const int every_rank =
        label_every(cell_w, text_width(std::to_string(p.num_ranks - 1), tick.size));
    const double bottom = top + p.num_layers * cell_h;
    for (int k = 0; k < p.num_ranks; k += every_rank) {
      doc.text(px + (k + 0.5) * cell_w, bottom + 13, std::to_string(k), tick);
    }
    doc.text(px + p.num_ranks * cell_w / 2, bottom + 30, "rank", label);
    label.rotate = -90;
    doc.text(px - 40, top + p.num_layers * cell_h / 2, "layer", label);
    label.rotate = 0;
  }

  // The colour scale: a gradient bar with ticks, white at 1 (= the layer's mean).
  const double lx = (width - legend_w) / 2;
  doc.linear_gradient("load-scale", {{0.0, hex(kLow)}, {1.0 / vmax, hex(kMid)}, {1.0, hex(kHigh)}});
  doc.rect(lx, legend_top, legend_w, 12, "url(#load-scale)", "#888888");
  TextStyle scale_tick;
  scale_tick.size = 10;
  scale_tick.anchor = TextAnchor::kMiddle;
  const int digits = tick_digits(scale_ticks);
  for (const double t : scale_ticks) {
    const double tx = lx + legend_w * t / vmax;
    doc.line(tx, legend_top + 12, tx, legend_top + 16, "#888888");
    doc.text(tx, legend_top + 27, svg_number(t, digits), scale_tick);
  }
  doc.text(width / 2, legend_top - 8,
           "rank load / mean rank load of the layer (1 = balanced; grey: no data)", label);
  return doc.str();
}

}  // namespace eplb::sim
