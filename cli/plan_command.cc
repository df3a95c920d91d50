// eplb plan: loads -> a balanced placement file, with the balance before and after.
//
// `before` is the --current placement, else the default deployment (slot i holds expert
// i mod num_experts, slots split contiguously over ranks), scored on the same loads.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli_common.h"
#include "commands.h"
#include "eplb/balance.h"
#include "eplb/error.h"
#include "eplb/planner.h"

namespace eplb::cli {
namespace {

struct PlanFlags {
  LoadFlags load;
  int num_ranks = 0;
  int num_slots = 0;
  int num_nodes = 1;
  int num_groups = 1;
  std::string policy = "balanced";
  std::string routing = "even";
  std::string topology = "relaxed";
  double relax_threshold = PlanOptions{}.relax_threshold;
  double slack = PlanOptions{}.balance_slack;
  int max_moves = -1;
  double tolerance = 0.0;
  std::vector<int> exclude_ranks;
  std::string current;
  std::string format;
  std::string out;
  bool json = false;
};

nlohmann::json summary_json(const BalanceReport& r) {
  if (!r.average.has_data) return {{"mean", nullptr}, {"max", nullptr}};
  return {{"mean", r.average.peak_to_avg}, {"max", r.max_peak_to_avg}};
}

// Mean and worst over layers with data of the lower bound on max/mean (null without data).
nlohmann::json bound_json(const PlanReport& report) {
  double sum = 0;
  double worst = 0;
  int n = 0;
  for (const LayerReport& layer : report.layers) {
    if (!layer.has_data) continue;
    sum += layer.lower_bound;
    worst = std::max(worst, layer.lower_bound);
    ++n;
  }
  if (n == 0) return {{"mean", nullptr}, {"max", nullptr}};
  return {{"mean", sum / n}, {"max", worst}};
}

// [{"layer": id, "experts": [...]}] for the layers with experts on no live rank.
nlohmann::json uncovered_json(const LoadMatrix& loads, const PlanReport& report) {
  nlohmann::json layers = nlohmann::json::array();
  for (size_t l = 0; l < report.layers.size(); ++l) {
    if (report.layers[l].uncovered_experts.empty()) continue;
    layers.push_back({{"layer", loads.layer_ids[l]},
                      {"experts", report.layers[l].uncovered_experts}});
  }
  return layers;
}

std::string summary_cell(const BalanceReport& r, bool worst) {
  if (!r.average.has_data) return "n/a";
  return fixed(worst ? r.max_peak_to_avg : r.average.peak_to_avg, 4);
}

void print_summary(const PlanFlags& flags, const LoadMatrix& loads, const Placement& planned,
                   double plan_ms, const BalanceReport& before, const BalanceReport& after,
                   std::optional<int64_t> moved_slots, const PlanReport& report) {
  fmt::print("eplb plan: {} layers x {} experts -> {} slots on {} ranks ({} per rank), "
             "policy {}, planned in {:.3f} ms\n",
             loads.num_layers, loads.num_experts, planned.num_slots, planned.num_ranks,
             planned.slots_per_rank(), flags.policy, plan_ms);
  fmt::print("\n{:<32} {:>10} {:>10}\n", "max/mean rank load", "mean", "worst");
  const std::string before_label =
      flags.current.empty() ? std::string("before (default deployment)") : "before (--current)";
  fmt::print("{:<32} {:>10} {:>10}\n", before_label, summary_cell(before, false),
             summary_cell(before, true));
  fmt::print("{:<32} {:>10} {:>10}\n", "after", summary_cell(after, false),
             summary_cell(after, true));
  const nlohmann::json bound = bound_json(report);
  if (!bound["mean"].is_null()) {
    fmt::print("{:<32} {:>10} {:>10}\n", "lower bound (any placement)",
               fixed(bound["mean"].get<double>(), 4), fixed(bound["max"].get<double>(), 4));
  }
  fmt::print("\n");
  if (planned.num_ranks > 0 && flags.num_nodes > 1 && flags.num_groups > 1 &&
      after.average.has_data) {
    fmt::print("cross-node share: {:.2f}% of tokens served outside their group's main node "
               "({} layer(s) relaxed)\n",
               100 * report.cross_node_share, report.layers_relaxed);
  }
  const int without = loads.num_layers - after.num_layers_with_data;
  if (without > 0) {
    fmt::print("{} layer(s) without data kept their {} placement\n", without,
               flags.current.empty() ? "default" : "current");
  }
  if (!flags.exclude_ranks.empty()) {
    fmt::print("excluded ranks: {} (their slots keep their experts, routing weight 0)\n",
               fmt::join(flags.exclude_ranks, ","));
    if (report.layers_uncovered == 0) {
      fmt::print("every expert has a slot on a live rank in every layer\n");
    }
    for (size_t l = 0; l < report.layers.size(); ++l) {
      const std::vector<int32_t>& uncovered = report.layers[l].uncovered_experts;
      if (uncovered.empty()) continue;
      fmt::print("layer {}: {} expert(s) without a live slot (tokens dropped): {}\n",
                 loads.layer_ids[l], uncovered.size(), fmt::join(uncovered, ","));
    }
  }
  if (moved_slots) {
    fmt::print("moved slots: {} of {} ({:.1f}%)\n", *moved_slots,
               static_cast<int64_t>(planned.num_layers) * planned.num_slots,
               100.0 * static_cast<double>(*moved_slots) /
                   (static_cast<double>(planned.num_layers) * planned.num_slots));
  }
}

void run_plan(const PlanFlags& flags) {
  PlanOptions options;
  options.num_ranks = flags.num_ranks;
  options.num_slots = flags.num_slots;
  options.num_nodes = flags.num_nodes;
  options.num_groups = flags.num_groups;
  options.policy = parse_policy(flags.policy);
  options.routing = parse_routing(flags.routing);
  options.topology = parse_topology(flags.topology);
  options.relax_threshold = flags.relax_threshold;
  options.balance_slack = flags.slack;
  options.max_moves = flags.max_moves;
  options.move_tolerance = flags.tolerance;
  options.excluded_ranks = flags.exclude_ranks;
  std::optional<PlacementFormat> format;
  if (!flags.out.empty()) format = output_format(flags.format, flags.out);
  else if (!flags.format.empty()) format = parse_placement_format(flags.format, "--format");

  const LoadMatrix loads = read_load_flags(flags.load);
  check_plan_options(options, loads.num_experts);
  std::optional<Placement> current;
  if (!flags.current.empty()) {
    current = fit_to_loads(read_placement_flag(flags.current, flags.num_ranks), flags.current,
                           "--current", loads);
    if (current->num_slots != options.num_slots || current->num_ranks != options.num_ranks) {
      throw Error(fmt::format("--current {}: has {} slots on {} ranks, but --slots {} --ranks {}",
                              flags.current, current->num_slots, current->num_ranks,
                              options.num_slots, options.num_ranks));
    }
  }

  const auto start = std::chrono::steady_clock::now();
  const Placement planned = plan(loads, options, current ? &*current : nullptr);
  const auto stop = std::chrono::steady_clock::now();
  // Diagnostics (lower bound, topology) from a second, identical run, outside plan_ms.
  PlanReport report;
  plan(loads, options, current ? &*current : nullptr, &report);
  for (const std::string& warning : report.warnings) fmt::print(stderr, "warning: {}\n", warning);
  const double plan_ms = std::chrono::duration<double, std::milli>(stop - start).count();

  const Placement baseline =
      current ? *current
              : Placement::contiguous(loads.num_layers, loads.num_experts, options.num_ranks,
                                      options.num_slots, loads.layer_ids);
  const BalanceReport before = balance_report(loads, &baseline, options.num_ranks);
  const BalanceReport after = balance_report(loads, &planned, options.num_ranks);
  std::optional<int64_t> moved_slots;
  if (current) moved_slots = count_moved_slots(*current, planned);

  if (format) {
    warn_if_lossy(planned, *format, flags.out.empty() ? "stdout" : flags.out);
    if (!flags.exclude_ranks.empty() && *format != PlacementFormat::kEplb) {
      fmt::print(stderr,
                 "eplb: warning: {}: the {} format cannot mark the excluded ranks: an engine "
                 "loading it still routes tokens to ranks {} (--format eplb keeps them at "
                 "routing weight 0)\n",
                 flags.out.empty() ? "stdout" : flags.out, placement_format_name(*format),
                 fmt::join(flags.exclude_ranks, ","));
    }
    if (flags.out == "-") {
      if (flags.json) throw Error("--out - and --json both want stdout: give --out a file");
      std::fputs(format_placement(planned, *format).c_str(), stdout);
      return;
    }
    if (!flags.out.empty()) write_placement(flags.out, planned, *format);
  }
  if (flags.json) {
    nlohmann::json out;
    out["plan_ms"] = plan_ms;
    out["policy"] = flags.policy;
    out["layers"] = loads.num_layers;
    out["layers_with_data"] = after.num_layers_with_data;
    out["experts"] = loads.num_experts;
    out["ranks"] = options.num_ranks;
    out["slots"] = options.num_slots;
    out["nodes"] = options.num_nodes;
    out["groups"] = options.num_groups;
    out["before"] = summary_json(before);
    out["after"] = summary_json(after);
    if (moved_slots) out["moved_slots"] = *moved_slots;
    out["routing"] = flags.routing;
    out["lower_bound"] = bound_json(report);
    const bool topology = options.num_nodes > 1 && options.num_groups > 1;
    out["topology"] = topology ? nlohmann::json(flags.topology) : nlohmann::json(nullptr);
    out["cross_node_share"] =
        topology && after.average.has_data ? nlohmann::json(report.cross_node_share) : nlohmann::json(nullptr);
    out["layers_relaxed"] = report.layers_relaxed;
    int duplicates = 0;
    for (const LayerReport& layer : report.layers) duplicates += layer.duplicates;
    out["duplicates"] = duplicates;
    out["excluded_ranks"] = flags.exclude_ranks;
    out["uncovered_experts"] = uncovered_json(loads, report);
    out["out"] = flags.out.empty() ? nlohmann::json(nullptr) : nlohmann::json(flags.out);
    if (format) out["format"] = placement_format_name(*format);
    fmt::print("{}\n", out.dump());
    return;
  }
  print_summary(flags, loads, planned, plan_ms, before, after, moved_slots, report);
  if (flags.out.empty()) {
    fmt::print("no --out given: placement not written (use --out FILE, or --out - for stdout)\n");
  } else {
    fmt::print("wrote {} ({} format)\n", flags.out, placement_format_name(*format));
  }
}

}  // namespace

void add_plan_command(CLI::App& app) {
  auto flags = std::make_shared<PlanFlags>();
  CLI::App* command =
      app.add_subcommand("plan", "Plan a balanced placement (replicas and slots) from loads");
  add_load_flags(*command, flags->load);
  command->add_option("--ranks", flags->num_ranks, "expert-parallel ranks (GPUs)")->required();
  command->add_option("--slots", flags->num_slots,
                      "physical expert slots per layer over all ranks (experts + redundant)")
      ->required();
  command->add_option("--nodes", flags->num_nodes, "nodes (ranks split contiguously)")
      ->capture_default_str();
  command->add_option("--groups", flags->num_groups,
                      "expert groups of group-limited routing (DeepSeek-V3: 8)")
      ->capture_default_str();
  command->add_option("--policy", flags->policy, "balanced | deepseek | greedy")
      ->capture_default_str();
  command->add_option("--routing", flags->routing,
                      "even | weighted: also plan each replica's share of its expert's tokens "
                      "(written as routing_weight)")
      ->capture_default_str();
  command->add_option("--topology", flags->topology,
                      "relaxed | strict: with --nodes and --groups, relaxed lets hot experts' "
                      "replicas leave their group's node when keeping it costs balance")
      ->capture_default_str();
  command->add_option("--relax-threshold", flags->relax_threshold,
                      "relaxed topology: cross nodes in a layer only when strict is worse by "
                      "more than this (max/mean)")
      ->capture_default_str();
  command->add_option("--slack", flags->slack,
                      "balanced: stop refining within this factor of the lower bound "
                      "(larger: faster)")
      ->capture_default_str();
  command->add_option("--max-moves", flags->max_moves,
                      "with --current: at most this many moved slots per layer (-1: no limit)")
      ->capture_default_str();
  command->add_option("--tolerance", flags->tolerance,
                      "with --current: max/mean the plan may lose against a fresh plan to move "
                      "fewer slots")
      ->capture_default_str();
  command->add_option("--exclude-ranks", flags->exclude_ranks,
                      "ranks out of service, e.g. 3,7: plan over the other ranks' slots only "
                      "(excluded slots get routing weight 0; experts left without a live slot "
                      "are reported)")
      ->delimiter(',');
  command->add_option("--current", flags->current,
                      "the deployed placement: balance 'before' is scored on it, moves counted");
  command->add_option("--format", flags->format,
                      "eplb | trtllm | ascend (default: from --out's extension, else eplb)");
  command->add_option("--out", flags->out, "placement file to write atomically ('-': stdout)");
  command->add_flag("--json", flags->json,
                    "print one JSON object (plan_ms, before, after, moved_slots, lower_bound, "
                    "cross_node_share, ...)");
  command->callback([flags] { run_plan(*flags); });
}

}  // namespace eplb::cli
