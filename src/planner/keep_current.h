// Slot order within a rank: rank loads depend only on the multiset of experts each rank
// holds, so the slots of a rank may be permuted freely to keep experts where they are.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace eplb::planner {

// Permutes the slots of every rank of `phy2log` [num_slots] so that the most slots hold the
// logical expert they hold in `current` [num_slots] (a maximum matching: kept slots first,
// the rest filled in `phy2log`'s order). `expert_count` [num_experts] is scratch that must be
// all zero on entry and is all zero on return; `row` is scratch.
void keep_current_slots(std::span<int32_t> phy2log, std::span<const int32_t> current,
                        int32_t slots_per_rank, std::vector<int32_t>& expert_count,
                        std::vector<int32_t>& row);

}  // namespace eplb::planner
