// eplb plan: loads -> a balanced placement file, with the balance before and after.
//
// `before` is the --current placement, else the default deployment (slot i holds expert
// i mod num_experts, slots split contiguously over ranks), scored on the same loads.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

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
  std::string current;
  std::string format;
  std::string out;
  bool json = false;
};

nlohmann::json summary_json(const BalanceReport& r) {
  if (!r.average.has_data) return {{"mean", nullptr}, {"max", nullptr}};
  return {{"mean", r.average.peak_to_avg}, {"max", r.max_peak_to_avg}};
}

std::string summary_cell(const BalanceReport& r, bool worst) {
  if (!r.average.has_data) return "n/a";
  return fixed(worst ? r.max_peak_to_avg : r.average.peak_to_avg, 4);
}

void print_summary(const PlanFlags& flags, const LoadMatrix& loads, const Placement& planned,
                   double plan_ms, const BalanceReport& before, const BalanceReport& after,
                   std::optional<int64_t> moved_slots) {
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
  fmt::print("\n");
  const int without = loads.num_layers - after.num_layers_with_data;
  if (without > 0) {
    fmt::print("{} layer(s) without data kept their {} placement\n", without,
               flags.current.empty() ? "default" : "current");
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
  std::optional<PlacementFormat> format;
  if (!flags.out.empty()) format = output_format(flags.format, flags.out);
  else if (!flags.format.empty()) format = parse_placement_format(flags.format, "--format");

  const LoadMatrix loads = read_load_flags(flags.load);
  check_plan_options(options, loads.num_experts);
  std::optional<Placement> current;
  if (!flags.current.empty()) {
    current = read_placement_for(flags.current, "--current", flags.num_ranks, loads);
    if (current->num_slots != options.num_slots || current->num_ranks != options.num_ranks) {
      throw Error(fmt::format("--current {}: has {} slots on {} ranks, but --slots {} --ranks {}",
                              flags.current, current->num_slots, current->num_ranks,
                              options.num_slots, options.num_ranks));
    }
  }

  const auto start = std::chrono::steady_clock::now();
  const Placement planned = plan(loads, options, current ? &*current : nullptr);
  const auto stop = std::chrono::steady_clock::now();
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
    out["out"] = flags.out.empty() ? nlohmann::json(nullptr) : nlohmann::json(flags.out);
    if (format) out["format"] = placement_format_name(*format);
    fmt::print("{}\n", out.dump());
    return;
  }
  print_summary(flags, loads, planned, plan_ms, before, after, moved_slots);
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
  command->add_option("--current", flags->current,
                      "the deployed placement: balance 'before' is scored on it, moves counted");
  command->add_option("--format", flags->format,
                      "eplb | trtllm | ascend (default: from --out's extension, else eplb)");
  command->add_option("--out", flags->out, "placement file to write atomically ('-': stdout)");
  command->add_flag("--json", flags->json,
                    "print one JSON object (plan_ms, before, after, moved_slots, ...)");
  command->callback([flags] { run_plan(*flags); });
}

}  // namespace eplb::cli
