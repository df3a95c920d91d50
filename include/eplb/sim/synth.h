// Deterministic synthetic load traces for `eplb synth`: skewed, grouped, drifting expert
// popularity with regime changes, so a balancer can be tried before production traffic.
//
// Model, per layer (layers are independent draws from the same seed):
//   popularity  p(e) ∝ zipf(rank of group(e))^[G > 1] * zipf(rank of e within its group)
//               * exp(x_e), zipf(r) = 1 / (r + 1)^skew; the ranks are random permutations
//               drawn at the start of each regime. skew 0: uniform; 1: classic Zipf.
//   drift       x_e is a Gaussian random walk: x_e += drift * N(0, 1) every step, so hot
//               experts cool down and cold ones heat up slowly (drift 0: static popularity).
//   regimes     every `regime_every` steps (0: never) permutations are redrawn and x reset:
//               an abrupt change of workload (e.g. another tenant's traffic).
//   counts      each step `tokens` tokens pick top_k distinct experts: the counts are a
//               multinomial draw of tokens * top_k choices from p, with p capped at 1 / top_k
//               (no expert can take more than every token) and counts capped at `tokens`.
// Same options -> same trace, bit for bit (own PRNG and samplers, no std distributions).
#pragma once

#include <cstdint>
#include <vector>

namespace eplb::sim {

struct SynthOptions {
  int num_steps = 100;
  int num_layers = 4;
  int num_experts = 64;
  int top_k = 8;
  int64_t tokens = 4096;  // tokens per step (all ranks)
  double skew = 1.0;      // Zipf exponent (>= 0)
  int num_groups = 1;     // expert groups (experts contiguous); must divide num_experts
  double drift = 0.0;     // random-walk step of log-popularity per step (>= 0)
  int regime_every = 0;   // steps per regime; 0: one regime
  uint64_t seed = 0;
};

// Throws eplb::Error naming the flag for any invalid option.
void validate_synth_options(const SynthOptions& options);

// [num_steps, num_layers, num_experts] token counts, row-major.
std::vector<int64_t> synth_trace(const SynthOptions& options);

}  // namespace eplb::sim
