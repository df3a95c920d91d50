// eplb simulate: replays a [steps, layers, experts] load trace under several balancing
// policies (none, static, online through the real runtime, oracle) and compares imbalance,
// moves and an estimated MoE step time side by side. The work is eplb::sim::simulate; this
// file parses flags, expands knob grids and prints.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli_common.h"
#include "commands.h"
#include "eplb/error.h"
#include "eplb/sim/simulator.h"
#include "eplb/sim/trace.h"

namespace eplb::cli {
namespace {

struct SimulateFlags {
  std::string trace;
  int window = 100;
  int num_ranks = 0;
  int num_slots = 0;
  int num_nodes = 1;
  int num_groups = 1;
  std::string policies = "none,static,online,oracle";
  std::string planner = "balanced";
  std::string collection = "50";
  std::string algorithm = "10";
  std::string layer_updates = "1";
  sim::CostModel cost;
  bool json = false;
};

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

std::vector<int> parse_int_list(const std::string& text, const std::string& flag) {
  std::vector<int> values;
  for (const std::string& part : split_commas(text)) {
    size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != part.size() || v < 1) {
      throw Error(flag + " " + text + ": expected positive integers separated by commas");
    }
    values.push_back(v);
  }
  if (values.empty()) throw Error(flag + ": no value");
  return values;
}

struct Row {
  sim::SimPolicy policy;
  sim::OnlineKnobs knobs;
};

std::string knobs_text(const Row& row) {
  if (row.policy != sim::SimPolicy::kOnline) return "-";
  return fmt::format("C={} A={} U={}", row.knobs.expert_heat_collection_interval,
                     row.knobs.algorithm_execution_interval, row.knobs.layer_updates_per_iter);
}

// A one-line progress bar on stderr, redrawn in place; only when stderr is a terminal.
class Progress {
 public:
  Progress(int64_t total) : enabled_(isatty(STDERR_FILENO) == 1), total_(total) {}
  ~Progress() {
    if (enabled_ && drawn_) std::fputs("\r\033[K", stderr);
  }
  void update(const std::string& label, int64_t done) {
    if (!enabled_) return;
    const int64_t percent = total_ > 0 ? done * 100 / total_ : 100;
    if (percent == last_percent_ && label == last_label_) return;
    last_percent_ = percent;
    last_label_ = label;
    constexpr int kWidth = 30;
    const auto filled = static_cast<int>(percent * kWidth / 100);
    fmt::print(stderr, "\r[{}{}] {:3}% {}\033[K", std::string(static_cast<size_t>(filled), '#'),
               std::string(static_cast<size_t>(kWidth - filled), ' '), percent, label);
    std::fflush(stderr);
    drawn_ = true;
  }

 private:
  bool enabled_;
  int64_t total_;
  int64_t last_percent_ = -1;
  std::string last_label_;
  bool drawn_ = false;
};

nlohmann::json result_json(const Row& row, const sim::SimResult& r, const sim::LoadTrace& trace,
                           const SimulateFlags& flags) {
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
  j["ranks"] = flags.num_ranks;
  j["slots"] = flags.num_slots;
  j["window"] = flags.window;
  j["peak_to_avg_mean"] = r.mean_peak_to_avg;
  j["peak_to_avg_worst"] = r.worst_peak_to_avg;
  j["replans"] = r.replans;
  j["moved_experts"] = r.moved_experts;
  j["moved_bytes"] = r.moved_bytes;
  j["moved_experts_per_replan"] = r.moved_experts_per_replan;
  j["moved_bytes_per_replan"] = r.moved_bytes_per_replan;
  j["compute_us_mean"] = r.compute_us_mean;
  j["stall_us_mean"] = r.stall_us_mean;
  j["stall_us_max"] = r.stall_us_max;
  j["step_us_mean"] = r.step_us_mean;
  return j;
}

void run_simulate(const SimulateFlags& flags) {
  const sim::LoadTrace trace = sim::read_trace(flags.trace);
  sim::SimOptions options;
  options.num_ranks = flags.num_ranks;
  options.num_slots = flags.num_slots > 0 ? flags.num_slots : trace.num_experts;
  options.num_nodes = flags.num_nodes;
  options.num_groups = flags.num_groups;
  options.planner = parse_policy(flags.planner);
  options.window_steps = flags.window;
  options.cost = flags.cost;

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

  if (flags.json) {
    for (size_t i = 0; i < rows.size(); ++i) {
      fmt::print("{}\n", result_json(rows[i], results[i], trace, flags).dump());
    }
    return;
  }
  fmt::print("Trace {}: {} steps x {} layers x {} experts; {} slots on {} ranks; window {} steps\n",
             flags.trace, trace.num_steps, trace.num_layers, trace.num_experts, options.num_slots,
             options.num_ranks, std::min(flags.window, trace.num_steps));
  fmt::print(
      "Cost model: {} us/layer + {} us/token on the hottest rank; {:.1f} MB/expert at {} GB/s\n",
      flags.cost.fixed_us, flags.cost.token_us, flags.cost.expert_bytes / 1e6,
      flags.cost.bandwidth_gbs);
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
}

}  // namespace

void add_simulate_command(CLI::App& app) {
  auto flags = std::make_shared<SimulateFlags>();
  CLI::App* command = app.add_subcommand(
      "simulate", "Replay a load trace under none/static/online/oracle balancing and compare");
  command->add_option("--trace", flags->trace, "[steps, layers, experts] .npy load trace")
      ->required();
  command
      ->add_option("--window", flags->window,
                   "steps: static plans on the first W, oracle on each block of W")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--ranks", flags->num_ranks, "ranks of the expert-parallel group")
      ->required()
      ->check(CLI::PositiveNumber);
  command
      ->add_option("--slots", flags->num_slots,
                   "physical slots per layer over all ranks (default: the expert count)")
      ->check(CLI::PositiveNumber);
  command->add_option("--nodes", flags->num_nodes, "nodes")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--groups", flags->num_groups, "expert groups (planner)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--policy", flags->policies, "comma list of none, static, online, oracle")
      ->capture_default_str();
  command->add_option("--planner", flags->planner, "balanced | deepseek | greedy")
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
  command
      ->add_option("--expert-bytes", flags->cost.expert_bytes,
                   "bytes of one expert (DeepSeek-V3: 3 x 7168 x 2048 FP8)")
      ->capture_default_str();
  command
      ->add_option("--bandwidth-gbs", flags->cost.bandwidth_gbs,
                   "GB/s into each rank for weight moves (400 Gb/s NIC)")
      ->capture_default_str();
  command
      ->add_option("--token-us", flags->cost.token_us, "us per token-expert assignment on a rank")
      ->capture_default_str();
  command->add_option("--fixed-us", flags->cost.fixed_us, "us per layer independent of load")
      ->capture_default_str();
  command->add_flag("--json", flags->json, "print one JSON object per policy, one per line");
  command->callback([flags] { run_simulate(*flags); });
}

}  // namespace eplb::cli
