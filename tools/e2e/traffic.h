// The demo's synthetic router: drifting, skewed top-k traffic, a pure function of
// (seed, step, layer, rank, token), so re-runs and every rank agree.
//
// Expert popularity per (layer, step):
//   Zipf (default): expert at popularity rank i (0-based) has weight 1 / (i + 1)^zipf_exponent,
//     over a random permutation of the experts drawn per (layer, epoch), epoch =
//     step / drift_every: the hot set moves every drift_every steps.
//   Trace (--trace file.npy, [trace_steps, trace_layers, num_experts] counts, e.g.
//     ../shared/workloads/synthetic/*-trace-*.npy): step t replays trace step t mod trace_steps,
//     weight = count + 1 (every expert stays reachable).
// Each token draws top_k distinct experts by weight; gates are positive and sum to 1 per token.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace eplb::e2e {

struct TrafficOptions {
  int num_layers = 4;
  int num_experts = 16;  // taken from the trace when one is given
  int top_k = 2;
  int tokens_per_rank = 64;  // tokens each rank routes per layer per step
  double zipf_exponent = 1.2;
  int drift_every = 20;  // steps per Zipf epoch
  uint64_t seed = 1;
  std::string trace_path;  // empty: Zipf
};

class SyntheticTraffic {
 public:
  // Reads the trace, if any (num_experts then comes from it). Throws eplb::Error naming the
  // option or file: top_k outside [1, num_experts], a trace with fewer layers than
  // num_layers, non-positive sizes.
  explicit SyntheticTraffic(const TrafficOptions& options);
  ~SyntheticTraffic();

  const TrafficOptions& options() const { return options_; }
  int num_experts() const { return options_.num_experts; }

  // topk_ids [tokens_per_rank, top_k] logical experts (distinct per token) and gates
  // [tokens_per_rank, top_k] of rank `rank_idx`'s tokens at (step, layer).
  void route(int64_t step, int layer_idx, int rank_idx, std::span<int32_t> topk_ids,
             std::span<float> gates) const;

  // The first layer's input [tokens_per_rank, hidden] of rank `rank_idx` at `step`, in [-1, 1).
  void embed(int64_t step, int rank_idx, int hidden, std::span<float> x) const;

 private:
  // [num_experts] cumulative popularity at (step, layer), last entry the total.
  void cumulative_weights(int64_t step, int layer_idx, std::vector<double>& cdf) const;

  TrafficOptions options_;
  struct Trace;
  std::unique_ptr<Trace> trace_;
};

}  // namespace eplb::e2e
