#include "planner/keep_current.h"

#include <algorithm>

namespace eplb::planner {

void keep_current_slots(std::span<int32_t> phy2log, std::span<const int32_t> current,
                        int32_t slots_per_rank, std::vector<int32_t>& expert_count,
                        std::vector<int32_t>& row) {
  const auto per_rank = static_cast<size_t>(slots_per_rank);
  constexpr int32_t kFree = -1;
  row.resize(per_rank);
  for (size_t first = 0; first < phy2log.size(); first += per_rank) {
    auto next = phy2log.subspan(first, per_rank);
    auto now = current.subspan(first, per_rank);
    std::copy(next.begin(), next.end(), row.begin());
    for (int32_t e : row) ++expert_count[static_cast<size_t>(e)];
    for (size_t s = 0; s < per_rank; ++s) {
      int32_t& left = expert_count[static_cast<size_t>(now[s])];
      if (left > 0) {
        --left;
        next[s] = now[s];
      } else {
        next[s] = kFree;
      }
    }
    // The experts not kept fill the free slots in their planned order.
    size_t free_slot = 0;
    for (int32_t e : row) {
      int32_t& left = expert_count[static_cast<size_t>(e)];
      if (left == 0) continue;
      --left;
      while (next[free_slot] != kFree) ++free_slot;
      next[free_slot] = e;
    }
  }
}

}  // namespace eplb::planner
