// Where a rank's expert weights live. The runtime does not own model weights: the engine
// implements this interface over its own buffers (a device store copies on its stream), and
// HostWeightStore is the host-memory implementation of the tests, the simulator and eplb-e2e.
//
// Each rank holds slots_per_rank physical slots per layer; local slot i of rank r is global
// slot r * slots_per_rank + i. An expert's weights are bytes_per_expert bytes (all its tensors,
// packed). Incoming weights land in staging buffers first: a staging area holds one layer's
// worth ([slots_per_rank] buffers), so the number of areas bounds the layers in flight.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

namespace eplb {

class ExpertWeightStore {
 public:
  virtual ~ExpertWeightStore() = default;

  // Bytes of one expert's weights; the same on every rank.
  virtual size_t bytes_per_expert() const = 0;
  // Staging areas (>= 1); the same on every rank.
  virtual int num_staging_areas() const = 0;

  // [bytes_per_expert] live weights of local slot `local_slot_idx` of layer `layer_idx`.
  // Serving reads them; the balancer only reads them (as a transfer source) and overwrites
  // them in commit_slot().
  virtual std::span<std::byte> slot_bytes(int layer_idx, int local_slot_idx) = 0;
  // [bytes_per_expert] staging buffer of local slot `local_slot_idx` in area `area_idx`.
  virtual std::span<std::byte> staging_bytes(int area_idx, int local_slot_idx) = 0;

  // Makes the staged weights live: copies staging_bytes(area_idx, local_slot_idx) into
  // slot_bytes(layer_idx, local_slot_idx). Called on the serving thread at the commit of a
  // layer, before its routing map switches. The default is a memcpy.
  virtual void commit_slot(int layer_idx, int local_slot_idx, int area_idx);
};

// Host-memory store: [num_layers, slots_per_rank] slots and [num_staging_areas,
// slots_per_rank] staging buffers of bytes_per_expert bytes each, zero-initialised, every
// buffer aligned to 64 bytes (floats may be stored through std::memcpy or std::bit_cast).
class HostWeightStore final : public ExpertWeightStore {
 public:
  // Throws eplb::Error for non-positive shapes (bytes_per_expert may be 0: placement only).
  HostWeightStore(int num_layers, int slots_per_rank, size_t bytes_per_expert,
                  int num_staging_areas = 2);

  size_t bytes_per_expert() const override { return bytes_per_expert_; }
  int num_staging_areas() const override { return num_staging_areas_; }
  std::span<std::byte> slot_bytes(int layer_idx, int local_slot_idx) override;
  std::span<std::byte> staging_bytes(int area_idx, int local_slot_idx) override;

  int num_layers() const { return num_layers_; }
  int slots_per_rank() const { return slots_per_rank_; }

 private:
  std::span<std::byte> buffer(size_t index);

  int num_layers_;
  int slots_per_rank_;
  size_t bytes_per_expert_;
  int num_staging_areas_;
  size_t stride_;  // bytes_per_expert rounded up to 64
  std::unique_ptr<std::byte[]> storage_;
  std::byte* base_ = nullptr;  // storage_ aligned to 64
};

}  // namespace eplb
