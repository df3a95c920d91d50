// eplb tune: runs the simulator's online policy (the real runtime) over a grid of the knobs
// expert_heat_collection_interval x algorithm_execution_interval x layer_updates_per_iter,
// ranks the settings by estimated MoE step time (stalls included), recommends the fastest and
// prints the vllm-ascend and TensorRT-LLM configuration for it. The work is
// eplb::sim::simulate; this file builds the grid and prints.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "cli_common.h"
#include "commands.h"
#include "eplb/error.h"
#include "eplb/sim/simulator.h"
#include "eplb/sim/trace.h"
#include "sim_common.h"

namespace eplb::cli {
namespace {

struct TuneFlags {
  SimFlags sim;
  std::string collection;  // empty: default grid
  std::string algorithm;
  std::string layer_updates;
  bool json = false;
};

// Default grids, trimmed to what the trace can show: a collection interval needs at least two
// cycles in the trace, an algorithm interval longer than its collection interval only delays
// the plan, and no more layers move per step than there are.
std::vector<int> default_collection(int num_steps) {
  std::vector<int> out;
  for (int c : {10, 25, 50, 100, 200, 400}) {
    if (c <= num_steps / 2) out.push_back(c);
  }
  if (out.empty()) out.push_back(std::max(1, num_steps / 2));
  return out;
}

std::vector<int> default_layer_updates(int num_layers) {
  std::vector<int> out;
  for (int u : {1, 2, 4}) {
    if (u <= num_layers) out.push_back(u);
  }
  return out;
}

std::vector<sim::OnlineKnobs> build_grid(const TuneFlags& flags, const sim::LoadTrace& trace) {
  const std::vector<int> cs =
      flags.collection.empty()
          ? default_collection(trace.num_steps)
          : parse_int_list(flags.collection, "--expert_heat_collection_interval");
  const bool default_a = flags.algorithm.empty();
  const std::vector<int> as =
      default_a ? std::vector<int>{5, 10, 30}
                : parse_int_list(flags.algorithm, "--algorithm_execution_interval");
  const std::vector<int> us = flags.layer_updates.empty()
                                  ? default_layer_updates(trace.num_layers)
                                  : parse_int_list(flags.layer_updates, "--layer_updates_per_iter");
  std::vector<sim::OnlineKnobs> grid;
  for (int c : cs) {
    for (int a : as) {
      if (default_a && a > c && a != as.front()) continue;  // see default_collection
      for (int u : us) grid.push_back({c, a, u});
    }
  }
  return grid;
}

nlohmann::json knobs_json(const sim::OnlineKnobs& k) {
  return {{"expert_heat_collection_interval", k.expert_heat_collection_interval},
          {"algorithm_execution_interval", k.algorithm_execution_interval},
          {"layer_updates_per_iter", k.layer_updates_per_iter}};
}

// vllm-ascend's --additional-config for the knobs (names of the current releases).
nlohmann::ordered_json vllm_ascend_config(const sim::OnlineKnobs& k, int num_redundant) {
  nlohmann::ordered_json j;
  j["dynamic_eplb"] = true;
  j["expert_heat_collection_interval"] = k.expert_heat_collection_interval;
  j["algorithm_execution_interval"] = k.algorithm_execution_interval;
  j["num_redundant_experts"] = num_redundant;
  return j;
}

std::string percent_vs(double value, double base) {
  return base > 0 ? fmt::format("{:+.1f}%", (value / base - 1) * 100) : "-";
}

void run_tune(const TuneFlags& flags) {
  const sim::LoadTrace trace = read_trace_flags(flags.sim);
  sim::SimOptions options = sim_options(flags.sim, trace);
  const std::vector<sim::OnlineKnobs> grid = build_grid(flags, trace);
  const int64_t total = static_cast<int64_t>(grid.size() + 2) * trace.num_steps;
  Progress progress(total);
  int64_t before = 0;
  auto run = [&](sim::SimPolicy policy, const sim::OnlineKnobs& knobs, const std::string& label) {
    options.progress = [&](int64_t done) { progress.update(label, before + done); };
    sim::SimResult r = sim::simulate(trace, policy, options, knobs);
    before += trace.num_steps;
    return r;
  };
  const sim::SimResult none = run(sim::SimPolicy::kNone, {}, "none");
  const sim::SimResult fixed_plan = run(sim::SimPolicy::kStatic, {}, "static");
  std::vector<sim::SimResult> results;
  for (const sim::OnlineKnobs& k : grid) {
    results.push_back(run(sim::SimPolicy::kOnline, k, "online " + knobs_label(k)));
  }
  options.progress = nullptr;

  // Fastest first; ties: fewer bytes moved, then the longer collection interval (calmer).
  std::vector<size_t> order(grid.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (results[a].step_us_mean != results[b].step_us_mean)
      return results[a].step_us_mean < results[b].step_us_mean;
    if (results[a].moved_bytes != results[b].moved_bytes)
      return results[a].moved_bytes < results[b].moved_bytes;
    return grid[a].expert_heat_collection_interval > grid[b].expert_heat_collection_interval;
  });
  const sim::OnlineKnobs& best = grid[order.front()];
  const sim::SimResult& best_result = results[order.front()];
  const int num_redundant = options.num_slots - trace.num_experts;

  if (flags.json) {
    nlohmann::json out;
    out["trace"] = flags.sim.trace;
    out["steps"] = trace.num_steps;
    out["layers"] = trace.num_layers;
    out["experts"] = trace.num_experts;
    out["ranks"] = options.num_ranks;
    out["slots"] = options.num_slots;
    out["none"] = sim_metrics_json(none);
    out["static"] = sim_metrics_json(fixed_plan);
    out["grid"] = nlohmann::json::array();
    for (size_t rank = 0; rank < order.size(); ++rank) {
      nlohmann::json row = knobs_json(grid[order[rank]]);
      row["rank"] = rank + 1;
      row.update(sim_metrics_json(results[order[rank]]));
      out["grid"].push_back(std::move(row));
    }
    nlohmann::json rec = knobs_json(best);
    rec.update(sim_metrics_json(best_result));
    rec["vllm_ascend_additional_config"] =
        nlohmann::json::parse(vllm_ascend_config(best, num_redundant).dump());
    rec["trtllm_moe_load_balancer"] = {{"num_slots", options.num_slots},
                                       {"layer_updates_per_iter", best.layer_updates_per_iter}};
    out["recommendation"] = std::move(rec);
    fmt::print("{}\n", out.dump());
    return;
  }

  fmt::print("Trace {}: {} steps x {} layers x {} experts; {} slots on {} ranks\n", flags.sim.trace,
             trace.num_steps, trace.num_layers, trace.num_experts, options.num_slots,
             options.num_ranks);
  fmt::print(
      "Cost model: {} us/layer + {} us/token on the hottest rank; {:.1f} MB/expert at {} GB/s\n",
      options.cost.fixed_us, options.cost.token_us, options.cost.expert_bytes / 1e6,
      options.cost.bandwidth_gbs);
  fmt::print("{} online settings, fastest first (estimated MoE step time, stalls included):\n",
             grid.size());
  fmt::print("{:>4} {:>5} {:>4} {:>3} {:>9} {:>7} {:>11} {:>8} {:>10} {:>9} {:>9} {:>8}\n", "rank",
             "C", "A", "U", "p/a mean", "replans", "moved/plan", "GB/plan", "compute ms",
             "stall ms", "step ms", "vs none");
  for (size_t rank = 0; rank < order.size(); ++rank) {
    const sim::OnlineKnobs& k = grid[order[rank]];
    const sim::SimResult& r = results[order[rank]];
    fmt::print("{:>4} {:>5} {:>4} {:>3} {:>9} {:>7} {:>11} {:>8} {:>10} {:>9} {:>9} {:>8}\n",
               rank + 1, k.expert_heat_collection_interval, k.algorithm_execution_interval,
               k.layer_updates_per_iter, fixed(r.mean_peak_to_avg, 3), r.replans,
               fixed(r.moved_experts_per_replan, 1), fixed(r.moved_bytes_per_replan / 1e9, 2),
               fixed(r.compute_us_mean / 1e3, 3), fixed(r.stall_us_mean / 1e3, 3),
               fixed(r.step_us_mean / 1e3, 3), percent_vs(r.step_us_mean, none.step_us_mean));
  }
  fmt::print(
      "Reference: none {} ms per step (p/a {}); static plan on the first {} steps {} ms "
      "(p/a {})\n",
      fixed(none.step_us_mean / 1e3, 3), fixed(none.mean_peak_to_avg, 3),
      std::min(flags.sim.window, trace.num_steps), fixed(fixed_plan.step_us_mean / 1e3, 3),
      fixed(fixed_plan.mean_peak_to_avg, 3));
  fmt::print(
      "\nRecommendation: expert_heat_collection_interval={} algorithm_execution_interval={} "
      "layer_updates_per_iter={}: {} ms per step ({} vs none, {} vs static)\n",
      best.expert_heat_collection_interval, best.algorithm_execution_interval,
      best.layer_updates_per_iter, fixed(best_result.step_us_mean / 1e3, 3),
      percent_vs(best_result.step_us_mean, none.step_us_mean),
      percent_vs(best_result.step_us_mean, fixed_plan.step_us_mean));
  if (fixed_plan.step_us_mean < best_result.step_us_mean) {
    fmt::print(
        "Note: on this trace a static plan (eplb plan on its first {} steps) is faster "
        "than every online setting tried.\n",
        std::min(flags.sim.window, trace.num_steps));
  }
  fmt::print(
      "\nvllm-ascend (vllm serve ... --enable-expert-parallel --additional-config '...'):\n"
      "{}\n",
      vllm_ascend_config(best, num_redundant).dump());
  fmt::print(
      "  (releases before the rename call these num_iterations_eplb_update, "
      "num_wait_worker_iterations and init_redundancy_expert; vllm-ascend has no "
      "layer_updates_per_iter knob)\n");
  fmt::print(
      "\nTensorRT-LLM (moe_load_balancer.yaml, named by moe_config.load_balancer in the "
      "extra LLM API options):\n"
      "num_slots: {}\nlayer_updates_per_iter: {}\n",
      options.num_slots, best.layer_updates_per_iter);
  fmt::print(
      "  (TensorRT-LLM's online balancer updates from live statistics every iteration: "
      "it has no collection or algorithm interval to set)\n");
  fmt::print(
      "Knob values are in trace steps: multiply by the iterations per step when the trace "
      "sums several iterations per step.\n");
}

}  // namespace

void add_tune_command(CLI::App& app) {
  auto flags = std::make_shared<TuneFlags>();
  CLI::App* command = app.add_subcommand(
      "tune", "Grid-search the online balancer's knobs on a load trace and recommend a setting");
  add_sim_flags(*command, flags->sim);
  command->add_option("--expert_heat_collection_interval", flags->collection,
                      "comma list (default: 10,25,50,100,200,400 up to half the trace)");
  command->add_option("--algorithm_execution_interval", flags->algorithm,
                      "comma list (default: 5,10,30, those <= the collection interval)");
  command->add_option("--layer_updates_per_iter", flags->layer_updates,
                      "comma list (default: 1,2,4 up to the layer count)");
  add_cost_flags(*command, flags->sim.cost);
  command->add_flag("--json", flags->json, "print one JSON object: grid and recommendation");
  command->callback([flags] { run_tune(*flags); });
}

}  // namespace eplb::cli
