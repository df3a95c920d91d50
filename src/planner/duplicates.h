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

// Same-rank duplicates that a placement could avoid: per node and expert, min(its replicas on
// the node, ranks per node) minus the node's ranks holding it, summed, for `phy2log`
// [num_slots] on `num_ranks` ranks split contiguously over `num_nodes` nodes. `stamp` is
// scratch.
int avoidable_duplicates(std::span<const int32_t> phy2log, int32_t num_ranks, int32_t num_nodes,
                         size_t num_experts, std::vector<int32_t>& stamp);

// Replaces the second and later copies of an expert on a rank of `phy2log` [num_slots] with
// a new replica of another expert of the same node that is not on the rank (replica counts
// change): the expert whose new replica is lightest, when the hottest rank then stays <=
// `limit` (judged without the relief of the recipient's other ranks, so never optimistic).
// Returns the duplicates left. O(num_experts + num_slots) per duplicate: for rare repairs.
// `replica_count` and `rank_load` are scratch.
int donate_duplicates(std::span<const double> expert_loads, int32_t num_ranks, int32_t num_nodes,
                      double limit, std::span<int32_t> phy2log, std::vector<int32_t>& replica_count,
                      std::vector<double>& rank_load);

}  // namespace eplb::planner
