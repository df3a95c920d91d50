// A load trace: per-step, per-layer, per-logical-expert token counts, the input of
// `eplb simulate`, and its .npy encoding (the output of `eplb synth`).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "eplb/load_matrix.h"
#include "eplb/placement.h"

namespace eplb::sim {

struct LoadTrace {
  int num_steps = 0;
  int num_layers = 0;
  int num_experts = 0;
  // [num_steps, num_layers, num_experts] row-major token counts (finite, >= 0).
  std::vector<double> values;
  // [num_layers] the model's layer ids (labels only; the simulator numbers layers 0..L-1).
  // Empty: 0..num_layers-1 (an .npy trace).
  std::vector<int> layer_ids;

  // [num_experts] loads of layer `layer_idx` at step `step_idx`.
  std::span<const double> at(int step_idx, int layer_idx) const;
  // Steps [begin, end) summed into one [num_layers, num_experts] matrix (layer ids 0..L-1).
  // Throws eplb::Error when the range is empty or out of [0, num_steps).
  LoadMatrix window_sum(int begin, int end) const;
};

// Reads a trace from
//   FILE.npy      a 3-D [steps, layers, experts] array of any numeric dtype;
//   DIR           with meta_info.json: a TensorRT-LLM expert-statistics directory, one step per
//                 dumped iteration (ascending), summed over ranks; counts per physical slot
//                 (dumped with EPLB active) are mapped to logical experts through `placement`,
//                 the one deployed while they were dumped (see src/io/trtllm_stats.cc);
//   DIR           without: every *.json file in it, in name order, each an SGLang
//                 expert-distribution dump (see src/io/sglang_loads.cc) that becomes one step
//                 (a 3-D dump's buffered passes summed);
//   PATTERN       a path whose last component holds * ? or [...] (e.g. dumps/rank0_*.json):
//                 the matching files, in name order, as SGLang dumps.
// Throws eplb::Error "<path>: ..." for unreadable files, other ranks of array, empty shapes,
// negative or NaN loads, no matching file, or dumps whose layer/expert counts differ.
// `placement` (may be null) is used only by TensorRT-LLM statistics.
LoadTrace read_trace(const std::string& path, const Placement* placement = nullptr);

// A trace of `steps` (each [layers, experts], the same shape and layer ids); `names` [steps]
// names each step's source in errors. Throws eplb::Error when empty or shapes differ.
LoadTrace trace_from_steps(const std::vector<LoadMatrix>& steps,
                           const std::vector<std::string>& names);

// The .npy (format 1.0) bytes of an int64 array `values` of shape `shape` (C order).
// Throws eplb::Error when the shape's product differs from values.size().
std::string encode_npy_int64(std::span<const int64_t> values, std::span<const int64_t> shape);

}  // namespace eplb::sim
