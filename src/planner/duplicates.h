// Same-rank duplicates: two replicas of one logical expert on one rank, which waste a slot
// of memory. Tools to take them apart without making the hottest rank hotter than a limit.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "planner/packing.h"

namespace eplb::planner {

// Moves duplicate keys apart: an item whose key is on its pack twice is swapped with an item
// of another pack that holds neither key, choosing the swap that keeps the larger of the two
// new loads smallest, when that is <= `limit` (infinity: always). Returns the duplicates left.
int spread_duplicates(Packing& packing, double limit);

// Duplicate keys on packs: sum over packs and keys of (occurrences - 1).
int count_duplicates(const Packing& packing);

// Replaces the second and later copies of an expert on a rank of `phy2log` [num_slots] with
// a new replica of another expert of the same node that is not on the rank (replica counts
// change), the one that keeps the hottest rank (max_rank_load) least, when that is <= `limit`.
// Returns the duplicates left. O(num_experts x num_slots) per duplicate: for rare repairs.
// `replica_count` and `rank_load` are scratch.
int donate_duplicates(std::span<const double> expert_loads, int32_t num_ranks, int32_t num_nodes,
                      double limit, std::span<int32_t> phy2log, std::vector<int32_t>& replica_count,
                      std::vector<double>& rank_load);

}  // namespace eplb::planner
