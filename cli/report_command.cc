// eplb report: per-layer and average rank-load balance, as TensorRT-LLM's
// report_load_statistics.py prints it (mean, std, imbalance = max/mean - 1) plus vllm-ascend's
// peak-to-average ratio (max/mean).
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli_common.h"
#include "commands.h"
#include "eplb/balance.h"
#include "eplb/error.h"
#include "eplb/file_util.h"
#include "eplb/sim/plots.h"

namespace eplb::cli {
namespace {

struct ReportFlags {
  LoadFlags load;
  int num_ranks = 0;
  std::string placement;
  bool json = false;
  std::string svg;
};

nlohmann::json balance_json(const LayerBalance& b) {
  if (!b.has_data) {
    return {{"has_data", false}, {"mean", nullptr}, {"std", nullptr}, {"max", nullptr},
            {"imbalance", nullptr}, {"peak_to_avg", nullptr}};
  }
  return {{"has_data", true}, {"mean", b.mean}, {"std", b.std}, {"max", b.max},
          {"imbalance", b.imbalance}, {"peak_to_avg", b.peak_to_avg}};
}

void print_table(const LoadMatrix& loads, const BalanceReport& report, const std::string& under) {
  fmt::print("Rank load statistics ({}):\n", under);
  fmt::print("{:>8} {:>14} {:>14} {:>10} {:>12}\n", "layer", "mean", "std", "imbalance",
             "peak/avg");
  for (int l = 0; l < loads.num_layers; ++l) {
    const LayerBalance& b = report.layers[static_cast<size_t>(l)];
    const int id = loads.layer_ids[static_cast<size_t>(l)];
    if (!b.has_data) {
      fmt::print("{:>8} {:>14}\n", id, "no data");
      continue;
    }
    fmt::print("{:>8} {:>14} {:>14} {:>10} {:>12}\n", id, fixed(b.mean, 1), fixed(b.std, 2),
               fixed(b.imbalance, 4), fixed(b.peak_to_avg, 4));
  }
  if (!report.average.has_data) {
    fmt::print("{:>8} {:>14}\n", "average", "no data in any layer");
    return;
  }
  const LayerBalance& a = report.average;
  fmt::print("{:>8} {:>14} {:>14} {:>10} {:>12}\n", "average", fixed(a.mean, 1), fixed(a.std, 2),
             fixed(a.imbalance, 4), fixed(a.peak_to_avg, 4));
  const int without = loads.num_layers - report.num_layers_with_data;
  if (without > 0) fmt::print("{} layer(s) without data left out of the average\n", without);
}

// --svg: a path ending in .svg is the file; anything else is a directory (created when
// missing) that receives heatmap.svg. Returns the file written.
std::string write_heatmap(const std::string& target, const LoadMatrix& loads,
                          const Placement* placement, int num_ranks, const ReportFlags& flags) {
  std::filesystem::path path(target);
  if (path.extension() != ".svg") {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) throw Error("--svg " + target + ": cannot create the directory: " + ec.message());
    path /= "heatmap.svg";
  }
  std::vector<sim::HeatmapPanel> panels;
  const int ranks = placement ? placement->num_ranks : num_ranks;
  panels.push_back(sim::heatmap_panel(loads, nullptr, ranks,
                                      placement ? "before: experts contiguous on ranks"
                                                : "experts contiguous on ranks"));
  if (placement) {
    panels.push_back(sim::heatmap_panel(
        loads, placement, ranks,
        "after: " + std::filesystem::path(flags.placement).filename().string()));
  }
  const std::string subtitle =
      fmt::format("{}: {} layers x {} experts on {} ranks",
                  std::filesystem::path(flags.load.path).filename().string(), loads.num_layers,
                  loads.num_experts, ranks);
  write_file_atomic(path.string(), sim::heatmap_svg(panels, "Rank load per layer", subtitle));
  return path.string();
}

void run_report(const ReportFlags& flags) {
  std::optional<Placement> placement;
  if (!flags.placement.empty()) {
    // Per-slot statistics need the placement to be read first; align it after the loads.
    placement = read_placement_flag(flags.placement, flags.num_ranks);
  } else if (flags.num_ranks <= 0) {
    throw Error("--ranks is required without --placement (experts are then laid out "
                "contiguously over that many ranks)");
  }
  const LoadMatrix loads = read_load_flags(flags.load, placement ? &*placement : nullptr);
  std::string under = fmt::format("{} experts contiguous on {} ranks", loads.num_experts,
                                  flags.num_ranks);
  if (placement) {
    placement = fit_to_loads(*placement, flags.placement, "--placement", loads);
    under = fmt::format("placement {}: {} slots on {} ranks{}", flags.placement,
                        placement->num_slots, placement->num_ranks,
                        placement->has_routing_weight() ? ", weighted routing" : "");
  }
  const BalanceReport report =
      balance_report(loads, placement ? &*placement : nullptr, flags.num_ranks);
  const std::string svg_path =
      flags.svg.empty() ? std::string()
                        : write_heatmap(flags.svg, loads, placement ? &*placement : nullptr,
                                        flags.num_ranks, flags);
  if (!flags.json) {
    print_table(loads, report, under);
    if (!svg_path.empty()) fmt::print("Heatmap: {}\n", svg_path);
    return;
  }
  nlohmann::json out;
  out["load"] = flags.load.path;
  out["num_layers"] = loads.num_layers;
  out["num_experts"] = loads.num_experts;
  out["num_ranks"] = placement ? placement->num_ranks : flags.num_ranks;
  out["placement"] = placement ? nlohmann::json(flags.placement) : nlohmann::json(nullptr);
  out["num_layers_with_data"] = report.num_layers_with_data;
  out["layers"] = nlohmann::json::array();
  for (int l = 0; l < loads.num_layers; ++l) {
    nlohmann::json layer = balance_json(report.layers[static_cast<size_t>(l)]);
    layer["layer"] = loads.layer_ids[static_cast<size_t>(l)];
    out["layers"].push_back(std::move(layer));
  }
  out["average"] = balance_json(report.average);
  out["max_peak_to_avg"] =
      report.average.has_data ? nlohmann::json(report.max_peak_to_avg) : nlohmann::json(nullptr);
  fmt::print("{}\n", out.dump());
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto flags = std::make_shared<ReportFlags>();
  CLI::App* command = app.add_subcommand(
      "report", "Rank-load imbalance per layer and on average (contiguous or under a placement)");
  add_load_flags(*command, flags->load);
  command->add_option("--ranks", flags->num_ranks, "ranks (required without --placement)")
      ->check(CLI::PositiveNumber);
  command->add_option("--placement", flags->placement,
                      "placement file (eplb .json, trtllm .yaml, ascend .json)");
  command->add_flag("--json", flags->json, "print one JSON object instead of the table");
  command->add_option("--svg", flags->svg,
                      "write a layer x rank load heatmap (FILE.svg, or DIR/heatmap.svg); with "
                      "--placement: before (contiguous) and after side by side");
  command->callback([flags] { run_report(*flags); });
}

}  // namespace eplb::cli
