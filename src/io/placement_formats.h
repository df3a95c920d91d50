// Internal to src/io: one parser and one writer per placement file format (see
// include/eplb/placement_io.h for the layouts), and the JSON helpers the two JSON formats share.
//
// Parsers only check that the file is shaped like its format (types, required fields,
// rectangular rows); consistency (ids in range, replicas, ranks) is check_placement's job.
// Every error is an eplb::Error "<path>: <field with index path>: <problem>".
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "eplb/placement.h"
#include "eplb/placement_io.h"

namespace eplb::placement_formats {

// eplb.placement.v1: every field is in the file.
Placement parse_eplb_json(const std::string& text, const std::string& path);
std::string format_eplb_json(const Placement& placement);

// TensorRT-LLM's MoeLoadBalancerConfig YAML. num_ranks is left 0 (the file does not say);
// num_experts = `num_experts` when > 0, else max expert id + 1.
Placement parse_trtllm_yaml(const std::string& text, const std::string& path, int num_experts);
// Drops routing_weight (the format cannot store it); layer rows sorted by layer id.
std::string format_trtllm_yaml(const Placement& placement);

// vllm-ascend's expert map. num_ranks = device_count; num_experts as for trtllm.
Placement parse_ascend_json(const std::string& text, const std::string& path, int num_experts);
// Drops routing_weight; writes layer_id 0..num_layers-1 in row order (vllm-ascend indexes
// layer_list by its 0-based MoE-layer index). Throws eplb::Error when num_ranks is unknown.
std::string format_ascend_json(const Placement& placement);

// How a format names physical slot `slot_idx` of row `layer_idx` and the layer id of a row,
// e.g. "initial_global_assignments[3][17]" or "layer_list[0].device_list[2].device_expert[1]".
std::string slot_field(PlacementFormat format, const Placement& placement, int layer_idx,
                       int slot_idx);
std::string layer_id_field(PlacementFormat format, const Placement& placement, int layer_idx);

// Throws eplb::Error "<where>: ..." unless phy2log, layer_ids and routing_weight have the sizes
// num_layers and num_slots promise (what a writer needs to index safely).
void check_writable(const Placement& placement, const char* where);

// --- JSON helpers shared by the eplb and ascend formats ---

// Parses `text`; a syntax error becomes "<path>: invalid JSON: ... at line L, column C: ...".
nlohmann::json parse_json(const std::string& text, const std::string& path);

// `object[key]`; throws "<path>: <where><key>: missing" when absent (`where` is a prefix such
// as "layer_list[2]." or "").
const nlohmann::json& json_field(const nlohmann::json& object, const std::string& key,
                                 const std::string& where, const std::string& path);

// A JSON integer within int32; throws "<path>: <field>: <value> is not an integer" otherwise.
int32_t json_int(const nlohmann::json& value, const std::string& field, const std::string& path);

// A JSON array; throws "<path>: <field>: expected a list, got <value>" otherwise.
const nlohmann::json& json_array(const nlohmann::json& value, const std::string& field,
                                 const std::string& path);

// A short rendering of a JSON value for messages (strings quoted, long values cut).
std::string describe_json(const nlohmann::json& value);

// One flow-style row "[1, 2, 3]" (valid JSON and YAML).
std::string json_int_row(const int32_t* values, int count);

}  // namespace eplb::placement_formats
