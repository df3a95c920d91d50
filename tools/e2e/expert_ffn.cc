#include "e2e/expert_ffn.h"

#include <algorithm>
#include <cmath>

#include "e2e/hash.h"

namespace eplb::e2e {

void expert_forward(const FfnShape& shape, std::span<const float> weights, std::span<const float> x,
                    std::span<float> y) {
  const auto hidden = static_cast<size_t>(shape.hidden);
  const auto ffn = static_cast<size_t>(shape.ffn);
  const float* w_in = weights.data();                  // [hidden, ffn]
  const float* w_out = weights.data() + hidden * ffn;  // [ffn, hidden]
  float h[256];                                        // ffn <= 256 is checked by the options
  for (size_t j = 0; j < ffn; ++j) {
    float acc = 0.0f;
    for (size_t i = 0; i < hidden; ++i) {
      const float product = x[i] * w_in[i * ffn + j];
      acc = acc + product;
    }
    h[j] = std::max(acc, 0.0f);
  }
  for (size_t i = 0; i < hidden; ++i) {
    float acc = 0.0f;
    for (size_t j = 0; j < ffn; ++j) {
      const float product = h[j] * w_out[j * hidden + i];
      acc = acc + product;
    }
    y[i] = acc;
  }
}

void combine_token(int hidden, std::span<const float> gates, std::span<const float> expert_out,
                   std::span<float> out) {
  const auto h = static_cast<size_t>(hidden);
  std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(h), 0.0f);
  for (size_t k = 0; k < gates.size(); ++k) {
    for (size_t i = 0; i < h; ++i) {
      const float product = gates[k] * expert_out[k * h + i];
      out[i] = out[i] + product;
    }
  }
}

uint64_t checksum(std::span<const std::byte> bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const std::byte b : bytes) {
    h = (h ^ static_cast<uint64_t>(b)) * 0x100000001b3ULL;
  }
  return h;
}

ExpertWeights::ExpertWeights(const FfnShape& shape, int num_layers, int num_experts, uint64_t seed)
    : shape_(shape), num_experts_(num_experts) {
  const size_t per_expert = shape.num_floats();
  const size_t num = static_cast<size_t>(num_layers) * static_cast<size_t>(num_experts);
  values_.resize(num * per_expert);
  checksums_.resize(num);
  // Uniform in [-a, a) with a = 1 / sqrt(fan-in): activations stay O(1) through the layers.
  const float a_in = 1.0f / std::sqrt(static_cast<float>(shape.hidden));
  const float a_out = 1.0f / std::sqrt(static_cast<float>(shape.ffn));
  const size_t num_in = per_expert / 2;
  for (int l = 0; l < num_layers; ++l) {
    for (int e = 0; e < num_experts; ++e) {
      const size_t base =
          (static_cast<size_t>(l) * static_cast<size_t>(num_experts) + static_cast<size_t>(e)) *
          per_expert;
      for (size_t i = 0; i < per_expert; ++i) {
        const float u = unit_float(
            hash_of({seed, 0x77e1ULL, static_cast<uint64_t>(l), static_cast<uint64_t>(e), i}));
        values_[base + i] = (2.0f * u - 1.0f) * (i < num_in ? a_in : a_out);
      }
      checksums_[base / per_expert] = checksum(bytes(l, e));
    }
  }
}

std::span<const float> ExpertWeights::weights(int layer_idx, int expert_idx) const {
  const size_t per_expert = shape_.num_floats();
  const size_t idx = static_cast<size_t>(layer_idx) * static_cast<size_t>(num_experts_) +
                     static_cast<size_t>(expert_idx);
  return std::span<const float>(values_).subspan(idx * per_expert, per_expert);
}

std::span<const std::byte> ExpertWeights::bytes(int layer_idx, int expert_idx) const {
  return std::as_bytes(weights(layer_idx, expert_idx));
}

uint64_t ExpertWeights::checksum_of(int layer_idx, int expert_idx) const {
  return checksums_[static_cast<size_t>(layer_idx) * static_cast<size_t>(num_experts_) +
                    static_cast<size_t>(expert_idx)];
}

}  // namespace eplb::e2e
