// Per-layer, per-logical-expert token loads: the input of every planner and report.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace eplb {

// Token loads of the MoE layers of one model over some window.
// Invariant (checked by validate()): values.size() == num_layers * num_experts,
// layer_ids.size() == num_layers, every value finite and >= 0.
struct LoadMatrix {
  int num_layers = 0;
  int num_experts = 0;
  // [num_layers] original layer id of each row (e.g. 3..60 for DeepSeek-V3, whose first three
  // layers are dense); a plain matrix file gets 0..num_layers-1.
  std::vector<int> layer_ids;
  // [num_layers, num_experts] row-major token count (token-expert assignments) per logical expert.
  std::vector<double> values;

  // Builds a matrix with zero loads and layer ids 0..num_layers-1.
  static LoadMatrix zeros(int num_layers, int num_experts);

  // [num_experts] loads of one layer (row `layer_idx`, not a layer id).
  std::span<const double> layer(int layer_idx) const;
  std::span<double> layer(int layer_idx);

  // False when every load of the layer is zero: such a layer carries no statistics; it gets
  // the default placement and is left out of balance averages.
  bool has_data(int layer_idx) const;

  // Rows [begin, end) as a new matrix (layer ids kept). Throws eplb::Error when out of range.
  LoadMatrix rows(int begin, int end) const;

  // Throws eplb::Error naming `where` (a file name) when the invariants above do not hold.
  void validate(const std::string& where) const;
};

}  // namespace eplb
