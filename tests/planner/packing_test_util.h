// Builds packings directly for the packing, refinement and duplicate tests.
#pragma once

#include <utility>
#include <vector>

#include "planner/packing.h"

namespace eplb::planner {

// A packing of `packs` packs x `capacity` items; `keys` (logical experts) and `weights` are
// pack-major, loads computed from them.
inline Packing make_packing(int32_t packs, int32_t capacity, std::vector<int32_t> keys,
                            std::vector<double> weights) {
  Packing p;
  p.reset(packs, capacity);
  p.key = std::move(keys);
  p.weight = std::move(weights);
  for (int32_t q = 0; q < packs; ++q) p.update_load(q);
  return p;
}

inline std::vector<int32_t> keys_of(const Packing& p) { return p.key; }

}  // namespace eplb::planner
