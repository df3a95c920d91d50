#include "planner/layer_planner.h"

#include <algorithm>

#include "planner/keep_current.h"

namespace eplb::planner {

LayerPlanner::LayerPlanner(const PlanOptions& options, int num_experts)
    : options_(options),
      num_experts_(num_experts),
      expert_count_(static_cast<size_t>(num_experts), 0) {}

void LayerPlanner::plan(std::span<const double> expert_loads, std::span<const int32_t> current,
                        std::span<int32_t> phy2log) {
  const bool has_data =
      std::any_of(expert_loads.begin(), expert_loads.end(), [](double v) { return v != 0.0; });
  if (!has_data) {
    if (!current.empty()) {
      std::copy(current.begin(), current.end(), phy2log.begin());
    } else {
      for (size_t s = 0; s < phy2log.size(); ++s) {
        phy2log[s] = static_cast<int32_t>(s % static_cast<size_t>(num_experts_));
      }
    }
    return;
  }
  switch (options_.policy) {
    case Policy::kDeepSeek:
      deepseek_.plan(expert_loads, options_, phy2log);
      return;  // faithful: no reordering, the placement vLLM / SGLang users already get
    case Policy::kGreedy: greedy_.plan(expert_loads, options_, phy2log); break;
    case Policy::kBalanced: balanced_.plan(expert_loads, options_, phy2log); break;
  }
  if (!current.empty()) {
    keep_current_slots(phy2log, current, options_.num_slots / options_.num_ranks, expert_count_,
                       row_);
  }
}

}  // namespace eplb::planner
