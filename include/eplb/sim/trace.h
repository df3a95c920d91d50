// A load trace: per-step, per-layer, per-logical-expert token counts, the input of
// `eplb simulate`, and its .npy encoding (the output of `eplb synth`).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "eplb/load_matrix.h"

namespace eplb::sim {

struct LoadTrace {
  int num_steps = 0;
  int num_layers = 0;
  int num_experts = 0;
  // [num_steps, num_layers, num_experts] row-major token counts (finite, >= 0).
  std::vector<double> values;

  // [num_experts] loads of layer `layer_idx` at step `step_idx`.
  std::span<const double> at(int step_idx, int layer_idx) const;
  // Steps [begin, end) summed into one [num_layers, num_experts] matrix (layer ids 0..L-1).
  // Throws eplb::Error when the range is empty or out of [0, num_steps).
  LoadMatrix window_sum(int begin, int end) const;
};

// Reads a 3-D .npy [steps, layers, experts] of any numeric dtype. Throws eplb::Error
// "<path>: ..." for unreadable files, other ranks of array, empty shapes, negative or NaN loads.
LoadTrace read_trace(const std::string& path);

// The .npy (format 1.0) bytes of an int64 array `values` of shape `shape` (C order).
// Throws eplb::Error when the shape's product differs from values.size().
std::string encode_npy_int64(std::span<const int64_t> values, std::span<const int64_t> shape);

}  // namespace eplb::sim
