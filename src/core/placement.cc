#include "eplb/placement.h"

#include <algorithm>
#include <numeric>

#include "eplb/error.h"

namespace eplb {

Placement Placement::contiguous(int num_layers, int num_experts, int num_ranks, int num_slots,
                                std::vector<int> layer_ids) {
  Placement p;
  p.num_layers = num_layers;
  p.num_experts = num_experts;
  p.num_ranks = num_ranks;
  p.num_slots = num_slots;
  if (layer_ids.empty()) {
    layer_ids.resize(static_cast<size_t>(num_layers));
    std::iota(layer_ids.begin(), layer_ids.end(), 0);
  }
  p.layer_ids = std::move(layer_ids);
  p.phy2log.resize(static_cast<size_t>(num_layers) * static_cast<size_t>(num_slots));
  for (int l = 0; l < num_layers; ++l) {
    auto row = p.layer_phy2log(l);
    for (int s = 0; s < num_slots; ++s) row[static_cast<size_t>(s)] = s % num_experts;
  }
  return p;
}

std::span<const int32_t> Placement::layer_phy2log(int layer_idx) const {
  return {phy2log.data() + static_cast<size_t>(layer_idx) * static_cast<size_t>(num_slots),
          static_cast<size_t>(num_slots)};
}

std::span<int32_t> Placement::layer_phy2log(int layer_idx) {
  return {phy2log.data() + static_cast<size_t>(layer_idx) * static_cast<size_t>(num_slots),
          static_cast<size_t>(num_slots)};
}

std::span<const double> Placement::layer_routing_weight(int layer_idx) const {
  if (routing_weight.empty()) return {};
  return {routing_weight.data() + static_cast<size_t>(layer_idx) * static_cast<size_t>(num_slots),
          static_cast<size_t>(num_slots)};
}

std::vector<int> Placement::replica_count(int layer_idx) const {
  std::vector<int> count(static_cast<size_t>(num_experts), 0);
  for (int32_t e : layer_phy2log(layer_idx)) {
    if (e >= 0 && e < num_experts) ++count[static_cast<size_t>(e)];
  }
  return count;
}

void even_routing_weight(std::span<const int32_t> phy2log, int num_experts,
                         std::span<double> weight, std::vector<int32_t>& count) {
  count.assign(static_cast<size_t>(num_experts), 0);
  for (int32_t e : phy2log) {
    if (e >= 0 && e < num_experts) ++count[static_cast<size_t>(e)];
  }
  for (size_t s = 0; s < phy2log.size(); ++s) {
    const int32_t e = phy2log[s];
    weight[s] = e >= 0 && e < num_experts ? 1.0 / count[static_cast<size_t>(e)] : 0.0;
  }
}

std::vector<double> even_routing_weight(std::span<const int32_t> phy2log, int num_experts) {
  std::vector<double> weight(phy2log.size());
  std::vector<int32_t> count;
  even_routing_weight(phy2log, num_experts, weight, count);
  return weight;
}

std::vector<int32_t> Placement::log2phy(int layer_idx, int* max_replicas) const {
  auto row = layer_phy2log(layer_idx);
  auto weight = layer_routing_weight(layer_idx);
  // Slots with share 0 (on excluded ranks) take no tokens: not listed.
  auto served = [&](int s) {
    const int32_t e = row[static_cast<size_t>(s)];
    return e >= 0 && e < num_experts && (weight.empty() || weight[static_cast<size_t>(s)] != 0.0);
  };
  std::vector<int> count(static_cast<size_t>(num_experts), 0);
  for (int s = 0; s < num_slots; ++s) {
    if (served(s)) ++count[static_cast<size_t>(row[static_cast<size_t>(s)])];
  }
  const int width = std::max(1, *std::max_element(count.begin(), count.end()));
  std::vector<int32_t> table(static_cast<size_t>(num_experts) * static_cast<size_t>(width), -1);
  std::vector<int> filled(static_cast<size_t>(num_experts), 0);
  for (int s = 0; s < num_slots; ++s) {
    if (!served(s)) continue;
    const int32_t e = row[static_cast<size_t>(s)];
    table[static_cast<size_t>(e) * static_cast<size_t>(width) +
          static_cast<size_t>(filled[static_cast<size_t>(e)]++)] = s;
  }
  if (max_replicas != nullptr) *max_replicas = width;
  return table;
}

int Placement::find_layer(int layer_id) const {
  auto it = std::find(layer_ids.begin(), layer_ids.end(), layer_id);
  return it == layer_ids.end() ? -1 : static_cast<int>(it - layer_ids.begin());
}

Placement align_layers(const Placement& placement, const std::vector<int>& layer_ids,
                       const std::string& where) {
  std::vector<int> rows;
  rows.reserve(layer_ids.size());
  for (int id : layer_ids) {
    const int row = placement.find_layer(id);
    if (row < 0) break;
    rows.push_back(row);
  }
  if (rows.size() != layer_ids.size()) {
    if (static_cast<size_t>(placement.num_layers) != layer_ids.size()) {
      throw Error(where + ": has no layer " + std::to_string(layer_ids[rows.size()]) + " (its " +
                  std::to_string(placement.num_layers) + " layers do not match the " +
                  std::to_string(layer_ids.size()) + " layers of the loads)");
    }
    rows.resize(layer_ids.size());
    std::iota(rows.begin(), rows.end(), 0);
  }
  Placement out = placement;
  out.num_layers = static_cast<int>(layer_ids.size());
  out.layer_ids = layer_ids;
  out.phy2log.clear();
  out.routing_weight.clear();
  for (int row : rows) {
    auto experts = placement.layer_phy2log(row);
    out.phy2log.insert(out.phy2log.end(), experts.begin(), experts.end());
    auto weights = placement.layer_routing_weight(row);
    out.routing_weight.insert(out.routing_weight.end(), weights.begin(), weights.end());
  }
  return out;
}

int64_t count_moved_slots(const Placement& from, const Placement& to) {
  if (from.num_layers != to.num_layers || from.num_slots != to.num_slots) {
    throw Error("cannot compare placements of different shapes (" +
                std::to_string(from.num_layers) + "x" + std::to_string(from.num_slots) + " vs " +
                std::to_string(to.num_layers) + "x" + std::to_string(to.num_slots) + ")");
  }
  int64_t moved = 0;
  for (size_t i = 0; i < from.phy2log.size(); ++i) moved += from.phy2log[i] != to.phy2log[i];
  return moved;
}

}  // namespace eplb
