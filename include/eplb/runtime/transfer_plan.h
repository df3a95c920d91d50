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
// ascending slot order. Holders on TransferSources::excluded_ranks (masked: their weights
// may be gone) are never sources; with load_missing, a slot whose expert has no usable holder
// is a load (the destination rank fetches the weights itself, e.g. from the checkpoint).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace eplb {

struct SlotCopy {
  int32_t expert_idx = 0;  // logical expert copied
  int32_t src_slot = 0;    // global physical slot holding it in the old placement; -1: a load
  int32_t dst_slot = 0;    // global physical slot receiving it
  int32_t src_rank = 0;    // -1: a load
  int32_t dst_rank = 0;
  bool is_load() const { return src_slot < 0; }
  bool is_local() const { return src_rank == dst_rank; }
  bool is_remote() const { return !is_load() && !is_local(); }
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
  // Per rank, the loads (SlotCopy::is_load) rank r performs into its own slots.
  std::vector<std::vector<int32_t>> loads;  // [num_ranks]

  int64_t num_remote_copies() const;
  int64_t num_loads() const;
  bool empty() const { return copies.empty(); }
};

struct TransferPlanOptions {
  int num_ranks = 0;  // slots are split contiguously: slot s lives on rank s / slots_per_rank
  int num_nodes = 1;  // ranks are split contiguously over nodes
};

// Where copies may come from while ranks are masked (Balancer::mask_ranks).
struct TransferSources {
  std::vector<int> excluded_ranks;  // never sources
  bool load_missing = false;        // no usable holder: a load instead of an error
};

// Plans the copies of layer `layer_idx` from `old_phy2log` to `new_phy2log` (both [num_slots]
// logical expert ids; -1 in new_phy2log is an empty slot, never copied to). Throws eplb::Error
// for mismatched sizes, num_slots not divisible by num_ranks, num_ranks not divisible by
// num_nodes, ids out of range, or (without load_missing) an expert of the new placement that
// no usable old slot holds.
LayerTransferPlan plan_layer_transfers(int layer_idx, std::span<const int32_t> old_phy2log,
                                       std::span<const int32_t> new_phy2log,
                                       const TransferPlanOptions& options,
                                       const TransferSources& sources = {});

}  // namespace eplb
