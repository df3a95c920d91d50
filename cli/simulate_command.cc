// eplb simulate: replays a [steps, layers, experts] load trace under several balancing
// policies (none, static, online through the real runtime, oracle) and compares imbalance,
// moves and an estimated MoE step time side by side. The work is eplb::sim::simulate; this
// file parses flags, expands knob grids and prints.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_common.h"
#include "commands.h"
#include "eplb/error.h"
#include "eplb/sim/simulator.h"
#include "eplb/sim/trace.h"
#include "sim_common.h"
#include "simulate_svg.h"

namespace eplb::cli {
namespace {

struct SimulateFlags {
  SimFlags sim;
  std::string policies = "none,static,online,oracle";
  std::string collection = "50";
  std::string algorithm = "10";
  std::string layer_updates = "1";
  bool json = false;
  std::string svg_dir;
};

struct Row {
  sim::SimPolicy policy;
  sim::OnlineKnobs knobs;
};

std::string knobs_text(const Row& row) {
  return row.policy == sim::SimPolicy::kOnline ? knobs_label(row.knobs) : "-";
}

nlohmann::json result_json(const Row& row, const sim::SimResult& r, const sim::LoadTrace& trace,
                           const sim::SimOptions& options, int window) {
  nlohmann::json j;
  j["policy"] = sim::sim_policy_name(row.policy);
  if (row.policy == sim::SimPolicy::kOnline) {
    j["expert_heat_collection_interval"] = row.knobs.expert_heat_collection_interval;
    j["algorithm_execution_interval"] = row.knobs.algorithm_execution_interval;
    j["layer_updates_per_iter"] = row.knobs.layer_updates_per_iter;
  }
  j["steps"] = trace.num_steps;
  j["layers"] = trace.num_layers;
  j["experts"] = trace.num_experts;
  j["ranks"] = options.num_ranks;
  j["slots"] = options.num_slots;
  j["window"] = window;
  j.update(sim_metrics_json(r));
  return j;
}

void run_simulate(const SimulateFlags& flags) {
  const sim::LoadTrace trace = read_trace_flags(flags.sim);
  sim::SimOptions options = sim_options(flags.sim, trace);

  std::vector<Row> rows;
  for (const std::string& name : split_commas(flags.policies)) {
    const sim::SimPolicy policy = sim::parse_sim_policy(name);
    if (policy != sim::SimPolicy::kOnline) {
      rows.push_back({policy, {}});
      continue;
    }
    for (int c : parse_int_list(flags.collection, "--expert_heat_collection_interval")) {
      for (int a : parse_int_list(flags.algorithm, "--algorithm_execution_interval")) {
        for (int u : parse_int_list(flags.layer_updates, "--layer_updates_per_iter")) {
          rows.push_back({policy, {c, a, u}});
        }
      }
    }
  }
  if (rows.empty()) throw Error("--policy " + flags.policies + ": no policy");

  Progress progress(static_cast<int64_t>(rows.size()) * trace.num_steps);
  std::vector<sim::SimResult> results;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string label = sim::sim_policy_name(rows[i].policy);
    if (rows[i].policy == sim::SimPolicy::kOnline) label += " " + knobs_text(rows[i]);
    const int64_t before = static_cast<int64_t>(i) * trace.num_steps;
    options.progress = [&](int64_t done) { progress.update(label, before + done); };
    results.push_back(sim::simulate(trace, rows[i].policy, options, rows[i].knobs));
  }
  options.progress = nullptr;

  std::vector<std::string> plots;
  if (!flags.svg_dir.empty()) {
    std::vector<PlottedRun> runs;
    for (size_t i = 0; i < rows.size(); ++i) {
      std::string label = sim::sim_policy_name(rows[i].policy);
      if (rows[i].policy == sim::SimPolicy::kOnline) label += " " + knobs_text(rows[i]);
      runs.push_back({label, &results[i]});
    }
    plots = write_simulate_svgs(flags.svg_dir, trace, runs, flags.sim.window, options.num_ranks,
                                options.num_slots, flags.sim.trace);
  }
  if (flags.json) {
    for (size_t i = 0; i < rows.size(); ++i) {
      fmt::print("{}\n", result_json(rows[i], results[i], trace, options, flags.sim.window).dump());
    }
    return;
  }
  fmt::print("Trace {}: {} steps x {} layers x {} experts; {} slots on {} ranks; window {} steps\n",
             flags.sim.trace, trace.num_steps, trace.num_layers, trace.num_experts,
             options.num_slots, options.num_ranks, std::min(flags.sim.window, trace.num_steps));
  fmt::print(
      "Cost model: {} us/layer + {} us/token on the hottest rank; {:.1f} MB/expert at {} GB/s\n",
      options.cost.fixed_us, options.cost.token_us, options.cost.expert_bytes / 1e6,
      options.cost.bandwidth_gbs);
  fmt::print("{:<8} {:<16} {:>9} {:>9} {:>7} {:>11} {:>10} {:>10} {:>9} {:>9} {:>8}\n", "policy",
             "knobs", "p/a mean", "p/a worst", "replans", "moved/plan", "GB/plan", "compute ms",
             "stall ms", "step ms", "vs none");
  double none_step_us = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].policy == sim::SimPolicy::kNone) none_step_us = results[i].step_us_mean;
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    const sim::SimResult& r = results[i];
    const std::string vs =
        none_step_us > 0 ? fmt::format("{:+.1f}%", (r.step_us_mean / none_step_us - 1) * 100) : "-";
    fmt::print("{:<8} {:<16} {:>9} {:>9} {:>7} {:>11} {:>10} {:>10} {:>9} {:>9} {:>8}\n",
               sim::sim_policy_name(rows[i].policy), knobs_text(rows[i]),
               fixed(r.mean_peak_to_avg, 3), fixed(r.worst_peak_to_avg, 3), r.replans,
               fixed(r.moved_experts_per_replan, 1), fixed(r.moved_bytes_per_replan / 1e9, 2),
               fixed(r.compute_us_mean / 1e3, 3), fixed(r.stall_us_mean / 1e3, 3),
               fixed(r.step_us_mean / 1e3, 3), vs);
  }
  fmt::print(
      "p/a = peak/avg (max/mean rank load per layer, mean over layers), per step; "
      "C/A/U = expert_heat_collection_interval / algorithm_execution_interval / "
      "layer_updates_per_iter\n");
  if (!plots.empty()) fmt::print("Plots: {}\n", fmt::join(plots, ", "));
}

}  // namespace

void add_simulate_command(CLI::App& app) {
  auto flags = std::make_shared<SimulateFlags>();
  CLI::App* command = app.add_subcommand(
      "simulate", "Replay a load trace under none/static/online/oracle balancing and compare");
  add_sim_flags(*command, flags->sim);
  command->add_option("--policy", flags->policies, "comma list of none, static, online, oracle")
      ->capture_default_str();
  command
      ->add_option("--expert_heat_collection_interval", flags->collection,
                   "online: steps of load collection per cycle (comma list: a grid)")
      ->capture_default_str();
  command
      ->add_option("--algorithm_execution_interval", flags->algorithm,
                   "online: steps from the gather to taking the plan (comma list)")
      ->capture_default_str();
  command
      ->add_option("--layer_updates_per_iter", flags->layer_updates,
                   "online: layers moved per step (comma list)")
      ->capture_default_str();
  add_cost_flags(*command, flags->sim.cost);
  command->add_flag("--json", flags->json, "print one JSON object per policy, one per line");
  command->add_option("--svg", flags->svg_dir,
                      "write imbalance.svg, heatmap.svg and moves.svg into this directory");
  command->callback([flags] { run_simulate(*flags); });
}

}  // namespace eplb::cli
