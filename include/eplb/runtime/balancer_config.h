// Configuration of the online balancer, with vllm-ascend's knob names (and TensorRT-LLM's
// layer_updates_per_iter). Every pitfall of the vllm-ascend EPLB guide is an eplb::Error at
// construction, naming the knob and the values, never a failure later.
//
// Cycle (steps are forward passes; see balancer.h for the exact steps):
//   collect loads for expert_heat_collection_interval steps -> all-gather them -> the planner
//   worker plans in the background -> the plan is taken algorithm_execution_interval steps after
//   the gather (later if the planner is late) -> layer_updates_per_iter layers move per step.
#pragma once

#include <chrono>
#include <string>

#include "eplb/placement.h"
#include "eplb/planner.h"
#include "eplb/runtime/recorder.h"
#include "eplb/token_router.h"

namespace eplb {

// What Balancer::mask_ranks does when a masked rank holds the last live replica of an expert.
enum class LostExpertPolicy {
  kRefuse,   // the mask is rejected (eplb::Error naming the experts); nothing changes
  kRestore,  // accepted: the expert's tokens are dropped (counted) until the next re-plan puts
             // it on live ranks, its weights from BalancerCallbacks::load_expert
};

// "refuse" | "restore"; throws eplb::Error naming the value otherwise.
LostExpertPolicy parse_lost_expert_policy(const std::string& name);
const char* lost_expert_policy_name(LostExpertPolicy policy);

struct BalancerConfig {
  // --- The deployment (the same on every rank) ---
  int num_layers = 0;   // MoE layers
  int num_experts = 0;  // logical experts per layer
  int num_ranks = 0;    // ranks of the expert-parallel group
  // Physical slots per layer = num_experts + num_redundant_experts, split evenly over ranks
  // (vllm-ascend's init_redundancy_expert / num_redundant_experts).
  int num_redundant_experts = 0;
  // 0: (num_experts + num_redundant_experts) / num_ranks; else checked against it.
  int slots_per_rank = 0;
  int num_nodes = 1;   // ranks are split contiguously over nodes (transfer sources, planner)
  int num_groups = 1;  // expert groups (DeepSeek's group-limited routing), for the planner
  Policy policy = Policy::kBalanced;
  RoutePolicy route_policy = RoutePolicy::kRoundRobin;
  // kWeighted: the planner also solves each replica's share of its expert's tokens
  // (PlanOptions::routing), the placement carries them as routing_weight (even at start-up) and
  // the replica tables route by them, so a re-plan may change only shares (the layer switches
  // with no weight moved). Needs route_policy kWeighted, the one policy that reads shares.
  Routing routing = Routing::kEven;

  // --- vllm-ascend's knobs ---
  // true: rebalance online. false: keep the initial placement (expert_map_path or the default
  // deployment) for ever.
  bool dynamic_eplb = true;
  // Steps of load collection per cycle (vllm-ascend's num_iterations_eplb_update). >= 1.
  int expert_heat_collection_interval = 400;
  // Steps between the load gather and the earliest step the plan is taken (vllm-ascend's
  // num_wait_worker_iterations). >= 1 and >= min_algorithm_execution_interval.
  int algorithm_execution_interval = 30;
  // Layers whose weights start moving per step (TensorRT-LLM's knob of the same name). >= 1.
  int layer_updates_per_iter = 1;
  // Steps at start-up with no rebalancing (loads of these steps are not used).
  int warmup_steps = 0;
  // vllm-ascend expert-map JSON to start from (read at construction; with dynamic_eplb false,
  // the static placement). Its rank, slot, layer and expert counts must match the deployment.
  std::string expert_map_path;
  // Where to write the current placement (vllm-ascend expert-map JSON, atomically) after each
  // cycle; empty: never. Written by the planner worker, never on the serving thread. The format
  // has no shares: with routing weighted the routing_weight is not recorded.
  std::string expert_map_record_path;

  // --- eplb's own ---
  // Steps the planner needs at least (plan time / step time, rounded up; `eplb plan --json`
  // prints plan_ms): an algorithm_execution_interval below it is rejected.
  int min_algorithm_execution_interval = 1;
  // Load statistic fed to the planner. window_steps 0: expert_heat_collection_interval.
  RecorderOptions recorder{RecorderMode::kWindowed, 0, 0.9};
  // A layer whose transfers have not all completed this many steps after they were posted is
  // given up (counted as a transfer failure, retried next cycle). 0: never give up.
  int transfer_timeout_steps = 1000;
  // Ranks agree on every switch (plan taken, layer committed) through a tiny all-gather started
  // in after_forward and consumed in the next before_forward; this bounds the wait for it (a
  // rank that does not arrive in time is a fatal eplb::Error from the hook).
  std::chrono::milliseconds vote_timeout{60000};
  // Planner watchdog: a plan not ready on every rank at the vote consumed in
  // before_forward(gather_step + planner_timeout_steps) or later is abandoned for the cycle
  // (every rank decides from the same votes at the same step), the placement is kept, counted
  // in planner_timeouts; the abandoned job's late result is discarded. 0: no deadline; else
  // >= algorithm_execution_interval.
  int planner_timeout_steps = 0;
  // Masked ranks holding the last live replica of an expert (see LostExpertPolicy).
  LostExpertPolicy lost_expert_policy = LostExpertPolicy::kRefuse;

  int num_slots() const { return num_experts + num_redundant_experts; }
  int resolved_slots_per_rank() const { return num_ranks > 0 ? num_slots() / num_ranks : 0; }
  PlanOptions plan_options() const;
};

// Throws eplb::Error naming the knob for every inconsistent setting: non-positive shapes,
// intervals of 0, algorithm_execution_interval < min_algorithm_execution_interval, redundant
// experts that do not fit the slots (negative, or num_experts + num_redundant_experts not
// divisible by num_ranks, or disagreeing with slots_per_rank), planner options the planner
// rejects, a bad recorder setting. Does not read files.
void validate_balancer_config(const BalancerConfig& config);

// validate_balancer_config(), then the placement serving starts from: expert_map_path when set
// (a missing or malformed file, or one whose layer, rank, slot or expert counts disagree with
// the deployment, is an eplb::Error naming the file and both values), else the default
// deployment (slot i holds expert i mod num_experts). With routing weighted it carries even
// routing_weight shares.
Placement initial_placement(const BalancerConfig& config);

}  // namespace eplb
