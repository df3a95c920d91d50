// Policy `greedy`: TensorRT-LLM-style plain greedy, one layer at a time. Replica counts by
// water-filling (the expert of largest per-replica load gets the next slot), then replicas
// longest first, each onto the least loaded rank with a free slot. Double arithmetic, ties
// by lowest index; topology-free (num_nodes / num_groups are ignored).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "eplb/planner.h"
#include "planner/packing.h"
#include "planner/replicate.h"

namespace eplb::planner {

// Reuses its buffers between calls; not thread-safe.
class GreedyPlanner {
 public:
  // `expert_loads` [num_experts] -> `phy2log` [num_slots]; options already checked.
  void plan(std::span<const double> expert_loads, const PlanOptions& options,
            std::span<int32_t> phy2log);

 private:
  std::vector<int32_t> replica_count_;  // [num_experts]
  std::vector<int32_t> extra_expert_;   // [num_slots - num_experts]
  std::vector<ItemRun> runs_;           // [num_experts]
  Packing packing_;
  std::vector<uint64_t> run_order_;
  std::vector<ItemRun> sorted_runs_;
  LptScratch lpt_;
  WaterFillScratch<double> water_fill_;
};

}  // namespace eplb::planner
