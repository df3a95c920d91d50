// Placement files: eplb's canonical JSON, TensorRT-LLM's YAML, vllm-ascend's expert map.
//
//   eplb    {"format": "eplb.placement.v1", "num_layers", "num_experts", "num_ranks",
//            "num_slots", "layer_ids": [...], "phy2log": [[...]], optional "routing_weight"}
//   trtllm  initial_global_assignments: {layer_id: [expert per slot]}, num_slots,
//           layer_updates_per_iter  (ranks are not in the file: successive slots per rank)
//   ascend  {"moe_layer_count", "layer_list": [{"layer_id", "device_count",
//            "device_list": [{"device_id", "device_expert": [...]}]}]}  (0-based MoE-layer ids)
#pragma once

#include <optional>
#include <string>

#include "eplb/placement.h"

namespace eplb {

enum class PlacementFormat { kEplb, kTrtllm, kAscend };

// "eplb" | "trtllm" | "ascend"; throws eplb::Error naming `flag` otherwise.
PlacementFormat parse_placement_format(const std::string& name, const std::string& flag);
const char* placement_format_name(PlacementFormat format);

// From a file name: .yaml/.yml -> trtllm, .json -> eplb; nullopt otherwise.
std::optional<PlacementFormat> placement_format_from_extension(const std::string& path);

struct PlacementReadOptions {
  std::optional<PlacementFormat> format;  // unset: detected from extension and content
  int num_ranks = 0;    // required where the file does not say (trtllm); checked where it does
  int num_experts = 0;  // 0: from the file (eplb), else max expert id + 1
};

// Reads and validates a placement; problems name the file and the field
// (e.g. "p.yaml: initial_global_assignments[3][17]: expert -1 out of range [0, 256)").
Placement read_placement(const std::string& path, const PlacementReadOptions& options = {});

// Lenient read for `eplb validate`: parses the structure (throws eplb::Error when the file is
// not even shaped like the format) but does not run check_placement, so the caller can list
// every consistency problem. Options only fill in what the file does not record (trtllm:
// num_ranks, left 0 when options.num_ranks is 0; trtllm/ascend: num_experts); where they
// contradict the file, the file's values are kept for the caller to report.
Placement parse_placement_file(const std::string& path, const PlacementReadOptions& options = {});

// The text of a placement in a format (what write_placement writes). trtllm and ascend cannot
// store routing_weight: it is dropped. trtllm rows are sorted by layer id; ascend writes
// layer_id 0..num_layers-1 in row order. Throws eplb::Error when the shapes are inconsistent or
// the format cannot express the placement (ascend without num_ranks, non-finite weights).
std::string format_placement(const Placement& placement, PlacementFormat format);

// Writes atomically: to a temporary file beside `path`, then rename(); a failure never leaves
// a half-written `path`. Throws eplb::Error naming the path.
void write_placement(const std::string& path, const Placement& placement, PlacementFormat format);

}  // namespace eplb
