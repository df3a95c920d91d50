// Planning over live ranks: with PlanOptions::excluded_ranks, a layer is planned as a smaller
// deployment made of the live ranks' slots only, then mapped back.
//
//   full deployment  R ranks x P slots, E experts, ranks X excluded
//   live deployment  (R - |X|) ranks x P slots; live rank i is the i-th rank not in X, its
//                    slots keep their order; `current` restricted to those slots
//   >= E live slots  every expert is planned onto live slots (an expert whose replicas were
//                    all on excluded ranks first takes a slot from the expert that loses least
//                    by giving up a replica, so the minimal-movement planner starts valid; the
//                    same repair applies to a `current` lacking experts with no rank excluded,
//                    e.g. one left by an earlier plan that had too few live slots)
//   <  E live slots  the most loaded experts get one live slot each; the others are
//                    "uncovered" (LayerReport::uncovered_experts)
// Slots of excluded ranks keep their current expert (the default one without `current`) and
// get routing weight 0. Where an expert then has no slot at all (uncovered, not held by an
// excluded slot), an excluded slot holding a second copy of another expert takes it, so every
// expert keeps a slot and the placement stays valid for check_placement().
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "eplb/planner.h"
#include "planner/layer_planner.h"

namespace eplb::planner {

// Not thread-safe; use one per thread.
class LiveRankPlanner {
 public:
  // `options` must have passed check_plan_options() for `num_experts`.
  LiveRankPlanner(const PlanOptions& options, int num_experts);

  // LayerPlanner::plan() (same arguments and contract) when no rank is excluded. With
  // excluded ranks, as described above; `routing_weight` must then be [num_slots] (throws
  // eplb::Error when empty): the shares of the live slots, 0 on excluded ones.
  void plan(std::span<const double> expert_loads, std::span<const int32_t> current,
            std::span<int32_t> phy2log, std::span<double> routing_weight, LayerReport* report);

 private:
  // Live deployment with >= E slots: sub_phy_ / sub_weight_ [live slots] in expert ids.
  void plan_covered(std::span<const double> expert_loads, std::span<const int32_t> current,
                    LayerReport* report);
  // Live deployment with < E slots; fills uncovered_ (ascending).
  void plan_partial(std::span<const double> expert_loads, std::span<const int32_t> current,
                    LayerReport* report);
  // Experts without a slot in `row` (>= E slots) take one from the expert whose load per
  // replica grows least by giving one up; returns whether any was missing.
  bool repair_current(std::span<const double> expert_loads, std::vector<int32_t>& row);
  // Gives every expert without any slot an excluded slot whose expert has another one.
  void cover_missing(std::span<int32_t> phy2log);

  PlanOptions options_;
  int num_experts_;
  std::unique_ptr<LayerPlanner> full_;     // no rank excluded
  std::unique_ptr<LayerPlanner> live_;     // >= E live slots, experts as they are
  std::unique_ptr<LayerPlanner> partial_;  // < E live slots, one expert per live slot
  std::vector<int32_t> live_slot_;      // [live slots] slot id in the full deployment
  std::vector<char> excluded_slot_;     // [num_slots] 1 on excluded ranks
  std::vector<int32_t> sub_current_;    // [live slots]
  std::vector<int32_t> sub_phy_;        // [live slots]
  std::vector<double> sub_weight_;      // [live slots]
  std::vector<double> sub_loads_;       // [live slots] partial: loads of the chosen experts
  std::vector<int32_t> chosen_;         // [live slots] partial: sub expert -> expert
  std::vector<int32_t> sub_of_;         // [num_experts] partial: expert -> sub expert or -1
  std::vector<int32_t> order_;          // [num_experts] scratch
  std::vector<int32_t> count_;          // [num_experts] scratch replica counts
  std::vector<int32_t> uncovered_;      // experts without a live slot, ascending
};

// Totals of LayerReport::uncovered_experts over layers: PlanReport::layers_uncovered and a
// warning naming the uncovered experts of each layer (layer ids from `layer_ids`).
void summarize_uncovered(const std::vector<int>& layer_ids, PlanReport& report);

}  // namespace eplb::planner
