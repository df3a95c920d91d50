#include <string>

#include "eplb/error.h"
#include "eplb/planner.h"

namespace eplb {

Policy parse_policy(const std::string& name) {
  if (name == "balanced") return Policy::kBalanced;
  if (name == "deepseek") return Policy::kDeepSeek;
  if (name == "greedy") return Policy::kGreedy;
  throw Error("--policy " + name + ": unknown policy (expected balanced, deepseek or greedy)");
}

const char* policy_name(Policy policy) {
  switch (policy) {
    case Policy::kBalanced: return "balanced";
    case Policy::kDeepSeek: return "deepseek";
    case Policy::kGreedy: return "greedy";
  }
  return "unknown";
}

void check_plan_options(const PlanOptions& o, int num_experts) {
  auto fail = [](const std::string& message) { throw Error(message); };
  if (o.num_ranks <= 0) fail("--ranks " + std::to_string(o.num_ranks) + " must be > 0");
  if (o.num_slots <= 0) fail("--slots " + std::to_string(o.num_slots) + " must be > 0");
  if (o.num_slots % o.num_ranks != 0) {
    fail("--slots " + std::to_string(o.num_slots) + " is not divisible by --ranks " +
         std::to_string(o.num_ranks) + " (every rank holds the same number of slots)");
  }
  if (o.num_slots < num_experts) {
    fail("--slots " + std::to_string(o.num_slots) + " is fewer than the " +
         std::to_string(num_experts) + " logical experts (every expert needs a slot)");
  }
  if (o.num_nodes <= 0) fail("--nodes " + std::to_string(o.num_nodes) + " must be > 0");
  if (o.num_ranks % o.num_nodes != 0) {
    fail("--ranks " + std::to_string(o.num_ranks) + " is not divisible by --nodes " +
         std::to_string(o.num_nodes));
  }
  if (o.num_groups <= 0) fail("--groups " + std::to_string(o.num_groups) + " must be > 0");
  if (num_experts % o.num_groups != 0) {
    fail("--groups " + std::to_string(o.num_groups) + " does not divide the " +
         std::to_string(num_experts) + " logical experts");
  }
}

}  // namespace eplb
