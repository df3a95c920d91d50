#include "planner/greedy.h"

#include <algorithm>

#include "planner/replicate.h"

namespace eplb::planner {

void GreedyPlanner::plan(std::span<const double> expert_loads, const PlanOptions& options,
                         std::span<int32_t> phy2log) {
  const auto num_experts = static_cast<int32_t>(expert_loads.size());
  replica_count_.resize(static_cast<size_t>(num_experts));
  extra_expert_.resize(static_cast<size_t>(options.num_slots - num_experts));
  water_fill<double>(expert_loads, replica_count_, extra_expert_, water_fill_);
  runs_.resize(static_cast<size_t>(num_experts));
  for (int32_t e = 0; e < num_experts; ++e) {
    const auto ue = static_cast<size_t>(e);
    runs_[ue] = {expert_loads[ue] / replica_count_[ue], e, replica_count_[ue]};
  }
  sort_runs(runs_, run_order_, sorted_runs_);
  packing_.reset(options.num_ranks, options.num_slots / options.num_ranks);
  lpt_pack(runs_, /*spread=*/false, packing_, lpt_);
  std::copy(packing_.key.begin(), packing_.key.end(), phy2log.begin());
}

}  // namespace eplb::planner
