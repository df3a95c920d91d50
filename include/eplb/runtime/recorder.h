// Load recorder: per layer, per logical expert token counts of the live traffic, the input of
// every rebalancing cycle.
//
// The serving engine feeds it once per MoE layer per step, either the router's top-k logical
// expert ids [num_tokens, k] or per-expert counts after dispatch [num_experts]; end_step()
// closes the step. Two statistics:
//   kWindowed  sum of the last `window_steps` steps (the open step included), ring buffer
//   kDecayed   sum over steps s of decay^(t - s) * n_s, t the open step (EMA-like; effective
//              window 1 / (1 - decay) steps)
// Step path cost: record_* is O(num_tokens * k) (or O(num_experts)) plus, the first time a
// layer is fed in a step, O(num_experts) to age that layer; end_step() is O(1). No allocation
// after construction. Not thread-safe: one serving thread feeds and snapshots it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "eplb/load_matrix.h"

namespace eplb {

enum class RecorderMode { kWindowed, kDecayed };

struct RecorderOptions {
  RecorderMode mode = RecorderMode::kWindowed;
  // kWindowed: steps summed (>= 1). 0 inside a BalancerConfig means "the collection interval".
  int window_steps = 1;
  // kDecayed: weight of the previous step relative to the open one, in [0, 1].
  double decay = 0.9;
};

class LoadRecorder {
 public:
  // Throws eplb::Error for non-positive shapes, window_steps < 1 or decay outside [0, 1].
  LoadRecorder(int num_layers, int num_experts, RecorderOptions options = {});

  int num_layers() const { return num_layers_; }
  int num_experts() const { return num_experts_; }
  const RecorderOptions& options() const { return options_; }
  // Steps closed by end_step() since construction or reset().
  int64_t num_closed_steps() const { return step_; }

  // Adds the (token, k) entries of `topk_ids` [num_tokens * k] (logical expert ids) to layer
  // `layer_idx` of the open step. Ids outside [0, num_experts) (e.g. -1 for a dropped choice)
  // are ignored and returned. Throws eplb::Error for a layer out of range.
  int64_t record_topk(int layer_idx, std::span<const int32_t> topk_ids);
  int64_t record_topk(int layer_idx, std::span<const int64_t> topk_ids);

  // Adds `expert_counts` [num_experts] (tokens per logical expert) to layer `layer_idx` of the
  // open step. Throws eplb::Error for a size mismatch, a negative count or a bad layer.
  void record_counts(int layer_idx, std::span<const int64_t> expert_counts);

  // Closes the open step; the next record_* calls go to a new step.
  void end_step();

  // The statistic as of the open step, [num_layers, num_experts] row-major, into `out`
  // (allocation-free). Throws eplb::Error when out.size() != num_layers * num_experts.
  void snapshot_into(std::span<double> out) const;
  // The same as a LoadMatrix (layer ids 0..num_layers-1); allocates.
  LoadMatrix snapshot() const;

  // Forgets every recorded step.
  void reset();

 private:
  void age_layer(int layer_idx);  // brings the layer's rows up to the open step
  int64_t* open_row(int layer_idx);

  int num_layers_;
  int num_experts_;
  RecorderOptions options_;
  int64_t step_ = 0;                // index of the open step
  std::vector<int64_t> last_step_;  // [num_layers] open step when the layer was last aged
  // kWindowed: ring [window_steps, num_layers, num_experts] of per-step counts and their
  // running sum [num_layers, num_experts].
  std::vector<int64_t> ring_;
  std::vector<int64_t> window_sum_;
  // kDecayed: [num_layers, num_experts] statistic as of last_step_[layer].
  std::vector<double> decayed_;
};

}  // namespace eplb
