#include "eplb/sim/cost_model.h"

#include <algorithm>
#include <string>

#include "eplb/error.h"

namespace eplb::sim {

void validate_cost_model(const CostModel& model) {
  if (!(model.fixed_us >= 0)) {
    throw Error("--fixed-us " + std::to_string(model.fixed_us) + " must be >= 0");
  }
  if (!(model.token_us >= 0)) {
    throw Error("--token-us " + std::to_string(model.token_us) + " must be >= 0");
  }
  if (!(model.expert_bytes >= 0)) {
    throw Error("--expert-bytes " + std::to_string(model.expert_bytes) + " must be >= 0");
  }
  if (!(model.bandwidth_gbs > 0)) {
    throw Error("--bandwidth-gbs " + std::to_string(model.bandwidth_gbs) + " must be > 0");
  }
}

double layer_time_us(const CostModel& model, std::span<const double> rank_loads) {
  double hottest = 0;
  for (double v : rank_loads) hottest = std::max(hottest, v);
  return model.fixed_us + model.token_us * hottest;
}

double transfer_time_us(const CostModel& model, int64_t num_slots) {
  // bytes / (GB/s * 1e9) seconds = bytes / (GB/s * 1e3) microseconds.
  return static_cast<double>(num_slots) * model.expert_bytes / (model.bandwidth_gbs * 1e3);
}

StepCost step_cost(const CostModel& model, double compute_us, int64_t max_rank_moved_slots) {
  StepCost c;
  c.compute_us = compute_us;
  c.transfer_us = transfer_time_us(model, max_rank_moved_slots);
  c.stall_us = std::max(0.0, c.transfer_us - compute_us);
  c.total_us = c.compute_us + c.stall_us;
  return c;
}

}  // namespace eplb::sim
