#include "eplb/runtime/weight_store.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "eplb/error.h"

namespace eplb {

void ExpertWeightStore::commit_slot(int layer_idx, int local_slot_idx, int area_idx) {
  const std::span<std::byte> staged = staging_bytes(area_idx, local_slot_idx);
  const std::span<std::byte> live = slot_bytes(layer_idx, local_slot_idx);
  if (!staged.empty()) std::memcpy(live.data(), staged.data(), staged.size());
}

namespace {
constexpr size_t kAlign = 64;
}

HostWeightStore::HostWeightStore(int num_layers, int slots_per_rank, size_t bytes_per_expert,
                                 int num_staging_areas)
    : num_layers_(num_layers),
      slots_per_rank_(slots_per_rank),
      bytes_per_expert_(bytes_per_expert),
      num_staging_areas_(num_staging_areas),
      stride_((bytes_per_expert + kAlign - 1) / kAlign * kAlign) {
  if (num_layers <= 0 || slots_per_rank <= 0 || num_staging_areas <= 0) {
    throw Error("HostWeightStore: num_layers " + std::to_string(num_layers) + ", slots_per_rank " +
                std::to_string(slots_per_rank) + " and num_staging_areas " +
                std::to_string(num_staging_areas) + " must be > 0");
  }
  const size_t buffers =
      static_cast<size_t>(num_layers + num_staging_areas) * static_cast<size_t>(slots_per_rank);
  const size_t bytes = buffers * stride_ + kAlign;
  storage_.reset(new std::byte[bytes]());
  const auto address = reinterpret_cast<uintptr_t>(storage_.get());
  base_ = storage_.get() + ((kAlign - address % kAlign) % kAlign);
}

std::span<std::byte> HostWeightStore::buffer(size_t index) {
  return {base_ + index * stride_, bytes_per_expert_};
}

std::span<std::byte> HostWeightStore::slot_bytes(int layer_idx, int local_slot_idx) {
  if (layer_idx < 0 || layer_idx >= num_layers_ || local_slot_idx < 0 ||
      local_slot_idx >= slots_per_rank_) {
    throw Error("HostWeightStore: slot (layer " + std::to_string(layer_idx) + ", local slot " +
                std::to_string(local_slot_idx) + ") out of range [" + std::to_string(num_layers_) +
                ", " + std::to_string(slots_per_rank_) + ")");
  }
  return buffer(static_cast<size_t>(layer_idx) * static_cast<size_t>(slots_per_rank_) +
                static_cast<size_t>(local_slot_idx));
}

std::span<std::byte> HostWeightStore::staging_bytes(int area_idx, int local_slot_idx) {
  if (area_idx < 0 || area_idx >= num_staging_areas_ || local_slot_idx < 0 ||
      local_slot_idx >= slots_per_rank_) {
    throw Error("HostWeightStore: staging (area " + std::to_string(area_idx) + ", local slot " +
                std::to_string(local_slot_idx) + ") out of range [" +
                std::to_string(num_staging_areas_) + ", " + std::to_string(slots_per_rank_) + ")");
  }
  return buffer(static_cast<size_t>(num_layers_ + area_idx) * static_cast<size_t>(slots_per_rank_) +
                static_cast<size_t>(local_slot_idx));
}

}  // namespace eplb
