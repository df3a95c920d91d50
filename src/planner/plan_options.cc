#include <cmath>
#include <sstream>
#include <string>
#include <vector>

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

Routing parse_routing(const std::string& name) {
  if (name == "even") return Routing::kEven;
  if (name == "weighted") return Routing::kWeighted;
  throw Error("--routing " + name + ": unknown routing (expected even or weighted)");
}

const char* routing_name(Routing routing) {
  switch (routing) {
    case Routing::kEven: return "even";
    case Routing::kWeighted: return "weighted";
  }
  return "unknown";
}

Topology parse_topology(const std::string& name) {
  if (name == "relaxed") return Topology::kRelaxed;
  if (name == "strict") return Topology::kStrict;
  throw Error("--topology " + name + ": unknown topology (expected relaxed or strict)");
}

const char* topology_name(Topology topology) {
  switch (topology) {
    case Topology::kRelaxed: return "relaxed";
    case Topology::kStrict: return "strict";
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
  auto number = [](double v) {
    std::ostringstream text;
    text << v;
    return text.str();
  };
  if (o.max_moves < -1) {
    fail("--max-moves " + std::to_string(o.max_moves) + " must be >= 0 (or -1: no limit)");
  }
  if (!(o.move_tolerance >= 0) || !std::isfinite(o.move_tolerance)) {
    fail("--tolerance " + number(o.move_tolerance) + " must be a finite number >= 0");
  }
  if (!(o.balance_slack >= 0) || !std::isfinite(o.balance_slack)) {
    fail("--slack " + number(o.balance_slack) + " must be a finite number >= 0");
  }
  if (!(o.relax_threshold >= 0) || !std::isfinite(o.relax_threshold)) {
    fail("--relax-threshold " + number(o.relax_threshold) + " must be a finite number >= 0");
  }
  std::vector<char> excluded(static_cast<size_t>(o.num_ranks), 0);
  for (int rank_idx : o.excluded_ranks) {
    if (rank_idx < 0 || rank_idx >= o.num_ranks) {
      fail("--exclude-ranks: rank " + std::to_string(rank_idx) + " out of range [0, " +
           std::to_string(o.num_ranks) + ")");
    }
    if (excluded[static_cast<size_t>(rank_idx)]++ != 0) {
      fail("--exclude-ranks: rank " + std::to_string(rank_idx) + " is listed twice");
    }
  }
  if (!o.excluded_ranks.empty() && o.excluded_ranks.size() == static_cast<size_t>(o.num_ranks)) {
    fail("--exclude-ranks excludes all " + std::to_string(o.num_ranks) +
         " ranks (at least one must serve)");
  }
}

}  // namespace eplb
