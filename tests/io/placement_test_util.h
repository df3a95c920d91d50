// The toy world of the placement-file tests (tests/data/placements/README.md): layers 3 and 4,
// 4 experts, 2 ranks x 3 slots, phy2log [[2,0,1,3,2,0],[3,1,0,2,3,1]].
#pragma once

#include <string>

#include "eplb/placement.h"
#include "eplb/placement_io.h"
#include "support/test_support.h"

namespace eplb::placement_test {

using testing::error_of;
using testing::ScratchDir;
using testing::slurp;

// tests/data/placements/
inline const std::string kData = testing::test_data("placements/");

inline PlacementReadOptions options(int num_ranks, int num_experts = 0) {
  PlacementReadOptions o;
  o.num_ranks = num_ranks;
  o.num_experts = num_experts;
  return o;
}

// The toy phy2log without routing weights.
inline Placement toy_even() {
  Placement p = Placement::contiguous(2, 4, 2, 6, {3, 4});
  p.phy2log = {2, 0, 1, 3, 2, 0, 3, 1, 0, 2, 3, 1};
  return p;
}

// The toy phy2log with routing weights (what the eplb format carries).
inline Placement toy_weighted() {
  Placement p = toy_even();
  p.routing_weight = {0.75, 0.5, 1.0, 1.0, 0.25, 0.5, 0.1, 1.0 / 3, 1.0, 1.0, 0.9, 2.0 / 3};
  return p;
}

}  // namespace eplb::placement_test
