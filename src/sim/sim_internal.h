// Pieces shared by the simulator's offline (none/static/oracle) and online policies.
#pragma once

#include <cstdint>
#include <vector>

#include "eplb/placement.h"
#include "eplb/sim/simulator.h"

namespace eplb::sim::internal {

struct StepScore {
  bool has_data = false;
  double peak_to_avg = 0;  // mean over layers with data
  double compute_us = 0;   // sum of layer times (cost model)
};

// Scores step `step_idx` of `trace` under `placement` (rows = trace layers).
StepScore score_step(const LoadTrace& trace, int step_idx, const Placement& placement,
                     const CostModel& cost);

// Adds, per rank, the slots of layer `layer_idx` whose expert differs between `from` and `to`
// into `per_rank` [num_ranks]; returns their total.
int64_t count_moves(const Placement& from, const Placement& to, int layer_idx,
                    std::vector<int64_t>& per_rank);

// Fills the summary fields of `result` from per-step scores and per-step max-rank moves.
void summarize(const std::vector<StepScore>& scores, const std::vector<int64_t>& max_rank_moved,
               const CostModel& cost, SimResult& result);

SimResult simulate_online(const LoadTrace& trace, const SimOptions& options,
                          const OnlineKnobs& knobs);

}  // namespace eplb::sim::internal
