#include "eplb/load_matrix.h"

#include <cmath>
#include <string>

#include "eplb/error.h"

namespace eplb {

LoadMatrix LoadMatrix::zeros(int num_layers, int num_experts) {
  LoadMatrix m;
  m.num_layers = num_layers;
  m.num_experts = num_experts;
  m.layer_ids.resize(static_cast<size_t>(num_layers));
  for (int i = 0; i < num_layers; ++i) m.layer_ids[static_cast<size_t>(i)] = i;
  m.values.assign(static_cast<size_t>(num_layers) * static_cast<size_t>(num_experts), 0.0);
  return m;
}

std::span<const double> LoadMatrix::layer(int layer_idx) const {
  return {values.data() + static_cast<size_t>(layer_idx) * static_cast<size_t>(num_experts),
          static_cast<size_t>(num_experts)};
}

std::span<double> LoadMatrix::layer(int layer_idx) {
  return {values.data() + static_cast<size_t>(layer_idx) * static_cast<size_t>(num_experts),
          static_cast<size_t>(num_experts)};
}

bool LoadMatrix::has_data(int layer_idx) const {
  for (double v : layer(layer_idx)) {
    if (v != 0.0) return true;
  }
  return false;
}

LoadMatrix LoadMatrix::rows(int begin, int end) const {
  if (begin < 0 || end > num_layers || begin >= end) {
    throw Error("layers " + std::to_string(begin) + ":" + std::to_string(end) +
                " select no rows of " + std::to_string(num_layers) + " layers");
  }
  LoadMatrix m;
  m.num_layers = end - begin;
  m.num_experts = num_experts;
  m.layer_ids.assign(layer_ids.begin() + begin, layer_ids.begin() + end);
  const auto stride = static_cast<ptrdiff_t>(num_experts);
  m.values.assign(values.begin() + begin * stride, values.begin() + end * stride);
  return m;
}

void LoadMatrix::validate(const std::string& where) const {
  if (num_layers <= 0 || num_experts <= 0) {
    throw Error(where + ": no loads (" + std::to_string(num_layers) + " layers x " +
                std::to_string(num_experts) + " experts)");
  }
  if (layer_ids.size() != static_cast<size_t>(num_layers) ||
      values.size() != static_cast<size_t>(num_layers) * static_cast<size_t>(num_experts)) {
    throw Error(where + ": inconsistent load matrix shape");
  }
  for (int l = 0; l < num_layers; ++l) {
    auto row = layer(l);
    for (int e = 0; e < num_experts; ++e) {
      const double v = row[static_cast<size_t>(e)];
      if (!std::isfinite(v) || v < 0) {
        throw Error(where + ": layer " + std::to_string(layer_ids[static_cast<size_t>(l)]) +
                    ", expert " + std::to_string(e) + ": load " + std::to_string(v) +
                    " is not a finite non-negative count");
      }
    }
  }
}

}  // namespace eplb
