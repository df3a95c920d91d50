// plan() and plan_layer(): argument checks, then LayerPlanner over the layers.
#include <cmath>
#include <sstream>
#include <string>

#include "eplb/error.h"
#include "eplb/planner.h"
#include "planner/live_ranks.h"

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

// Totals over layers and the warnings an operator should see.
void summarize_report(const LoadMatrix& loads, const PlanOptions& options, PlanReport& report) {
  double tokens = 0;
  double outside = 0;
  double strict_sum = 0;
  double relaxed_sum = 0;
  for (int l = 0; l < loads.num_layers; ++l) {
    const LayerReport& layer = report.layers[static_cast<size_t>(l)];
    if (!layer.has_data) continue;
    double layer_tokens = 0;
    for (double v : loads.layer(l)) layer_tokens += v;
    tokens += layer_tokens;
    outside += layer.cross_node_share * layer_tokens;
    if (layer.relaxed) {
      ++report.layers_relaxed;
      strict_sum += layer.strict_max_over_mean;
      relaxed_sum += layer.max_over_mean;
    }
  }
  report.cross_node_share = tokens > 0 ? outside / tokens : 0.0;
  if (report.layers_relaxed > 0) {
    const double n = report.layers_relaxed;
    std::ostringstream text;
    text.precision(4);
    text << std::fixed << "topology relaxed in " << report.layers_relaxed << " of "
         << loads.num_layers << " layers: keeping each of the " << options.num_groups
         << " expert groups on one of " << options.num_nodes << " nodes would give max/mean "
         << strict_sum / n << " there, relaxed " << relaxed_sum / n << "; "
         << 100 * report.cross_node_share
         << "% of tokens are served outside their group's main node (--topology strict keeps "
            "groups on their node)";
    report.warnings.push_back(text.str());
  }
}

}  // namespace

Placement plan(const LoadMatrix& loads, const PlanOptions& options, const Placement* current) {
  return plan(loads, options, current, nullptr);
}

Placement plan(const LoadMatrix& loads, const PlanOptions& options, const Placement* current,
               PlanReport* report) {
  loads.validate("loads");
  check_plan_options(options, loads.num_experts);
  if (current != nullptr) check_current(*current, loads, options);

  Placement result;
  result.num_layers = loads.num_layers;
  result.num_experts = loads.num_experts;
  result.num_ranks = options.num_ranks;
  result.num_slots = options.num_slots;
  result.layer_ids = loads.layer_ids;
  const size_t cells = static_cast<size_t>(loads.num_layers) * static_cast<size_t>(options.num_slots);
  result.phy2log.resize(cells);
  // Excluded ranks are recorded as share 0 on their slots: routing needs the weights.
  const bool weighted = options.routing == Routing::kWeighted || !options.excluded_ranks.empty();
  if (weighted) result.routing_weight.resize(cells);
  if (report != nullptr) {
    *report = PlanReport{};
    report->layers.resize(static_cast<size_t>(loads.num_layers));
  }
  planner::LiveRankPlanner planner(options, loads.num_experts);
  const auto num_slots = static_cast<size_t>(options.num_slots);
  for (int l = 0; l < loads.num_layers; ++l) {
    std::span<double> weight;
    if (weighted) weight = std::span<double>(result.routing_weight).subspan(static_cast<size_t>(l) * num_slots, num_slots);
    planner.plan(loads.layer(l),
                 current != nullptr ? current->layer_phy2log(l) : std::span<const int32_t>(),
                 result.layer_phy2log(l), weight,
                 report != nullptr ? &report->layers[static_cast<size_t>(l)] : nullptr);
  }
  if (report != nullptr) {
    summarize_report(loads, options, *report);
    planner::summarize_uncovered(loads.layer_ids, *report);
  }
  return result;
}

void plan_layer(std::span<const double> expert_loads, const PlanOptions& options,
                std::span<const int32_t> current_phy2log, std::span<int32_t> phy2log) {
  plan_layer(expert_loads, options, current_phy2log, phy2log, {}, nullptr);
}

void plan_layer(std::span<const double> expert_loads, const PlanOptions& options,
                std::span<const int32_t> current_phy2log, std::span<int32_t> phy2log,
                std::span<double> routing_weight, LayerReport* report) {
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
  if (!routing_weight.empty() && routing_weight.size() != num_slots) {
    throw Error("plan_layer: routing_weight has " +
                str(static_cast<int64_t>(routing_weight.size())) + " slots, --slots is " +
                str(options.num_slots));
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
  planner::LiveRankPlanner planner(options, num_experts);
  planner.plan(expert_loads, current_phy2log, phy2log, routing_weight, report);
}

}  // namespace eplb
