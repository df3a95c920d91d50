// Transfer plan of one layer: the weight copies that turn the old placement (phy2log) into the
// new one. A pure function of (old, new, ranks, nodes), so every rank computes the same plan.
//
// For every slot whose logical expert changes, one copy from a slot that holds that expert in
// the OLD placement (old weights stay live until the layer commits, so sources are stable):
//   1. a slot on the destination rank (a local copy, no network), else
//   2. a slot on a rank of the destination's node, else
//   3. any holder.
// Within a tier the holder rank with the fewest sends assigned so far wins (ties: the lowest
// slot), so sends of a hot expert spread over its replicas. Destinations are visited in
// ascending slot order.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace eplb {

struct SlotCopy {
  int32_t expert_idx = 0;  // logical expert copied
  int32_t src_slot = 0;    // global physical slot holding it in the old placement
  int32_t dst_slot = 0;    // global physical slot receiving it
  int32_t src_rank = 0;
  int32_t dst_rank = 0;
  bool is_local() const { return src_rank == dst_rank; }
};

struct LayerTransferPlan {
  int layer_idx = 0;
  int num_ranks = 0;
  // Every copy, ascending by dst_slot.
  std::vector<SlotCopy> copies;
  // Per rank, indices into `copies`, ascending: sends[r] the remote copies rank r sends,
  // recvs[r] the remote copies it receives, locals[r] the copies within rank r.
  std::vector<std::vector<int32_t>> sends;   // [num_ranks]
  std::vector<std::vector<int32_t>> recvs;   // [num_ranks]
  std::vector<std::vector<int32_t>> locals;  // [num_ranks]

  int64_t num_remote_copies() const;
  bool empty() const { return copies.empty(); }
};

struct TransferPlanOptions {
  int num_ranks = 0;  // slots are split contiguously: slot s lives on rank s / slots_per_rank
  int num_nodes = 1;  // ranks are split contiguously over nodes
};

// Plans the copies of layer `layer_idx` from `old_phy2log` to `new_phy2log` (both [num_slots]
// logical expert ids; -1 in new_phy2log is an empty slot, never copied to). Throws eplb::Error
// for mismatched sizes, num_slots not divisible by num_ranks, num_ranks not divisible by
// num_nodes, ids out of range, or an expert of the new placement that no old slot holds.
LayerTransferPlan plan_layer_transfers(int layer_idx, std::span<const int32_t> old_phy2log,
                                       std::span<const int32_t> new_phy2log,
                                       const TransferPlanOptions& options);

}  // namespace eplb
