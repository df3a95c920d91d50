// A larger move for the local search of refine.h: two items of the hottest pack for two of
// another pack, for when no single swap fits the gap between them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "planner/packing.h"

namespace eplb::planner {

// Scratch of pair_swap(), reused between calls.
struct PairSwapScratch {
  struct Pair {
    double sum = 0;
    size_t i = 0;
    size_t j = 0;
  };
  std::vector<Pair> hot_pairs;  // [capacity * (capacity - 1) / 2]
  std::vector<Pair> pairs;
  std::vector<int32_t> keys;
};

// When no single swap helps any more: exchanges two items of the hottest pack for two of
// another pack, the exchange that makes the larger of the two new loads smallest, if that
// is below the hottest load and adds no duplicate key. Packs must be sorted as
// refine_swaps() leaves them. Returns whether it swapped. O(num_packs x capacity^2 log).
bool pair_swap(Packing& packing, PairSwapScratch& scratch);

}  // namespace eplb::planner
