#include "simulate_svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "eplb/error.h"
#include "eplb/file_util.h"
#include "eplb/sim/plots.h"

namespace eplb::cli {
namespace {

// The run whose final placement the heatmap shows: lowest step time among static and online,
// else among oracle runs; null when every run is `none`.
const PlottedRun* best_run(const std::vector<PlottedRun>& runs) {
  const PlottedRun* best = nullptr;
  for (const bool bound : {false, true}) {
    for (const PlottedRun& run : runs) {
      const sim::SimPolicy p = run.result->policy;
      if (p == sim::SimPolicy::kNone || (p == sim::SimPolicy::kOracle) != bound) continue;
      if (!best || run.result->step_us_mean < best->result->step_us_mean) best = &run;
    }
    if (best) return best;
  }
  return nullptr;
}

}  // namespace

std::vector<std::string> write_simulate_svgs(const std::string& dir, const sim::LoadTrace& trace,
                                             const std::vector<PlottedRun>& runs, int window,
                                             int num_ranks, int num_slots,
                                             const std::string& source) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("--svg " + dir + ": cannot create the directory: " + ec.message());
  const std::string where =
      fmt::format("{}: {} steps x {} layers x {} experts, {} slots on {} ranks",
                  std::filesystem::path(source).filename().string(), trace.num_steps,
                  trace.num_layers, trace.num_experts, num_slots, num_ranks);
  std::vector<std::string> written;
  auto write = [&](const std::string& name, const std::string& svg) {
    const std::string path = (std::filesystem::path(dir) / name).string();
    write_file_atomic(path, svg);
    written.push_back(path);
  };

  std::vector<sim::ImbalanceSeries> lines;
  std::vector<sim::MovesSeries> bars;
  for (size_t i = 0; i < runs.size(); ++i) {
    const sim::SimResult& r = *runs[i].result;
    lines.push_back({runs[i].label, sim::plot_colour(i), r.step_peak_to_avg});
    if (r.policy != sim::SimPolicy::kOnline) continue;
    sim::MovesSeries s{runs[i].label, sim::plot_colour(i), {}, {}};
    for (const sim::Replan& p : r.replan_moves) {
      s.moves.push_back(p.moved_experts);
      s.steps.push_back(p.step);
    }
    bars.push_back(std::move(s));
  }
  write("imbalance.svg", sim::imbalance_svg(lines, "Rank-load imbalance per step", where));

  const int last = std::clamp(window, 1, trace.num_steps);
  LoadMatrix loads = trace.window_sum(trace.num_steps - last, trace.num_steps);
  if (!trace.layer_ids.empty()) loads.layer_ids = trace.layer_ids;  // the model's, as labels
  const Placement before =
      Placement::contiguous(trace.num_layers, trace.num_experts, num_ranks, num_slots);
  std::vector<sim::HeatmapPanel> panels;
  panels.push_back(sim::heatmap_panel(loads, &before, num_ranks, "before: default deployment"));
  if (const PlottedRun* best = best_run(runs)) {
    panels.push_back(sim::heatmap_panel(loads, &best->result->final_placement, num_ranks,
                                        "after: " + best->label + " (final placement)"));
  }
  write("heatmap.svg",
        sim::heatmap_svg(panels, fmt::format("Rank load per layer, last {} steps", last), where));

  if (!bars.empty()) {
    write("moves.svg", sim::moves_svg(bars, "Expert moves per re-plan cycle (online)", where));
  }
  return written;
}

}  // namespace eplb::cli
