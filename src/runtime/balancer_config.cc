// BalancerConfig checks: every pitfall of the vllm-ascend EPLB guide becomes an eplb::Error
// naming the knob and the values at construction.
#include "eplb/runtime/balancer_config.h"

#include <string>

#include "eplb/error.h"
#include "eplb/placement_io.h"

namespace eplb {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

[[noreturn]] void fail(const std::string& message) { throw Error("BalancerConfig: " + message); }

void require_positive(int value, const char* knob) {
  if (value <= 0) fail(std::string(knob) + " " + str(value) + " must be >= 1");
}

}  // namespace

LostExpertPolicy parse_lost_expert_policy(const std::string& name) {
  if (name == "refuse") return LostExpertPolicy::kRefuse;
  if (name == "restore") return LostExpertPolicy::kRestore;
  throw Error("lost_expert_policy " + name + ": unknown policy (expected refuse or restore)");
}

const char* lost_expert_policy_name(LostExpertPolicy policy) {
  switch (policy) {
    case LostExpertPolicy::kRefuse: return "refuse";
    case LostExpertPolicy::kRestore: return "restore";
  }
  return "unknown";
}

PlanOptions BalancerConfig::plan_options() const {
  PlanOptions options;
  options.num_ranks = num_ranks;
  options.num_slots = num_slots();
  options.num_nodes = num_nodes;
  options.num_groups = num_groups;
  options.policy = policy;
  options.routing = routing;
  return options;
}

void validate_balancer_config(const BalancerConfig& c) {
  require_positive(c.num_layers, "num_layers");
  require_positive(c.num_experts, "num_experts");
  require_positive(c.num_ranks, "num_ranks");
  if (c.num_redundant_experts < 0) {
    fail("num_redundant_experts " + str(c.num_redundant_experts) + " must be >= 0");
  }
  if (c.num_slots() % c.num_ranks != 0) {
    fail("num_redundant_experts " + str(c.num_redundant_experts) +
         " does not fit the slots: " + str(c.num_experts) + " experts + " +
         str(c.num_redundant_experts) + " redundant = " + str(c.num_slots()) +
         " slots cannot be split evenly over num_ranks " + str(c.num_ranks));
  }
  if (c.slots_per_rank != 0 && c.slots_per_rank * c.num_ranks != c.num_slots()) {
    fail("slots_per_rank " + str(c.slots_per_rank) + " x num_ranks " + str(c.num_ranks) + " = " +
         str(static_cast<int64_t>(c.slots_per_rank) * c.num_ranks) + " slots, but num_experts " +
         str(c.num_experts) + " + num_redundant_experts " + str(c.num_redundant_experts) + " = " +
         str(c.num_slots()) + " (redundant experts must fill the slots exactly)");
  }
  require_positive(c.expert_heat_collection_interval, "expert_heat_collection_interval");
  require_positive(c.algorithm_execution_interval, "algorithm_execution_interval");
  require_positive(c.layer_updates_per_iter, "layer_updates_per_iter");
  require_positive(c.min_algorithm_execution_interval, "min_algorithm_execution_interval");
  if (c.algorithm_execution_interval < c.min_algorithm_execution_interval) {
    fail("algorithm_execution_interval " + str(c.algorithm_execution_interval) +
         " is shorter than the planner needs (min_algorithm_execution_interval " +
         str(c.min_algorithm_execution_interval) + " steps)");
  }
  if (c.routing == Routing::kWeighted && c.route_policy != RoutePolicy::kWeighted) {
    fail(std::string("routing weighted needs route_policy weighted (route_policy ") +
         route_policy_name(c.route_policy) +
         " splits tokens evenly and ignores the planned shares)");
  }
  if (c.warmup_steps < 0) fail("warmup_steps " + str(c.warmup_steps) + " must be >= 0");
  if (c.planner_timeout_steps != 0 && c.planner_timeout_steps < c.algorithm_execution_interval) {
    fail("planner_timeout_steps " + str(c.planner_timeout_steps) +
         " must be 0 (no deadline) or >= algorithm_execution_interval " +
         str(c.algorithm_execution_interval) + " (the earliest step a plan can be taken)");
  }
  if (c.transfer_timeout_steps < 0) {
    fail("transfer_timeout_steps " + str(c.transfer_timeout_steps) + " must be >= 0");
  }
  if (c.vote_timeout.count() <= 0) {
    fail("vote_timeout " + str(c.vote_timeout.count()) + " ms must be > 0");
  }
  if (c.recorder.mode == RecorderMode::kWindowed && c.recorder.window_steps < 0) {
    fail("recorder.window_steps " + str(c.recorder.window_steps) +
         " must be >= 0 (0: expert_heat_collection_interval)");
  }
  if (c.recorder.mode == RecorderMode::kDecayed &&
      !(c.recorder.decay >= 0.0 && c.recorder.decay <= 1.0)) {
    fail("recorder.decay " + std::to_string(c.recorder.decay) + " must be in [0, 1]");
  }
  try {
    check_plan_options(c.plan_options(), c.num_experts);
  } catch (const Error& e) {
    fail(std::string("planner: ") + e.what());
  }
}

namespace {

// The expert map's placement, or the default deployment.
Placement initial_phy2log(const BalancerConfig& c) {
  if (c.expert_map_path.empty()) {
    return Placement::contiguous(c.num_layers, c.num_experts, c.num_ranks, c.num_slots());
  }
  const std::string& path = c.expert_map_path;
  PlacementReadOptions options;
  options.format = PlacementFormat::kAscend;
  options.num_experts = c.num_experts;
  // Read without cross-checks first, so a disagreement names both values.
  Placement map;
  try {
    map = parse_placement_file(path, options);
  } catch (const Error& e) {
    // The reader names the file; say which knob pointed at it (vllm-ascend's pitfall: a map
    // path set before the map was recorded).
    throw Error(std::string("expert_map_path: ") + e.what());
  }
  auto disagree = [&](const std::string& what) {
    throw Error("expert_map_path " + path + ": " + what);
  };
  if (map.num_layers != c.num_layers) {
    disagree("moe_layer_count " + str(map.num_layers) + " but the deployment has num_layers " +
             str(c.num_layers));
  }
  if (map.num_ranks != c.num_ranks) {
    disagree("device_count " + str(map.num_ranks) + " but the deployment has num_ranks " +
             str(c.num_ranks));
  }
  if (map.num_slots != c.num_slots()) {
    disagree(str(map.slots_per_rank()) + " experts per device (" + str(map.num_slots) + " slots, " +
             str(map.num_slots - c.num_experts) +
             " redundant) but the deployment has num_experts " + str(c.num_experts) +
             " + num_redundant_experts " + str(c.num_redundant_experts) + " = " +
             str(c.num_slots()) + " slots");
  }
  validate_placement(map, "expert_map_path " + path);
  // vllm-ascend numbers MoE layers from 0; the runtime uses row indices.
  for (int l = 0; l < map.num_layers; ++l) map.layer_ids[static_cast<size_t>(l)] = l;
  return map;
}

}  // namespace

Placement initial_placement(const BalancerConfig& c) {
  validate_balancer_config(c);
  Placement placement = initial_phy2log(c);
  if (c.routing == Routing::kWeighted) {
    placement.routing_weight.resize(placement.phy2log.size());
    const auto slots = static_cast<size_t>(placement.num_slots);
    std::vector<int32_t> count;  // scratch
    for (int l = 0; l < placement.num_layers; ++l) {
      even_routing_weight(placement.layer_phy2log(l), c.num_experts,
                          std::span<double>(placement.routing_weight)
                              .subspan(static_cast<size_t>(l) * slots, slots),
                          count);
    }
  }
  return placement;
}

}  // namespace eplb
