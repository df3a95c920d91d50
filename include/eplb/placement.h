// A placement: which logical expert every physical slot of every MoE layer holds.
//
// Slots are split contiguously over ranks: slot s lives on rank s / slots_per_rank().
// The vocabulary follows DeepEP/DeepSeek: phy2log (slot -> expert), log2phy
// (expert -> its slots), replica_count (expert -> number of slots holding it).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace eplb {

struct Placement {
  int num_layers = 0;
  int num_experts = 0;  // logical experts per layer
  int num_ranks = 0;    // 0 only while unknown (a TensorRT-LLM YAML read without --ranks)
  int num_slots = 0;    // physical slots per layer over all ranks
  // [num_layers] original layer id of each row.
  std::vector<int> layer_ids;
  // [num_layers, num_slots] physical slot -> logical expert.
  std::vector<int32_t> phy2log;
  // Empty (replicas split their expert's tokens evenly), or [num_layers, num_slots]: the share
  // of its logical expert's tokens each slot receives (shares of one expert sum to 1, or all
  // are 0: the expert is not served, its slots lie on ranks excluded from service). A slot with
  // share 0 takes no tokens.
  std::vector<double> routing_weight;

  // The default deployment of vLLM / vllm-ascend: slot i holds expert i mod num_experts.
  // Layer ids are 0..num_layers-1 when `layer_ids` is empty.
  static Placement contiguous(int num_layers, int num_experts, int num_ranks, int num_slots,
                              std::vector<int> layer_ids = {});

  int slots_per_rank() const { return num_ranks > 0 ? num_slots / num_ranks : 0; }
  int rank_of_slot(int slot_idx) const { return slot_idx / slots_per_rank(); }
  bool has_routing_weight() const { return !routing_weight.empty(); }

  // [num_slots] views of one layer (row `layer_idx`, not a layer id).
  std::span<const int32_t> layer_phy2log(int layer_idx) const;
  std::span<int32_t> layer_phy2log(int layer_idx);
  // Empty when the placement has no routing weights.
  std::span<const double> layer_routing_weight(int layer_idx) const;

  // [num_experts] replicas of each logical expert in one layer.
  std::vector<int> replica_count(int layer_idx) const;
  // [num_experts, max_replicas] slots of each logical expert in one layer, ascending,
  // -1 padded; `max_replicas` is set to the row width. Slots with routing_weight 0 (on ranks
  // excluded from service) are left out: an expert whose slots all have share 0 gets a row of
  // -1 (not served).
  std::vector<int32_t> log2phy(int layer_idx, int* max_replicas) const;

  // Row index of a layer id, or -1.
  int find_layer(int layer_id) const;
};

// The rows of `placement` for the given layers, in that order: matched by layer id when the
// placement has every id, else by row position when the layer counts agree (a placement
// written for the same model under other ids, e.g. vllm-ascend's 0-based MoE-layer index).
// Throws eplb::Error "<where>: ..." naming the first layer that cannot be matched.
Placement align_layers(const Placement& placement, const std::vector<int>& layer_ids,
                       const std::string& where);

// [num_slots] the routing_weight of an even split for one layer row `phy2log` [num_slots]:
// 1 / (replicas of the slot's expert); 0 for ids outside [0, num_experts).
std::vector<double> even_routing_weight(std::span<const int32_t> phy2log, int num_experts);
// The same into `weight` [num_slots], with `count` as scratch (no allocation once it is sized).
void even_routing_weight(std::span<const int32_t> phy2log, int num_experts,
                         std::span<double> weight, std::vector<int32_t>& count);

// Every structural or consistency problem of a placement, each prefixed with its location
// (e.g. "phy2log[3][17]: expert 301 out of range [0, 256)"); empty when it is valid.
// Checks: shapes, ids in range, every logical expert has a replica in every layer, slots
// divisible by ranks, unique layer ids, routing weights finite, >= 0 and summing to 1.
std::vector<std::string> check_placement(const Placement& placement);

// Throws eplb::Error "<where>: <first problem> (and N more)" when check_placement finds any.
void validate_placement(const Placement& placement, const std::string& where);

// Number of (layer, slot) pairs whose logical expert differs between two placements of the
// same shape: the expert weights that have to move.
int64_t count_moved_slots(const Placement& from, const Placement& to);

}  // namespace eplb
