#include "planner/replicate.h"

#include <algorithm>

namespace eplb::planner {

template <typename T>
void water_fill(std::span<const T> loads, std::span<int32_t> replica_count,
                std::span<int32_t> extra_expert, ReplicaTree<T>& tree) {
  std::fill(replica_count.begin(), replica_count.end(), 1);
  if (extra_expert.empty()) return;
  tree.build(loads);  // key: per-replica load, loads[e] / replica_count[e]
  for (int32_t& chosen : extra_expert) {
    const int32_t e = tree.top();
    const auto ue = static_cast<size_t>(e);
    chosen = e;
    ++replica_count[ue];
    tree.update(e, loads[ue] / static_cast<T>(replica_count[ue]));
  }
}

template void water_fill<float>(std::span<const float>, std::span<int32_t>, std::span<int32_t>,
                                ReplicaTree<float>&);
template void water_fill<double>(std::span<const double>, std::span<int32_t>, std::span<int32_t>,
                                 ReplicaTree<double>&);

}  // namespace eplb::planner
