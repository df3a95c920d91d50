// Local search on a Packing: swaps of two items between packs, which keep every pack's item
// count, so they apply to replicas on ranks of equal slot counts. No swap ever raises the
// hottest pack, nor adds a duplicate key to a pack.
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

// The planners' refinement budget: a safety cap on swaps per slot (refinement stops far
// earlier in practice), and pair swaps (two replicas for two, O(packs x capacity^2 log) each:
// a few per packing where single swaps are stuck).
inline constexpr int kRefineSwapsPerSlot = 2;
inline constexpr int kRefinePairSwaps = 2;

// Limits of refine_to_target().
struct RefineLimits {
  double target = 0;       // stop once no pack is above this load
  int max_swaps = 0;       // single swaps in all
  int max_pair_swaps = 0;  // pair_swap() calls in all (each costs O(packs x capacity^2 log))
  // Whether a swap may be with any lighter pack when the coldest offers none (O(packs x
  // capacity) per swap); false: stop there instead.
  bool any_partner = true;
};

// The fast local search of policy `balanced`: while the hottest pack h is above
// `limits.target`, swaps one of its items with one of the coldest pack q: the smallest
// exchange that brings both to or below the target, else the one that evens them out best;
// when the coldest pack offers neither, the evening swap with any lighter pack that lowers h
// most; when none lowers h, two items for two (pair_swap()). Never adds a duplicate key to a
// pack. Stops at the target, when nothing lowers h, or at the limits. Leaves each pack's
// items sorted by weight, heaviest first. Returns the number of exchanges. One swap costs
// O(num_packs + capacity) when the coldest pack takes it, O(num_packs x capacity) else.
int refine_to_target(Packing& packing, const RefineLimits& limits, PairSwapScratch& scratch);

}  // namespace eplb::planner
