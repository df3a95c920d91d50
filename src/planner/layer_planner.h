// One layer at a time, any policy: the engine behind plan() and plan_layer().
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "eplb/planner.h"
#include "planner/balanced.h"
#include "planner/deepseek.h"
#include "planner/greedy.h"

namespace eplb::planner {

// Holds every policy's scratch buffers, so planning many layers allocates only on the
// first. Not thread-safe; use one per thread.
class LayerPlanner {
 public:
  // `options` must have passed check_plan_options() for `num_experts`.
  LayerPlanner(const PlanOptions& options, int num_experts);

  // `expert_loads` [num_experts] -> `phy2log` [num_slots]. `current` is empty or [num_slots]
  // with experts in range. A layer without data (all loads zero) keeps `current`, or gets
  // the contiguous placement (slot s holds expert s mod num_experts). Other layers get the
  // policy's placement; for every policy but `deepseek` (kept exactly as DeepSeek's) the
  // slots of each rank are then ordered to keep as many of `current`'s experts as possible.
  void plan(std::span<const double> expert_loads, std::span<const int32_t> current,
            std::span<int32_t> phy2log);

 private:
  PlanOptions options_;
  int num_experts_;
  DeepSeekPlanner deepseek_;
  GreedyPlanner greedy_;
  BalancedPlanner balanced_;
  std::vector<int32_t> expert_count_;  // [num_experts], zero between calls
  std::vector<int32_t> row_;
};

}  // namespace eplb::planner
