// Flags and helpers shared by `eplb simulate` and `eplb tune`: the trace, the deployment, the
// planner and the cost model; comma lists of knobs; the progress bar.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "eplb/sim/cost_model.h"
#include "eplb/sim/simulator.h"
#include "eplb/sim/trace.h"

namespace eplb::cli {

struct SimFlags {
  std::string trace;
  std::string placement;  // --placement: maps per-slot TensorRT-LLM statistics to experts
  int window = 100;
  int num_ranks = 0;
  int num_slots = 0;  // 0: the trace's expert count
  int num_nodes = 1;
  int num_groups = 1;
  std::string planner = "balanced";
  std::string routing = "even";
  sim::CostModel cost;
};

// --trace --placement --window --ranks --slots --nodes --groups --planner --routing.
void add_sim_flags(CLI::App& command, SimFlags& flags);
// The trace of --trace (per-slot TensorRT-LLM statistics mapped through --placement).
sim::LoadTrace read_trace_flags(const SimFlags& flags);
// --expert-bytes --bandwidth-gbs --token-us --fixed-us.
void add_cost_flags(CLI::App& command, sim::CostModel& cost);

// The simulator's options for `trace` (slots defaulted to its expert count).
sim::SimOptions sim_options(const SimFlags& flags, const sim::LoadTrace& trace);

std::vector<std::string> split_commas(const std::string& text);
// Positive integers separated by commas; throws eplb::Error naming `flag` otherwise.
std::vector<int> parse_int_list(const std::string& text, const std::string& flag);

// "C=50 A=10 U=1".
std::string knobs_label(const sim::OnlineKnobs& knobs);

// The run's figures as simulate --json prints them (policy and knobs not included).
nlohmann::json sim_metrics_json(const sim::SimResult& r);

// A one-line progress bar on stderr, redrawn in place; only when stderr is a terminal.
class Progress {
 public:
  explicit Progress(int64_t total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void update(const std::string& label, int64_t done);

 private:
  bool enabled_;
  int64_t total_;
  int64_t last_percent_ = -1;
  std::string last_label_;
  bool drawn_ = false;
};

}  // namespace eplb::cli
