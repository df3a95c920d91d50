// One layer at a time, any policy: the engine behind plan() and plan_layer().
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "eplb/planner.h"
#include "planner/balanced.h"
#include "planner/deepseek.h"
#include "planner/greedy.h"
#include "planner/incremental.h"
#include "planner/replicate.h"
#include "planner/routing_shares.h"
#include "planner/share_groups.h"

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
  // policy's placement: `deepseek` exactly DeepSeek's; `greedy` with the slots of each rank
  // ordered to keep `current`'s experts where they are; `balanced` from `current` with as few
  // moved slots as the options allow (incremental.h; with Routing::kWeighted, `current` itself
  // where re-solved shares reach the re-plan's first goal). `routing_weight` is empty or
  // [num_slots]: each slot's share of its expert's tokens (solved with Routing::kWeighted, else
  // even). `report`, when not null, is filled in.
  void plan(std::span<const double> expert_loads, std::span<const int32_t> current,
            std::span<int32_t> phy2log, std::span<double> routing_weight, LayerReport* report);

 private:
  // A weighted re-plan (policy `balanced`): whether `current` with re-solved shares (into
  // `weight` [num_slots]) keeps its hottest rank within `goal` tokens (the re-plan's first
  // goal, incremental.h), so that no slot has to move.
  bool shares_keep_current(std::span<const double> expert_loads, std::span<const int32_t> current,
                           double goal, std::span<double> weight);
  // Whether a weighted plan's placement is redesigned for its shares (share_groups.h).
  bool designs_for_shares(std::span<const int32_t> current) const;
  // `phy2log` with best shares `weight` whose hottest rank carries `hottest` tokens -> the
  // placement share_groups.h designs and its shares, where that is cooler.
  void redesign_for_shares(std::span<const double> expert_loads, std::span<int32_t> phy2log,
                           std::span<double> weight, double hottest);
  // The report's figures for the placement in `phy2log` with `routing_weight` (may be empty).
  void fill_report(std::span<const double> expert_loads, std::span<const int32_t> current,
                   std::span<const int32_t> phy2log, std::span<const double> routing_weight,
                   LayerReport& report);

  PlanOptions options_;
  int num_experts_;
  DeepSeekPlanner deepseek_;
  GreedyPlanner greedy_;
  BalancedPlanner balanced_;
  IncrementalPlanner incremental_;
  ShareSolver shares_;
  ShareGroupSearch share_groups_;
  std::vector<int32_t> before_phy2log_;  // [num_slots] the placement before redesign_for_shares()
  std::vector<double> before_weight_;    // [num_slots] its shares
  std::vector<int32_t> expert_count_;    // [num_experts], zero between calls
  std::vector<int32_t> row_;
  std::vector<double> weight_;  // [num_slots] shares when the caller wants none
  std::vector<int32_t> replica_count_;
  std::vector<int32_t> extra_expert_;
  std::vector<double> rank_load_;
  WaterFillScratch<double> water_fill_;
};

}  // namespace eplb::planner
