#include "planner/rank_load.h"

#include <algorithm>

namespace eplb::planner {

double max_rank_load(std::span<const double> expert_loads, std::span<const int32_t> phy2log,
                     int32_t num_ranks, std::vector<int32_t>& replica_count,
                     std::vector<double>& rank_load) {
  replica_count.assign(expert_loads.size(), 0);
  for (int32_t e : phy2log) ++replica_count[static_cast<size_t>(e)];
  rank_load.assign(static_cast<size_t>(num_ranks), 0.0);
  const size_t slots_per_rank = phy2log.size() / static_cast<size_t>(num_ranks);
  for (size_t s = 0; s < phy2log.size(); ++s) {
    const auto e = static_cast<size_t>(phy2log[s]);
    rank_load[s / slots_per_rank] += expert_loads[e] * (1.0 / replica_count[e]);
  }
  return *std::max_element(rank_load.begin(), rank_load.end());
}

}  // namespace eplb::planner
