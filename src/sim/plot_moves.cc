// moves_svg: slots re-filled per re-plan cycle, grouped bars, one colour per policy.
#include <algorithm>

#include "eplb/error.h"
#include "eplb/sim/plots.h"
#include "sim/plot_frame.h"

namespace eplb::sim {

std::string moves_svg(const std::vector<MovesSeries>& series, const std::string& title,
                      const std::string& subtitle) {
  using namespace internal;
  if (series.empty()) throw Error("moves plot: no series");
  size_t num_cycles = 0;
  int64_t most = 0;
  std::vector<LegendEntry> legend;
  for (size_t i = 0; i < series.size(); ++i) {
    const MovesSeries& s = series[i];
    if (s.moves.size() != s.steps.size()) {
      throw Error("moves plot: series '" + s.label + "' has " + std::to_string(s.moves.size()) +
                  " cycles but " + std::to_string(s.steps.size()) + " steps");
    }
    num_cycles = std::max(num_cycles, s.moves.size());
    for (const int64_t m : s.moves) most = std::max(most, m);
    legend.push_back({s.label, s.colour.empty() ? plot_colour(i) : s.colour, true});
  }

  const auto top = static_cast<double>(std::max<int64_t>(most, 1));
  const std::vector<double> y_ticks = extend_ticks(nice_ticks(0, top, 6, true), top);
  PlotFrame f;
  f.left = 78;
  f.top = titles_height(subtitle);
  f.width = 640;
  f.height = 300;
  // Cycle c (1-based) is the group centred on x = c.
  f.x_min = 0.5;
  f.x_max = static_cast<double>(std::max<size_t>(num_cycles, 1)) + 0.5;
  f.y_min = 0;
  f.y_max = std::max(y_ticks.empty() ? 1.0 : y_ticks.back(), static_cast<double>(most));
  std::vector<double> x_ticks =
      nice_ticks(1, static_cast<double>(std::max<size_t>(num_cycles, 1)), 10, true);
  SvgDocument doc = open_chart(f, title, subtitle, legend, x_ticks, y_ticks, "re-plan cycle",
                                "slots re-filled (all ranks)");
  const double group_w = f.width / (f.x_max - f.x_min);
  const double bar_w = group_w * 0.8 / static_cast<double>(series.size());
  for (size_t i = 0; i < series.size(); ++i) {
    for (size_t c = 0; c < series[i].moves.size(); ++c) {
      const double x0 =
          f.x(static_cast<double>(c + 1)) - group_w * 0.4 + bar_w * static_cast<double>(i);
      const auto m = static_cast<double>(series[i].moves[c]);
      const double y = f.y(m);
      doc.rect(x0, y, std::max(bar_w, 0.5), f.top + f.height - y, legend[i].colour, "none",
               series[i].label + ", cycle " + std::to_string(c + 1) + " (from step " +
                   std::to_string(series[i].steps[c]) + "): " + std::to_string(series[i].moves[c]) +
                   " slots");
    }
  }
  if (num_cycles == 0) {
    TextStyle note;
    note.anchor = TextAnchor::kMiddle;
    note.fill = "#777";
    doc.text(f.left + f.width / 2, f.top + f.height / 2, "no re-plan committed", note);
  }
  return doc.str();
}

}  // namespace eplb::sim
