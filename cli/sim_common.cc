#include "sim_common.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "cli_common.h"
#include "eplb/error.h"

namespace eplb::cli {

void add_sim_flags(CLI::App& command, SimFlags& flags) {
  command
      .add_option("--trace", flags.trace,
                  "load trace: [steps, layers, experts] .npy, a TensorRT-LLM statistics directory, "
                  "or SGLang dumps (a directory or a glob)")
      ->required();
  command.add_option("--placement", flags.placement,
                     "the placement deployed while per-slot TensorRT-LLM statistics (EPLB active) "
                     "were dumped: maps their slots to experts");
  command
      .add_option("--window", flags.window,
                  "steps: static plans on the first W, oracle on each block of W")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command.add_option("--ranks", flags.num_ranks, "ranks of the expert-parallel group")
      ->required()
      ->check(CLI::PositiveNumber);
  command
      .add_option("--slots", flags.num_slots,
                  "physical slots per layer over all ranks (default: the expert count)")
      ->check(CLI::PositiveNumber);
  command.add_option("--nodes", flags.num_nodes, "nodes")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command.add_option("--groups", flags.num_groups, "expert groups (planner)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command.add_option("--planner", flags.planner, "balanced | deepseek | greedy")
      ->capture_default_str();
  command
      .add_option("--routing", flags.routing,
                  "even | weighted: plans also give each replica its share of the expert's tokens, "
                  "and steps are scored (online: routed) by them")
      ->capture_default_str();
}

void add_cost_flags(CLI::App& command, sim::CostModel& cost) {
  command
      .add_option("--expert-bytes", cost.expert_bytes,
                  "bytes of one expert (DeepSeek-V3: 3 x 7168 x 2048 FP8)")
      ->capture_default_str();
  command
      .add_option("--bandwidth-gbs", cost.bandwidth_gbs,
                  "GB/s into each rank for weight moves (400 Gb/s NIC)")
      ->capture_default_str();
  command.add_option("--token-us", cost.token_us, "us per token-expert assignment on a rank")
      ->capture_default_str();
  command.add_option("--fixed-us", cost.fixed_us, "us per layer independent of load")
      ->capture_default_str();
}

sim::LoadTrace read_trace_flags(const SimFlags& flags) {
  if (flags.placement.empty()) return sim::read_trace(flags.trace);
  const Placement placement = read_placement_flag(flags.placement, flags.num_ranks);
  return sim::read_trace(flags.trace, &placement);
}

sim::SimOptions sim_options(const SimFlags& flags, const sim::LoadTrace& trace) {
  sim::SimOptions options;
  options.num_ranks = flags.num_ranks;
  options.num_slots = flags.num_slots > 0 ? flags.num_slots : trace.num_experts;
  options.num_nodes = flags.num_nodes;
  options.num_groups = flags.num_groups;
  options.planner = parse_policy(flags.planner);
  options.routing = parse_routing(flags.routing);
  options.window_steps = flags.window;
  options.cost = flags.cost;
  return options;
}

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

std::string knobs_label(const sim::OnlineKnobs& knobs) {
  return fmt::format("C={} A={} U={}", knobs.expert_heat_collection_interval,
                     knobs.algorithm_execution_interval, knobs.layer_updates_per_iter);
}

nlohmann::json sim_metrics_json(const sim::SimResult& r) {
  nlohmann::json j;
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

Progress::Progress(int64_t total) : enabled_(isatty(STDERR_FILENO) == 1), total_(total) {}

Progress::~Progress() {
  if (enabled_ && drawn_) std::fputs("\r\033[K", stderr);
}

void Progress::update(const std::string& label, int64_t done) {
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

}  // namespace eplb::cli
