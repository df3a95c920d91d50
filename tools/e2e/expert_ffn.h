// The experts of the demo: a small two-matrix FFN per logical expert, y = relu(x W_in) W_out,
// float32. Weights of logical expert e of layer l are a pure function of (seed, l, e), so every
// rank knows every expert's true weights (for the no-EP reference and for checksums) while
// serving reads them only from the physical slots of its ExpertWeightStore.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace eplb::e2e {

struct FfnShape {
  int hidden = 16;  // model dimension: token activations are [hidden]
  int ffn = 32;     // expert intermediate dimension

  // Floats of one expert: W_in [hidden, ffn] then W_out [ffn, hidden], row-major.
  size_t num_floats() const { return 2 * static_cast<size_t>(hidden) * static_cast<size_t>(ffn); }
  size_t num_bytes() const { return num_floats() * sizeof(float); }
};

// y [hidden] = relu(x W_in) W_out for `weights` [num_floats] and x [hidden]. Sums run in
// index order with separate multiply and add (ISO C++ mode: no contraction), so the result is
// a pure function of the bits of its inputs: the EP path and the reference both call this one
// out-of-line function.
void expert_forward(const FfnShape& shape, std::span<const float> weights, std::span<const float> x,
                    std::span<float> y);

// out [hidden] = sum over k in order of gates[k] * expert_out[k] ([top_k, hidden]), starting
// from 0: the combine step of one token, shared by the EP path and the reference.
void combine_token(int hidden, std::span<const float> gates, std::span<const float> expert_out,
                   std::span<float> out);

// FNV-1a 64 of a byte range: the weight checksum.
uint64_t checksum(std::span<const std::byte> bytes);

// The true weights of every logical expert: [num_layers, num_experts, num_floats] and their
// checksums [num_layers, num_experts].
class ExpertWeights {
 public:
  ExpertWeights(const FfnShape& shape, int num_layers, int num_experts, uint64_t seed);

  const FfnShape& shape() const { return shape_; }
  std::span<const float> weights(int layer_idx, int expert_idx) const;
  std::span<const std::byte> bytes(int layer_idx, int expert_idx) const;
  uint64_t checksum_of(int layer_idx, int expert_idx) const;

 private:
  FfnShape shape_;
  int num_experts_;
  std::vector<float> values_;
  std::vector<uint64_t> checksums_;
};

}  // namespace eplb::e2e
