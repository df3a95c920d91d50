// The CUDA edge of eplb: device twins of load counting (eplb/load_counter.h) and log2phy routing
// (eplb/token_router.h), the double-buffered device replica table, and the expert-weight slot
// update. Built only with EPLB_WITH_CUDA (library eplb_cuda); the core never includes this.
//
// This header includes no CUDA header: streams and events are the runtime's opaque handles,
// declared here exactly as cuda_runtime.h declares them. All pointers named `d_*` or documented
// as device pointers are device memory. Every function only enqueues work on the given stream(s)
// and never synchronizes the host (DeviceReplicaTable::stage may wait for its own earlier upload,
// see there). Launch errors throw eplb::Error "eplb::cuda::<function>: <CUDA error>".
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "eplb/replica_table.h"
#include "eplb/token_router.h"

struct CUstream_st;
struct CUevent_st;
using cudaStream_t = CUstream_st*;
using cudaEvent_t = CUevent_st*;

namespace eplb::cuda {

// ---- Load counting --------------------------------------------------------------------------

// Device twin of eplb::count_expert_load: adds the occurrences of every logical expert in
// `d_topk_ids` [num_ids] into `d_counts` [num_experts] (int64, accumulates), and the number of ids
// outside [0, num_experts) into `*d_num_invalid` (may be null). A shared-memory histogram per
// block, flushed with one global atomic per touched expert; above 12000 experts it falls back
// to global atomics only. Nothing is launched for num_ids == 0.
void count_expert_load(const int32_t* d_topk_ids, int64_t num_ids, int num_experts,
                       int64_t* d_counts, int64_t* d_num_invalid, cudaStream_t stream);
void count_expert_load(const int64_t* d_topk_ids, int64_t num_ids, int num_experts,
                       int64_t* d_counts, int64_t* d_num_invalid, cudaStream_t stream);

// Device twin of eplb::count_expert_load_decayed: d_counts[e] = d_counts[e] * decay + n[e] with
// separately rounded product and sum (bit-identical to the host), in one launch (the last block
// to finish applies the decay). `d_workspace` [num_experts + 1] int64 device scratch: zero it
// once before the first call (cudaMemsetAsync); every call leaves it zero again. A workspace
// serves one call at a time (stream-ordered calls may share it).
void count_expert_load_decayed(const int32_t* d_topk_ids, int64_t num_ids, int num_experts,
                               double decay, double* d_counts, int64_t* d_workspace,
                               int64_t* d_num_invalid, cudaStream_t stream);
void count_expert_load_decayed(const int64_t* d_topk_ids, int64_t num_ids, int num_experts,
                               double decay, double* d_counts, int64_t* d_workspace,
                               int64_t* d_num_invalid, cudaStream_t stream);

// ---- Routing --------------------------------------------------------------------------------

// The device pointers of both buffers of a DeviceReplicaTable; what the routing kernel gets as a
// parameter. Kernels read `*active` (0 or 1) from device memory at run time, so a captured
// CUDA graph follows commits made after its capture.
struct DeviceReplicaTableRef {
  const int32_t* active = nullptr;                // [1] index of the table in use
  const int32_t* offset[2] = {nullptr, nullptr};  // [num_experts + 1] each
  const int32_t* slot[2] = {nullptr, nullptr};    // [<= num_slots] each
  const float* cum_weight[2] = {nullptr, nullptr};
  const int32_t* slots_per_rank[2] = {nullptr, nullptr};  // [1] each
  int32_t num_experts = 0;
};

// One layer's ReplicaTable on the device, double-buffered: `stage` uploads the next table into
// the inactive buffer while routing keeps reading the active one, and `commit` flips the active
// index with one device-side atomic store, in stream order. Before the first commit every logical
// expert has no replica (routing writes -1). Owns its device and pinned host memory.
// Ordering contract: stage, commit and the routing kernels must be ordered with each other (one
// stream, or events); stage must not run under stream capture (commit and routing may).
class DeviceReplicaTable {
 public:
  // Room for tables of exactly `num_experts` logical experts and up to `num_slots` physical slots.
  DeviceReplicaTable(int num_experts, int num_slots);
  ~DeviceReplicaTable();
  DeviceReplicaTable(const DeviceReplicaTable&) = delete;
  DeviceReplicaTable& operator=(const DeviceReplicaTable&) = delete;

  // Copies `table` into the inactive buffer on `stream` (through pinned memory, so `table` may be
  // destroyed on return). Waits on the host only for the previous upload into that same buffer.
  // Throws eplb::Error when table.num_experts differs or it has more slots than fit.
  void stage(const ReplicaTable& table, cudaStream_t stream);
  // Makes the last staged buffer active: kernels enqueued on `stream` after this see it.
  void commit(cudaStream_t stream);

  int num_experts() const { return num_experts_; }
  // The buffer the host has made active with its last commit (the device catches up in order).
  int active_index() const { return active_; }
  const DeviceReplicaTableRef& ref() const { return ref_; }

 private:
  void release() noexcept;

  int num_experts_;
  int num_slots_;
  int active_ = 0;          // host mirror of *ref_.active as of the last enqueued commit
  int staged_ = 1;          // buffer the last stage wrote
  void* device_ = nullptr;  // both buffers + the active index, one allocation
  void* pinned_[2] = {nullptr, nullptr};          // host staging of each buffer
  cudaEvent_t uploaded_[2] = {nullptr, nullptr};  // each buffer's last upload done
  DeviceReplicaTableRef ref_;
};

// Device twin of eplb::route_tokens: `d_topk_slots` [num_tokens, k] physical slot ids for
// `d_topk_ids` [num_tokens, k] logical expert ids, read from the active buffer of `table`.
// Same rule, same hash, bit-identical to the host.
void route_tokens(const int32_t* d_topk_ids, int64_t num_tokens, int k,
                  const DeviceReplicaTable& table, RoutePolicy policy, int local_rank,
                  uint64_t seed, int32_t* d_topk_slots, cudaStream_t stream);

// ---- Slot update ----------------------------------------------------------------------------

// One expert-weight copy: `bytes` from a staged device buffer into a physical slot's weights.
struct SlotCopy {
  void* dst = nullptr;        // device: the slot's weight memory
  const void* src = nullptr;  // device: the staged weights
  size_t bytes = 0;
};

// Copies every SlotCopy on `copy_stream` (one batched kernel per 64 copies, 16-byte vector
// loads where both sides are 16-byte aligned), then records `done` on `copy_stream` and makes
// `forward_stream` wait for it (cudaStreamWaitEvent): work enqueued on `forward_stream` after
// this call sees the new weights, and the host never waits. If `ready` is not null,
// `copy_stream` first waits for it: record it on the forward stream once the old weights of
// these slots are no longer read. The CPU twin is std::memcpy of each copy.
void update_slots(std::span<const SlotCopy> copies, cudaStream_t copy_stream,
                  cudaStream_t forward_stream, cudaEvent_t ready, cudaEvent_t done);

}  // namespace eplb::cuda
