// imbalance_svg: peak/avg per step, one line per policy; plot_colour.
#include <algorithm>
#include <cmath>

#include "eplb/error.h"
#include "eplb/sim/plots.h"
#include "sim/plot_frame.h"

namespace eplb::sim {
namespace {

constexpr size_t kMaxPoints = 1280;  // buckets per line: two per unit of the plot's width

}  // namespace

std::string plot_colour(size_t i) {
  // Ten colours that stay apart for common colour-vision deficiencies in pairs of neighbours.
  static const char* const kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                         "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return kPalette[i % (sizeof(kPalette) / sizeof(kPalette[0]))];
}

std::string imbalance_svg(const std::vector<ImbalanceSeries>& series, const std::string& title,
                          const std::string& subtitle) {
  using namespace internal;
  if (series.empty()) throw Error("imbalance plot: no series");
  const size_t num_steps = series[0].values.size();
  double y_hi = 1.0;
  for (const ImbalanceSeries& s : series) {
    if (s.values.size() != num_steps) {
      throw Error("imbalance plot: series '" + s.label + "' has " +
                  std::to_string(s.values.size()) + " steps, '" + series[0].label + "' has " +
                  std::to_string(num_steps));
    }
    for (const double v : s.values) {
      if (std::isfinite(v) && v > 0) y_hi = std::max(y_hi, v);
    }
  }
  std::vector<LegendEntry> legend;
  for (size_t i = 0; i < series.size(); ++i) {
    legend.push_back(
        {series[i].label, series[i].colour.empty() ? plot_colour(i) : series[i].colour, false});
  }

  // peak/avg >= 1 always: the axis starts at 1 (perfect balance).
  const std::vector<double> y_ticks = extend_ticks(nice_ticks(1.0, y_hi, 6), y_hi);
  const double last_step = num_steps > 1 ? static_cast<double>(num_steps - 1) : 1.0;
  const std::vector<double> x_ticks = nice_ticks(0, last_step, 8, true);
  PlotFrame f;
  f.left = 78;
  f.top = titles_height(subtitle);
  f.width = 640;
  f.height = 340;
  f.x_min = 0;
  f.x_max = last_step;
  f.y_min = 1.0;
  f.y_max = std::max(y_ticks.empty() ? y_hi : y_ticks.back(), y_hi);
  SvgDocument doc = open_chart(f, title, subtitle, legend, x_ticks, y_ticks, "step",
                                "peak/avg rank load (max/mean)");
  const size_t per_bucket = std::max<size_t>(1, (num_steps + kMaxPoints - 1) / kMaxPoints);
  for (size_t i = 0; i < series.size(); ++i) {
    // A run of steps with data is one polyline; a step without data ends it.
    std::vector<std::pair<double, double>> run;
    auto flush = [&] {
      if (run.size() == 1) {  // a lone point: draw it as a dot-sized segment
        run.push_back({run[0].first + 1, run[0].second});
      }
      doc.polyline(run, legend[i].colour, 1.5);
      run.clear();
    };
    // Long traces: steps are taken in buckets of `per_bucket` (about two per unit of width),
    // each drawn by its lowest and highest value in step order, so spikes stay visible and
    // the file stays small; a bucket without data is a gap.
    for (size_t begin = 0; begin < num_steps; begin += per_bucket) {
      const size_t end = std::min(num_steps, begin + per_bucket);
      size_t lo = end, hi = end;
      for (size_t t = begin; t < end; ++t) {
        const double v = series[i].values[t];
        if (!std::isfinite(v) || v <= 0) {
          if (per_bucket == 1) flush();
          continue;
        }
        if (lo == end || v < series[i].values[lo]) lo = t;
        if (hi == end || v > series[i].values[hi]) hi = t;
      }
      if (lo == end) {
        flush();
        continue;
      }
      for (const size_t t : {std::min(lo, hi), std::max(lo, hi)}) {
        run.push_back({f.x(static_cast<double>(t)), f.y(series[i].values[t])});
        if (lo == hi) break;
      }
    }
    flush();
  }
  return doc.str();
}

}  // namespace eplb::sim
