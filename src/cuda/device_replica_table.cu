// The double-buffered device replica table (eplb/cuda/kernels.h).
//
// Device layout, one allocation: [active: int32 (padded to 16 B)] then per buffer b in {0, 1}:
// [slots_per_rank: int32 (padded to 16 B) | offset: int32 [num_experts + 1] |
//  slot: int32 [num_slots] | cum_weight: float [num_slots]], each array 16-byte aligned.
// The pinned host staging of a buffer has the same layout as the buffer, so one copy uploads it.
#include <cstring>
#include <string>

#include "cuda/cuda_check.h"
#include "eplb/cuda/kernels.h"

namespace eplb::cuda {
namespace {

constexpr size_t align16(size_t bytes) { return (bytes + 15) / 16 * 16; }

// Byte offsets of the arrays inside one buffer.
struct BufferLayout {
  size_t offset_at, slot_at, cum_weight_at, bytes;
  BufferLayout(int num_experts, int num_slots) {
    const size_t experts = static_cast<size_t>(num_experts);
    const size_t slots = static_cast<size_t>(num_slots);
    offset_at = 16;
    slot_at = offset_at + align16(sizeof(int32_t) * (experts + 1));
    cum_weight_at = slot_at + align16(sizeof(int32_t) * slots);
    bytes = cum_weight_at + align16(sizeof(float) * slots);
  }
};

__global__ void set_active_kernel(int32_t* active, int32_t index) { atomicExch(active, index); }

}  // namespace

DeviceReplicaTable::DeviceReplicaTable(int num_experts, int num_slots)
    : num_experts_(num_experts), num_slots_(num_slots) {
  constexpr const char* kWhere = "DeviceReplicaTable";
  if (num_experts < 0 || num_slots < 0) {
    throw Error(std::string("eplb::cuda::DeviceReplicaTable: num_experts=") +
                std::to_string(num_experts) + " and num_slots=" + std::to_string(num_slots) +
                " must be >= 0");
  }
  try {
    const BufferLayout layout(num_experts, num_slots);
    const size_t total = 16 + 2 * layout.bytes;
    EPLB_CUDA_CHECK(kWhere, cudaMalloc(&device_, total));
    // All zero: active = 0, and buffer 0 has every offset 0 (no replicas: routing writes -1).
    EPLB_CUDA_CHECK(kWhere, cudaMemset(device_, 0, total));
    auto* base = static_cast<char*>(device_);
    ref_.active = reinterpret_cast<const int32_t*>(base);
    ref_.num_experts = num_experts;
    for (int b = 0; b < 2; ++b) {
      char* buffer = base + 16 + static_cast<size_t>(b) * layout.bytes;
      ref_.slots_per_rank[b] = reinterpret_cast<const int32_t*>(buffer);
      ref_.offset[b] = reinterpret_cast<const int32_t*>(buffer + layout.offset_at);
      ref_.slot[b] = reinterpret_cast<const int32_t*>(buffer + layout.slot_at);
      ref_.cum_weight[b] = reinterpret_cast<const float*>(buffer + layout.cum_weight_at);
      EPLB_CUDA_CHECK(kWhere, cudaMallocHost(&pinned_[b], layout.bytes));
      EPLB_CUDA_CHECK(kWhere, cudaEventCreateWithFlags(&uploaded_[b], cudaEventDisableTiming));
    }
  } catch (...) {
    release();
    throw;
  }
}

DeviceReplicaTable::~DeviceReplicaTable() { release(); }

void DeviceReplicaTable::release() noexcept {
  // Never throws; the memory may still be in use by enqueued work, so wait for it first.
  for (int b = 0; b < 2; ++b) {
    if (uploaded_[b] != nullptr) {
      cudaEventSynchronize(uploaded_[b]);
      cudaEventDestroy(uploaded_[b]);
    }
    if (pinned_[b] != nullptr) cudaFreeHost(pinned_[b]);
  }
  if (device_ != nullptr) cudaFree(device_);  // cudaFree waits for the device to be idle
}

void DeviceReplicaTable::stage(const ReplicaTable& table, cudaStream_t stream) {
  constexpr const char* kWhere = "DeviceReplicaTable::stage";
  const size_t num_filled = table.slot.size();
  if (table.num_experts != num_experts_ ||
      table.offset.size() != static_cast<size_t>(num_experts_) + 1 ||
      table.cum_weight.size() != num_filled || num_filled > static_cast<size_t>(num_slots_) ||
      table.slots_per_rank <= 0) {
    throw Error(std::string("eplb::cuda::DeviceReplicaTable::stage: table of ") +
                std::to_string(table.num_experts) + " experts, " + std::to_string(num_filled) +
                " slots, slots_per_rank " + std::to_string(table.slots_per_rank) +
                " does not fit a device table of " + std::to_string(num_experts_) +
                " experts and up to " + std::to_string(num_slots_) + " slots");
  }
  const int b = 1 - active_;
  const BufferLayout layout(num_experts_, num_slots_);
  // The pinned staging of buffer b may still feed its previous upload.
  EPLB_CUDA_CHECK(kWhere, cudaEventSynchronize(uploaded_[b]));
  auto* host = static_cast<char*>(pinned_[b]);
  std::memset(host, 0, 16);
  std::memcpy(host, &table.slots_per_rank, sizeof(int32_t));
  std::memcpy(host + layout.offset_at, table.offset.data(), sizeof(int32_t) * table.offset.size());
  std::memcpy(host + layout.slot_at, table.slot.data(), sizeof(int32_t) * num_filled);
  std::memcpy(host + layout.cum_weight_at, table.cum_weight.data(), sizeof(float) * num_filled);
  void* device = const_cast<int32_t*>(ref_.slots_per_rank[b]);
  EPLB_CUDA_CHECK(kWhere,
                  cudaMemcpyAsync(device, host, layout.bytes, cudaMemcpyHostToDevice, stream));
  EPLB_CUDA_CHECK(kWhere, cudaEventRecord(uploaded_[b], stream));
  staged_ = b;
}

void DeviceReplicaTable::commit(cudaStream_t stream) {
  // Re-committing without a new stage keeps the same buffer (never flips back to an old table).
  set_active_kernel<<<1, 1, 0, stream>>>(const_cast<int32_t*>(ref_.active), staged_);
  EPLB_CUDA_CHECK_LAUNCH("DeviceReplicaTable::commit");
  active_ = staged_;
}

}  // namespace eplb::cuda
