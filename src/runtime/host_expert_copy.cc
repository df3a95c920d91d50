#include "eplb/runtime/host_expert_copy.h"

#include <cstring>
#include <limits>
#include <string>

#include "eplb/error.h"

namespace eplb {

HostExpertCopy::HostExpertCopy(int num_layers, int num_experts, size_t bytes_per_expert)
    : num_layers_(num_layers), num_experts_(num_experts), bytes_per_expert_(bytes_per_expert) {
  if (num_layers <= 0 || num_experts <= 0) {
    throw Error("HostExpertCopy: num_layers " + std::to_string(num_layers) + " and num_experts " +
                std::to_string(num_experts) + " must be > 0");
  }
  const size_t entries = static_cast<size_t>(num_layers) * static_cast<size_t>(num_experts);
  if (bytes_per_expert > std::numeric_limits<size_t>::max() / entries) {
    throw Error("HostExpertCopy: " + std::to_string(entries) + " experts of " +
                std::to_string(bytes_per_expert) + " bytes overflow the address space");
  }
  bytes_.reset(new std::byte[entries * bytes_per_expert]());
}

size_t HostExpertCopy::offset(int layer_idx, int expert_idx) const {
  if (layer_idx < 0 || layer_idx >= num_layers_) {
    throw Error("HostExpertCopy: layer " + std::to_string(layer_idx) + " out of range [0, " +
                std::to_string(num_layers_) + ")");
  }
  if (expert_idx < 0 || expert_idx >= num_experts_) {
    throw Error("HostExpertCopy: expert " + std::to_string(expert_idx) + " out of range [0, " +
                std::to_string(num_experts_) + ")");
  }
  return (static_cast<size_t>(layer_idx) * static_cast<size_t>(num_experts_) +
          static_cast<size_t>(expert_idx)) *
         bytes_per_expert_;
}

std::span<std::byte> HostExpertCopy::expert_bytes(int layer_idx, int expert_idx) {
  return {bytes_.get() + offset(layer_idx, expert_idx), bytes_per_expert_};
}

std::span<const std::byte> HostExpertCopy::expert_bytes(int layer_idx, int expert_idx) const {
  return {bytes_.get() + offset(layer_idx, expert_idx), bytes_per_expert_};
}

ExpertLoadFn HostExpertCopy::loader() const {
  return [this](int layer_idx, int expert_idx, std::span<std::byte> dst) {
    const std::span<const std::byte> src = expert_bytes(layer_idx, expert_idx);
    if (dst.size() != src.size()) {
      throw Error("HostExpertCopy: destination of " + std::to_string(dst.size()) +
                  " bytes for an expert of " + std::to_string(src.size()));
    }
    if (!src.empty()) std::memcpy(dst.data(), src.data(), src.size());
  };
}

}  // namespace eplb
