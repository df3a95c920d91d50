// A host-memory copy of every logical expert's weights, the source TensorRT-LLM keeps for
// placing experts anew: when a lost rank held an expert's last replica and
// lost_expert_policy is restore, the balancer reloads that expert from here.
//
//   eplb::HostExpertCopy copy(58, 256, bytes_per_expert);      // [layers, experts] buffers
//   for each (layer, expert): fill copy.expert_bytes(layer, expert) from the checkpoint
//   eplb::BalancerCallbacks callbacks;
//   callbacks.load_expert = copy.loader();                       // copy must outlive the balancer
//
// Memory: num_layers x num_experts x bytes_per_expert (the whole MoE part of the model), so
// a deployment keeps it only where host memory allows; else load_expert reads the checkpoint.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "eplb/runtime/balancer.h"

namespace eplb {

class HostExpertCopy {
 public:
  // Zero-initialised buffers. Throws eplb::Error for non-positive layer or expert counts, or a
  // size that overflows.
  HostExpertCopy(int num_layers, int num_experts, size_t bytes_per_expert);

  int num_layers() const { return num_layers_; }
  int num_experts() const { return num_experts_; }
  size_t bytes_per_expert() const { return bytes_per_expert_; }

  // [bytes_per_expert] weights of logical expert `expert_idx` of layer `layer_idx`. Throws
  // eplb::Error naming the index out of range.
  std::span<std::byte> expert_bytes(int layer_idx, int expert_idx);
  std::span<const std::byte> expert_bytes(int layer_idx, int expert_idx) const;

  // A BalancerCallbacks::load_expert that copies expert_bytes(layer, expert) into its
  // destination (an eplb::Error, which fails the layer's move, for an index out of range or a
  // destination of another size). Refers to this object: keep it alive while the balancer is.
  ExpertLoadFn loader() const;

 private:
  size_t offset(int layer_idx, int expert_idx) const;

  int num_layers_;
  int num_experts_;
  size_t bytes_per_expert_;
  std::unique_ptr<std::byte[]> bytes_;  // [num_layers, num_experts, bytes_per_expert]
};

}  // namespace eplb
