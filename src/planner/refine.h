// Local search on a Packing: swaps of two items between packs, which keep every pack's item
// count, so they apply to replicas on ranks of equal slot counts.
#pragma once

#include <cstdint>

#include "planner/packing.h"
#include "planner/pair_swap.h"

namespace eplb::planner {

// Lowers the hottest pack: repeatedly applies the swap of an item of the hottest pack with a
// lighter item of another pack that makes the larger of the two new loads smallest, as long
// as that is below the hottest load, and never raises the number of duplicate keys on packs
// (a key n times on a pack counts n - 1). Stops when no such swap exists, at the lower bound
// (total / num_packs), or after `max_swaps`. Leaves each pack's items sorted by weight,
// heaviest first. Returns the number of swaps. One swap costs O(num_packs x capacity).
int refine_swaps(Packing& packing, int max_swaps);

// refine_swaps(), then, while the hottest pack is above `good_enough`, pair_swap() whenever
// single swaps are exhausted, until neither helps or `max_swaps` exchanges in all (pair
// swaps cost more: `good_enough` says when polishing is not worth it). Returns the number
// of exchanges.
int refine_packing(Packing& packing, int max_swaps, double good_enough, PairSwapScratch& scratch);

}  // namespace eplb::planner
