// vllm-ascend's expert map (additional_config "expert_map_path" / "expert_map_record_path"),
// the layout its reader (vllm_ascend/eplb/core/eplb_utils.py expert_file_to_tensor) and its
// recorder (vllm_ascend/eplb/adaptor/vllm_adaptor.py _export_tensor_to_file) agree on:
//
//   {"moe_layer_count": 2,
//    "layer_list": [{"layer_id": 0, "device_count": 2,
//                    "device_list": [{"device_id": 0, "device_expert": [0, 1, 2]},
//                                    {"device_id": 1, "device_expert": [3, 0, 1]}]}, ...]}
//
// device_expert lists the logical expert of each of that device's slots, in slot order, so the
// concatenation over devices is phy2log and device_count is num_ranks. vllm-ascend indexes
// layer_list by the 0-based MoE-layer index; writing therefore emits layer_id 0..num_layers-1 in
// row order whatever the placement's layer ids are. Routing weights cannot be stored.
#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

#include "eplb/error.h"
#include "io/placement_formats.h"

namespace eplb::placement_formats {
namespace {

std::string layer_at(size_t i) { return "layer_list[" + std::to_string(i) + "]"; }

std::string device_at(size_t i, size_t j) {
  return layer_at(i) + ".device_list[" + std::to_string(j) + "]";
}

const nlohmann::json& json_object(const nlohmann::json& value, const std::string& field,
                                  const std::string& path) {
  if (!value.is_object()) {
    throw Error(path + ": " + field + ": expected an object, got " + describe_json(value));
  }
  return value;
}

}  // namespace

Placement parse_ascend_json(const std::string& text, const std::string& path, int num_experts) {
  const nlohmann::json root = parse_json(text, path);
  if (!root.is_object()) {
    throw Error(path + ": expected a JSON object with moe_layer_count and layer_list, got " +
                describe_json(root));
  }
  const int32_t moe_layer_count =
      json_int(json_field(root, "moe_layer_count", "", path), "moe_layer_count", path);
  const nlohmann::json& layers =
      json_array(json_field(root, "layer_list", "", path), "layer_list", path);
  if (moe_layer_count < 0 || layers.size() != static_cast<size_t>(moe_layer_count)) {
    throw Error(path + ": moe_layer_count: " + std::to_string(moe_layer_count) +
                ", but layer_list has " + std::to_string(layers.size()) + " layers");
  }
  Placement p;
  p.num_layers = moe_layer_count;
  int32_t experts_per_device = -1;  // set by the first device
  int32_t max_expert = -1;
  for (size_t i = 0; i < layers.size(); ++i) {
    const nlohmann::json& layer = json_object(layers[i], layer_at(i), path);
    const std::string prefix = layer_at(i) + ".";
    p.layer_ids.push_back(
        json_int(json_field(layer, "layer_id", prefix, path), prefix + "layer_id", path));
    const int32_t device_count =
        json_int(json_field(layer, "device_count", prefix, path), prefix + "device_count", path);
    if (device_count <= 0) {
      throw Error(path + ": " + prefix + "device_count: " + std::to_string(device_count) +
                  " must be > 0");
    }
    if (i == 0) p.num_ranks = device_count;
    if (device_count != p.num_ranks) {
      throw Error(path + ": " + prefix + "device_count: " + std::to_string(device_count) +
                  ", expected " + std::to_string(p.num_ranks) + " as in layer_list[0]");
    }
    const nlohmann::json& devices =
        json_array(json_field(layer, "device_list", prefix, path), prefix + "device_list", path);
    if (devices.size() != static_cast<size_t>(device_count)) {
      throw Error(path + ": " + prefix + "device_list: " + std::to_string(devices.size()) +
                  " devices, expected device_count = " + std::to_string(device_count));
    }
    for (size_t j = 0; j < devices.size(); ++j) {
      const nlohmann::json& device = json_object(devices[j], device_at(i, j), path);
      const std::string where = device_at(i, j) + ".";
      // Optional (vllm-ascend's reader ignores it), but devices must be listed in rank order.
      if (device.contains("device_id")) {
        const int32_t device_id = json_int(device["device_id"], where + "device_id", path);
        if (device_id != static_cast<int32_t>(j)) {
          throw Error(path + ": " + where + "device_id: " + std::to_string(device_id) +
                      ", expected " + std::to_string(j) + " (devices are listed in rank order)");
        }
      }
      const nlohmann::json& experts = json_array(json_field(device, "device_expert", where, path),
                                                 where + "device_expert", path);
      if (experts_per_device < 0) experts_per_device = static_cast<int32_t>(experts.size());
      if (experts.size() != static_cast<size_t>(experts_per_device)) {
        throw Error(path + ": " + device_at(i, j) + ": " + std::to_string(experts.size()) +
                    " experts, expected " + std::to_string(experts_per_device) +
                    " as on layer_list[0].device_list[0] (every device holds as many slots)");
      }
      for (size_t k = 0; k < experts.size(); ++k) {
        const int32_t e =
            json_int(experts[k], where + "device_expert[" + std::to_string(k) + "]", path);
        max_expert = std::max(max_expert, e);
        p.phy2log.push_back(e);
      }
    }
  }
  p.num_slots = p.num_ranks * std::max(experts_per_device, 0);
  p.num_experts = num_experts > 0 ? num_experts : max_expert + 1;
  return p;
}

std::string format_ascend_json(const Placement& p) {
  check_writable(p, "ascend");
  if (p.num_ranks <= 0 || p.num_slots % p.num_ranks != 0) {
    throw Error("cannot write the ascend format: " + std::to_string(p.num_slots) +
                " slots cannot be split over num_ranks = " + std::to_string(p.num_ranks) +
                " devices");
  }
  const int per_device = p.slots_per_rank();
  std::string text = "{\n  \"moe_layer_count\": " + std::to_string(p.num_layers) + ",\n";
  text += "  \"layer_list\": [";
  for (int l = 0; l < p.num_layers; ++l) {
    text += l > 0 ? ",\n" : "\n";
    text += "    {\n      \"layer_id\": " + std::to_string(l) + ",\n";
    text += "      \"device_count\": " + std::to_string(p.num_ranks) + ",\n";
    text += "      \"device_list\": [\n";
    const auto row = p.layer_phy2log(l);
    for (int r = 0; r < p.num_ranks; ++r) {
      text += "        {\"device_id\": " + std::to_string(r) + ", \"device_expert\": " +
              json_int_row(row.data() + static_cast<size_t>(r) * static_cast<size_t>(per_device),
                           per_device) +
              (r + 1 < p.num_ranks ? "},\n" : "}\n");
    }
    text += "      ]\n    }";
  }
  text += p.num_layers > 0 ? "\n  ]\n}\n" : "]\n}\n";
  return text;
}

}  // namespace eplb::placement_formats
