// LoadRecorder: rows are aged lazily, the first time a layer is touched in a step, so the step
// path costs O(entries) plus O(num_experts) per fed layer, and end_step() is O(1).
#include "eplb/runtime/recorder.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "eplb/error.h"

namespace eplb {
namespace {

size_t sz(int64_t v) { return static_cast<size_t>(v); }

}  // namespace

LoadRecorder::LoadRecorder(int num_layers, int num_experts, RecorderOptions options)
    : num_layers_(num_layers), num_experts_(num_experts), options_(options) {
  if (num_layers <= 0 || num_experts <= 0) {
    throw Error("LoadRecorder: num_layers " + std::to_string(num_layers) + " and num_experts " +
                std::to_string(num_experts) + " must be > 0");
  }
  const size_t cells = sz(num_layers) * sz(num_experts);
  last_step_.assign(sz(num_layers), 0);
  if (options.mode == RecorderMode::kWindowed) {
    if (options.window_steps < 1) {
      throw Error("LoadRecorder: window_steps " + std::to_string(options.window_steps) +
                  " must be >= 1");
    }
    ring_.assign(sz(options.window_steps) * cells, 0);
    window_sum_.assign(cells, 0);
  } else {
    if (!(options.decay >= 0.0 && options.decay <= 1.0)) {
      throw Error("LoadRecorder: decay " + std::to_string(options.decay) + " must be in [0, 1]");
    }
    decayed_.assign(cells, 0.0);
  }
}

void LoadRecorder::age_layer(int layer_idx) {
  const size_t l = sz(layer_idx);
  const int64_t gap = step_ - last_step_[l];
  if (gap == 0) return;
  last_step_[l] = step_;
  const size_t e_count = sz(num_experts_);
  const size_t cells = sz(num_layers_) * e_count;
  if (options_.mode == RecorderMode::kWindowed) {
    // Steps last+1 .. step_ reuse ring positions whose counts (steps last+1-W .. step_-W) have
    // left the window.
    const int64_t window = options_.window_steps;
    int64_t* sum = window_sum_.data() + l * e_count;
    if (gap >= window) {
      std::fill(sum, sum + e_count, 0);
      for (int64_t w = 0; w < window; ++w) {
        int64_t* row = ring_.data() + sz(w) * cells + l * e_count;
        std::fill(row, row + e_count, 0);
      }
      return;
    }
    for (int64_t s = step_ - gap + 1; s <= step_; ++s) {
      int64_t* row = ring_.data() + sz(s % window) * cells + l * e_count;
      for (size_t e = 0; e < e_count; ++e) sum[e] -= row[e];
      std::fill(row, row + e_count, 0);
    }
  } else {
    const double factor = std::pow(options_.decay, static_cast<double>(gap));
    double* row = decayed_.data() + l * e_count;
    for (size_t e = 0; e < e_count; ++e) row[e] *= factor;
  }
}

namespace {

template <typename Id>
int64_t add_topk(std::span<const Id> topk_ids, int num_experts, int64_t* ring_row, int64_t* sum_row,
                 double* decayed_row) {
  int64_t ignored = 0;
  for (const Id id : topk_ids) {
    if (id < 0 || id >= num_experts) {
      ++ignored;
      continue;
    }
    if (decayed_row != nullptr) {
      decayed_row[id] += 1.0;
    } else {
      ++ring_row[id];
      ++sum_row[id];
    }
  }
  return ignored;
}

}  // namespace

int64_t* LoadRecorder::open_row(int layer_idx) {
  if (layer_idx < 0 || layer_idx >= num_layers_) {
    throw Error("LoadRecorder: layer " + std::to_string(layer_idx) + " out of range [0, " +
                std::to_string(num_layers_) + ")");
  }
  age_layer(layer_idx);
  if (options_.mode != RecorderMode::kWindowed) return nullptr;
  const size_t cells = sz(num_layers_) * sz(num_experts_);
  return ring_.data() + sz(step_ % options_.window_steps) * cells +
         sz(layer_idx) * sz(num_experts_);
}

int64_t LoadRecorder::record_topk(int layer_idx, std::span<const int32_t> topk_ids) {
  int64_t* ring_row = open_row(layer_idx);
  const size_t offset = sz(layer_idx) * sz(num_experts_);
  if (ring_row == nullptr) {
    return add_topk(topk_ids, num_experts_, nullptr, nullptr, decayed_.data() + offset);
  }
  return add_topk(topk_ids, num_experts_, ring_row, window_sum_.data() + offset, nullptr);
}

int64_t LoadRecorder::record_topk(int layer_idx, std::span<const int64_t> topk_ids) {
  int64_t* ring_row = open_row(layer_idx);
  const size_t offset = sz(layer_idx) * sz(num_experts_);
  if (ring_row == nullptr) {
    return add_topk(topk_ids, num_experts_, nullptr, nullptr, decayed_.data() + offset);
  }
  return add_topk(topk_ids, num_experts_, ring_row, window_sum_.data() + offset, nullptr);
}

void LoadRecorder::record_counts(int layer_idx, std::span<const int64_t> expert_counts) {
  if (expert_counts.size() != sz(num_experts_)) {
    throw Error("LoadRecorder: layer " + std::to_string(layer_idx) + ": " +
                std::to_string(expert_counts.size()) + " expert counts, expected num_experts " +
                std::to_string(num_experts_));
  }
  for (size_t e = 0; e < expert_counts.size(); ++e) {
    if (expert_counts[e] < 0) {
      throw Error("LoadRecorder: layer " + std::to_string(layer_idx) + ": expert_counts[" +
                  std::to_string(e) + "] = " + std::to_string(expert_counts[e]) + " is negative");
    }
  }
  int64_t* ring_row = open_row(layer_idx);
  const size_t offset = sz(layer_idx) * sz(num_experts_);
  if (ring_row == nullptr) {
    double* row = decayed_.data() + offset;
    for (size_t e = 0; e < expert_counts.size(); ++e) {
      row[e] += static_cast<double>(expert_counts[e]);
    }
    return;
  }
  int64_t* sum = window_sum_.data() + offset;
  for (size_t e = 0; e < expert_counts.size(); ++e) {
    ring_row[e] += expert_counts[e];
    sum[e] += expert_counts[e];
  }
}

void LoadRecorder::end_step() { ++step_; }

void LoadRecorder::snapshot_into(std::span<double> out) const {
  const size_t e_count = sz(num_experts_);
  const size_t cells = sz(num_layers_) * e_count;
  if (out.size() != cells) {
    throw Error("LoadRecorder::snapshot_into: out has " + std::to_string(out.size()) +
                " values, expected num_layers * num_experts = " + std::to_string(cells));
  }
  for (size_t l = 0; l < sz(num_layers_); ++l) {
    double* dst = out.data() + l * e_count;
    const int64_t gap = step_ - last_step_[l];
    if (options_.mode == RecorderMode::kDecayed) {
      const double factor = std::pow(options_.decay, static_cast<double>(gap));
      const double* row = decayed_.data() + l * e_count;
      for (size_t e = 0; e < e_count; ++e) dst[e] = row[e] * factor;
      continue;
    }
    const int64_t window = options_.window_steps;
    if (gap >= window) {
      std::fill(dst, dst + e_count, 0.0);
      continue;
    }
    // The running sum less the rows that aging would expire (see age_layer).
    const int64_t* sum = window_sum_.data() + l * e_count;
    for (size_t e = 0; e < e_count; ++e) dst[e] = static_cast<double>(sum[e]);
    for (int64_t s = step_ - gap + 1; s <= step_; ++s) {
      const int64_t* row = ring_.data() + sz(s % window) * cells + l * e_count;
      for (size_t e = 0; e < e_count; ++e) dst[e] -= static_cast<double>(row[e]);
    }
  }
}

LoadMatrix LoadRecorder::snapshot() const {
  LoadMatrix m = LoadMatrix::zeros(num_layers_, num_experts_);
  snapshot_into(m.values);
  return m;
}

void LoadRecorder::reset() {
  step_ = 0;
  std::fill(last_step_.begin(), last_step_.end(), 0);
  std::fill(ring_.begin(), ring_.end(), 0);
  std::fill(window_sum_.begin(), window_sum_.end(), 0);
  std::fill(decayed_.begin(), decayed_.end(), 0.0);
}

}  // namespace eplb
