// Policy `greedy`: water-filling replica counts, then longest first onto the least loaded
// rank with a free slot (TensorRT-LLM style), topology-free.
#include "planner/greedy.h"

#include <gtest/gtest.h>

#include <vector>

namespace eplb::planner {
namespace {

TEST(Greedy, PlacesLongestFirstOnTheLeastLoadedRank) {
  // 3 ranks x 2 slots, loads {10, 10, 2}: counts {3, 2, 1}, replicas 5 5 | 3.33 x3 | 2.
  // 5 -> r0, 5 -> r1, 3.33 -> r2, 3.33 -> r2 (3.33 < 5), 3.33 -> r0 (5 = 5: first), 2 -> r1.
  PlanOptions o;
  o.num_slots = 6;
  o.num_ranks = 3;
  std::vector<int32_t> phy2log(6);
  GreedyPlanner greedy;
  greedy.plan(std::vector<double>{10, 10, 2}, o, phy2log);
  EXPECT_EQ(phy2log, (std::vector<int32_t>{1, 0, 1, 2, 0, 0}));
}

TEST(Greedy, IgnoresNodesAndGroups) {
  const std::vector<double> loads = {9, 1, 7, 3, 5, 5, 2, 8};
  PlanOptions flat;
  flat.num_slots = 12;
  flat.num_ranks = 4;
  PlanOptions topo = flat;
  topo.num_nodes = 2;
  topo.num_groups = 4;
  std::vector<int32_t> a(12);
  std::vector<int32_t> b(12);
  GreedyPlanner greedy;
  greedy.plan(loads, flat, a);
  greedy.plan(loads, topo, b);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace eplb::planner
