// The simulator of `eplb simulate`: replays a load trace under a balancing policy and scores
// every step with the placement in force at that step.
//
// Policies:
//   none    the default deployment (Placement::contiguous: slot i holds expert i mod
//           num_experts), never changed.
//   static  one plan from the first window_steps steps, deployed before step 0 (its moves are
//           reported, not charged as a stall: it is loaded at start-up).
//   online  the real runtime: num_ranks eplb::Balancer instances on an InProcessWorld, one
//           thread per rank, stepping in lock-step. Every rank records its share of each step's
//           per-expert counts (the count divided by num_ranks, the remainder to the lowest
//           ranks), so the gathered sums equal the trace. Weights are 8 bytes per expert (the
//           exchange really runs); bytes are accounted with the cost model's expert_bytes.
//           The planner is waited for before every after_forward (it is never late: the
//           simulation assumes planning fits in algorithm_execution_interval steps). A layer
//           committed at before_forward(t) was transferred during step t - 1, which is charged.
//   oracle  steps are cut into blocks of window_steps; each block is scored with a plan made
//           on that block's own loads (perfect foresight; moves reported, free: a bound).
// Score of a step: per layer with data, peak/avg = max/mean of rank loads (replicas split
// their expert's tokens evenly), averaged over those layers; steps without data are skipped.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "eplb/placement.h"
#include "eplb/planner.h"
#include "eplb/sim/cost_model.h"
#include "eplb/sim/trace.h"

namespace eplb::sim {

enum class SimPolicy { kNone, kStatic, kOnline, kOracle };

// "none" | "static" | "online" | "oracle"; throws eplb::Error naming the value otherwise.
SimPolicy parse_sim_policy(const std::string& name);
const char* sim_policy_name(SimPolicy policy);

// The runtime's knobs (BalancerConfig names) for the online policy.
struct OnlineKnobs {
  int expert_heat_collection_interval = 50;
  int algorithm_execution_interval = 10;
  int layer_updates_per_iter = 1;
};

struct SimOptions {
  int num_ranks = 0;
  int num_slots = 0;
  int num_nodes = 1;
  int num_groups = 1;
  Policy planner = Policy::kBalanced;
  // kWeighted: plans carry routing_weight and steps are scored by it; online, the balancer
  // routes by the planned shares (BalancerConfig::routing).
  Routing routing = Routing::kEven;
  int window_steps = 100;  // static's planning window and oracle's block; clipped to the trace
  CostModel cost;
  // Called on the simulating thread after each scored step (steps done of this policy).
  std::function<void(int64_t steps_done)> progress;
};

// One deployed placement: the first step served (in part, for online) by it and the slots it
// re-filled over all ranks and layers. Online: one per cycle that committed a layer.
struct Replan {
  int64_t step = 0;
  int64_t moved_experts = 0;
};

struct SimResult {
  SimPolicy policy = SimPolicy::kNone;
  OnlineKnobs knobs;                     // meaningful for kOnline only
  std::vector<double> step_peak_to_avg;  // [num_steps]; 0 for a step without data
  double mean_peak_to_avg = 0;           // over steps with data
  double worst_peak_to_avg = 0;
  int64_t replans = 0;        // placements deployed (online: cycles that committed)
  int64_t moved_experts = 0;  // slots re-filled, all ranks, all re-plans
  double moved_bytes = 0;     // moved_experts * expert_bytes
  double moved_experts_per_replan = 0;
  double moved_bytes_per_replan = 0;
  double compute_us_mean = 0;  // per step
  double stall_us_mean = 0;
  double step_us_mean = 0;  // compute + stall
  double stall_us_max = 0;
  std::vector<Replan> replan_moves;  // in step order
  Placement final_placement;         // in force for the last step
};

// Runs one policy over the whole trace. Throws eplb::Error for options that cannot describe
// a deployment of the trace's experts (naming the flag), or a runtime failure.
SimResult simulate(const LoadTrace& trace, SimPolicy policy, const SimOptions& options,
                   const OnlineKnobs& knobs = {});

}  // namespace eplb::sim
