// The replicas of every logical expert of one MoE layer, in compressed-sparse-row form: the
// table token routing reads (log2phy with per-replica routing shares).
//
// Built from phy2log [num_slots] (physical slot -> logical expert). Replicas of logical expert
// e are the physical slots slot[offset[e] .. offset[e + 1]), ascending; slot s lives on rank
// s / slots_per_rank. The same arrays are uploaded as-is to the device (eplb/cuda/kernels.h).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace eplb {

struct ReplicaTable {
  int num_experts = 0;     // logical experts of the layer
  int num_slots = 0;       // physical slots of the layer over all ranks (phy2log.size())
  int slots_per_rank = 0;  // physical slots per rank; slot s lives on rank s / slots_per_rank
  // [num_experts + 1] row starts into `slot` / `cum_weight`; offset[num_experts] is the number
  // of served slots (num_slots minus the empty and zero-share ones).
  std::vector<int32_t> offset;
  // [offset[num_experts]] physical slot ids grouped by logical expert, ascending within each.
  std::vector<int32_t> slot;
  // [offset[num_experts]] cumulative share of its logical expert's tokens up to and including
  // each replica: non-decreasing within an expert's row, the row's last entry exactly 1.
  std::vector<float> cum_weight;

  // Number of replicas (physical slots) of logical expert `expert_idx`; 0 for none.
  int replica_count(int expert_idx) const {
    return offset[static_cast<size_t>(expert_idx) + 1] - offset[static_cast<size_t>(expert_idx)];
  }
  // Rank that holds physical slot `slot_idx`.
  int slot_rank(int32_t slot_idx) const { return slot_idx / slots_per_rank; }
};

// Builds the table of one layer. `phy2log` [num_slots]: the logical expert in each physical
// slot, -1 for an empty slot (left out of the table). `routing_weight`: empty (replicas split
// their expert's tokens evenly), or [num_slots] the share of its logical expert's tokens each
// slot gets; shares are normalised per expert, so they need only be >= 0. A slot with share 0
// is left out like an empty one (it sits on an excluded or masked rank and must get no token
// under any RoutePolicy). An expert with no replica, or only zero-share ones, gets an empty
// row (routing sends its tokens to slot -1: not served).
// Throws eplb::Error naming the slot for ids outside [-1, num_experts), num_slots not a
// positive multiple of slots_per_rank, or bad weights (negative, not finite).
ReplicaTable build_replica_table(std::span<const int32_t> phy2log, int num_experts,
                                 int slots_per_rank, std::span<const double> routing_weight = {});

}  // namespace eplb
