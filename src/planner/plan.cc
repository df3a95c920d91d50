// plan() and plan_layer(): argument checks, then LayerPlanner over the layers.
#include <cmath>
#include <string>

#include "eplb/error.h"
#include "eplb/planner.h"
#include "planner/layer_planner.h"

namespace eplb {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

// The deployed placement must describe the same layers, experts, slots and ranks.
void check_current(const Placement& current, const LoadMatrix& loads, const PlanOptions& options) {
  auto fail = [](const std::string& what) { throw Error("--current: " + what); };
  if (current.num_layers != loads.num_layers || current.num_experts != loads.num_experts) {
    fail("placement has " + str(current.num_layers) + " layers x " + str(current.num_experts) +
         " experts but the loads have " + str(loads.num_layers) + " x " + str(loads.num_experts));
  }
  if (current.num_slots != options.num_slots) {
    fail("placement has " + str(current.num_slots) + " slots per layer but --slots is " +
         str(options.num_slots));
  }
  if (current.num_ranks != 0 && current.num_ranks != options.num_ranks) {
    fail("placement has " + str(current.num_ranks) + " ranks but --ranks is " +
         str(options.num_ranks));
  }
  if (current.layer_ids != loads.layer_ids) {
    for (size_t i = 0; i < loads.layer_ids.size() && i < current.layer_ids.size(); ++i) {
      if (current.layer_ids[i] != loads.layer_ids[i]) {
        fail("layer_ids[" + str(static_cast<int64_t>(i)) + "] is " + str(current.layer_ids[i]) +
             " but the loads' row " + str(static_cast<int64_t>(i)) + " is layer " +
             str(loads.layer_ids[i]));
      }
    }
    fail("layer_ids do not match the loads' layer ids");
  }
  validate_placement(current, "--current");
}

}  // namespace

Placement plan(const LoadMatrix& loads, const PlanOptions& options, const Placement* current) {
  loads.validate("loads");
  check_plan_options(options, loads.num_experts);
  if (current != nullptr) check_current(*current, loads, options);

  Placement result;
  result.num_layers = loads.num_layers;
  result.num_experts = loads.num_experts;
  result.num_ranks = options.num_ranks;
  result.num_slots = options.num_slots;
  result.layer_ids = loads.layer_ids;
  result.phy2log.resize(static_cast<size_t>(loads.num_layers) *
                        static_cast<size_t>(options.num_slots));
  planner::LayerPlanner planner(options, loads.num_experts);
  for (int l = 0; l < loads.num_layers; ++l) {
    planner.plan(loads.layer(l),
                 current != nullptr ? current->layer_phy2log(l) : std::span<const int32_t>(),
                 result.layer_phy2log(l));
  }
  return result;
}

void plan_layer(std::span<const double> expert_loads, const PlanOptions& options,
                std::span<const int32_t> current_phy2log, std::span<int32_t> phy2log) {
  const auto num_experts = static_cast<int>(expert_loads.size());
  if (num_experts == 0) throw Error("plan_layer: expert_loads is empty");
  check_plan_options(options, num_experts);
  for (size_t e = 0; e < expert_loads.size(); ++e) {
    if (!std::isfinite(expert_loads[e]) || expert_loads[e] < 0) {
      throw Error("plan_layer: expert_loads[" + str(static_cast<int64_t>(e)) + "]: load " +
                  std::to_string(expert_loads[e]) + " is not a finite non-negative number");
    }
  }
  const auto num_slots = static_cast<size_t>(options.num_slots);
  if (phy2log.size() != num_slots) {
    throw Error("plan_layer: phy2log has " + str(static_cast<int64_t>(phy2log.size())) +
                " slots, --slots is " + str(options.num_slots));
  }
  if (!current_phy2log.empty()) {
    if (current_phy2log.size() != num_slots) {
      throw Error("--current: layer has " + str(static_cast<int64_t>(current_phy2log.size())) +
                  " slots, --slots is " + str(options.num_slots));
    }
    for (size_t s = 0; s < num_slots; ++s) {
      if (current_phy2log[s] < 0 || current_phy2log[s] >= num_experts) {
        throw Error("--current: phy2log[" + str(static_cast<int64_t>(s)) + "]: expert " +
                    str(current_phy2log[s]) + " out of range [0, " + str(num_experts) + ")");
      }
    }
  }
  planner::LayerPlanner planner(options, num_experts);
  planner.plan(expert_loads, current_phy2log, phy2log);
}

}  // namespace eplb
