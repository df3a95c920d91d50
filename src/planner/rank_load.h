// The figure every policy is judged by: the load of the hottest rank in one layer.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace eplb::planner {

// Tokens on the hottest rank when `phy2log` [num_slots] serves `expert_loads` [num_experts],
// replicas splitting their expert's tokens evenly; the same sums, in the same order, as
// eplb::rank_loads(). `replica_count` [num_experts] and `rank_load` [num_ranks] receive the
// replicas of each expert and the tokens of each rank.
double max_rank_load(std::span<const double> expert_loads, std::span<const int32_t> phy2log,
                     int32_t num_ranks, std::vector<int32_t>& replica_count,
                     std::vector<double>& rank_load);

}  // namespace eplb::planner
