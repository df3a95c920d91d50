// TensorRT-LLM's EP load-balancer config (MoeLoadBalancerConfig, `moe_config.load_balancer`),
// as examples/wide_ep/ep_load_balancer/generate_eplb_config.py writes it (PyYAML, sorted keys,
// one flow-style list per layer):
//
//   initial_global_assignments:
//     3: [138, 81, 60, ...]      # layer id -> logical expert of every slot, num_slots long
//     4: [24, 243, 72, ...]
//   layer_updates_per_iter: 0    # 0 = static placement
//   num_slots: 288
//
// Successive num_slots / ep_size slots belong to one rank, but ep_size is not in the file, so
// parsing leaves num_ranks = 0. The format cannot hold routing weights: writing drops them.
// TensorRT-LLM's config model is strict (extra keys are an error there), so they are here too.
#include <algorithm>
#include <charconv>
#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "eplb/error.h"
#include "io/placement_formats.h"

namespace eplb::placement_formats {
namespace {

constexpr const char* kAssignments = "initial_global_assignments";

std::string describe_yaml(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: {
      std::string text = node.Scalar();
      if (text.size() > 40) text = text.substr(0, 40) + "...";
      return "\"" + text + "\"";
    }
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    default: return "null";
  }
}

// A plain decimal integer scalar within int32 (an optional '+' or '-' sign).
int32_t yaml_int(const YAML::Node& node, const std::string& field, const std::string& path) {
  if (node.IsScalar()) {
    std::string text = node.Scalar();
    if (!text.empty() && text[0] == '+') text.erase(0, 1);
    int32_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (!text.empty() && ec == std::errc() && end == text.data() + text.size()) return value;
    if (ec == std::errc::result_out_of_range) {
      throw Error(path + ": " + field + ": " + describe_yaml(node) +
                  " is out of the 32-bit integer range");
    }
  }
  throw Error(path + ": " + field + ": " + describe_yaml(node) + " is not an integer");
}

// The top-level keys, each at most once, none unknown.
std::map<std::string, YAML::Node> top_level(const YAML::Node& root, const std::string& path) {
  if (!root.IsMap()) {
    throw Error(path + ": expected a YAML mapping with " + kAssignments + " and num_slots, got " +
                describe_yaml(root));
  }
  std::map<std::string, YAML::Node> fields;
  for (const auto& item : root) {
    const std::string key = item.first.IsScalar() ? item.first.Scalar() : "";
    if (key != kAssignments && key != "num_slots" && key != "layer_updates_per_iter") {
      throw Error(path + ": unknown key " + describe_yaml(item.first) +
                  " (TensorRT-LLM accepts initial_global_assignments, num_slots, "
                  "layer_updates_per_iter)");
    }
    if (!fields.emplace(key, item.second).second) {
      throw Error(path + ": " + key + ": appears twice");
    }
  }
  return fields;
}

// YAML aliases let a short file name one long row many times (`4: *row`, `5: *row`, ...), and
// the rows are copied out in full: a billion-laughs file of a few MB could ask for 10^10 slots.
// Without aliases every slot takes at least 2 bytes ("0,"), so this many slots per byte of text
// (plus a floor for tiny files) leaves ample room for PyYAML's anchors on shared rows.
constexpr size_t kMaxSlotsPerByte = 16;
constexpr size_t kMinSlotBudget = size_t{1} << 16;

Placement parse_document(const YAML::Node& root, const std::string& path, int num_experts,
                         size_t text_size) {
  const size_t max_slots = std::max(kMinSlotBudget, kMaxSlotsPerByte * text_size);
  size_t num_cells = 0;  // slots over every layer so far
  const std::map<std::string, YAML::Node> fields = top_level(root, path);
  const auto slots = fields.find("num_slots");
  if (slots == fields.end()) throw Error(path + ": num_slots: missing");
  const auto updates = fields.find("layer_updates_per_iter");
  if (updates != fields.end()) yaml_int(updates->second, "layer_updates_per_iter", path);
  const auto assignments = fields.find(kAssignments);
  if (assignments == fields.end()) {
    throw Error(path + ": " + kAssignments +
                ": missing (a config with only num_slots and layer_updates_per_iter sets up the "
                "online balancer and holds no placement)");
  }
  if (!assignments->second.IsMap()) {
    throw Error(path + ": " + kAssignments +
                ": expected a mapping of layer id to the expert of "
                "every slot, got " +
                describe_yaml(assignments->second));
  }
  Placement p;
  p.num_slots = yaml_int(slots->second, "num_slots", path);
  std::map<int, std::vector<int32_t>> rows;  // sorted by layer id
  for (const auto& item : assignments->second) {
    const int layer_id = yaml_int(item.first, std::string(kAssignments) + " key", path);
    const std::string field = std::string(kAssignments) + "[" + std::to_string(layer_id) + "]";
    if (rows.count(layer_id) != 0) throw Error(path + ": " + field + ": layer id appears twice");
    if (!item.second.IsSequence()) {
      throw Error(path + ": " + field + ": expected a list of experts (one per slot), got " +
                  describe_yaml(item.second));
    }
    if (p.num_slots > 0 && item.second.size() != static_cast<size_t>(p.num_slots)) {
      throw Error(path + ": " + field + ": " + std::to_string(item.second.size()) +
                  " slots, expected num_slots = " + std::to_string(p.num_slots));
    }
    num_cells += item.second.size();
    if (num_cells > max_slots) {
      throw Error(path + ": " + field + ": more than " + std::to_string(max_slots) +
                  " slots in all for a " + std::to_string(text_size) +
                  "-byte file (YAML aliases repeating rows?)");
    }
    std::vector<int32_t>& row = rows[layer_id];
    for (size_t s = 0; s < item.second.size(); ++s) {
      row.push_back(yaml_int(item.second[s], field + "[" + std::to_string(s) + "]", path));
    }
  }
  int32_t max_expert = -1;
  for (const auto& [layer_id, row] : rows) {
    p.layer_ids.push_back(layer_id);
    p.phy2log.insert(p.phy2log.end(), row.begin(), row.end());
    for (int32_t e : row) max_expert = std::max(max_expert, e);
  }
  p.num_layers = static_cast<int>(rows.size());
  p.num_experts = num_experts > 0 ? num_experts : max_expert + 1;
  p.num_ranks = 0;
  return p;
}

}  // namespace

Placement parse_trtllm_yaml(const std::string& text, const std::string& path, int num_experts) {
  try {
    return parse_document(YAML::Load(text), path, num_experts, text.size());
  } catch (const YAML::ParserException& e) {
    throw Error(path + ": invalid YAML at line " + std::to_string(e.mark.line + 1) + ", column " +
                std::to_string(e.mark.column + 1) + ": " + e.msg);
  } catch (const YAML::Exception& e) {
    throw Error(path + ": invalid YAML: " + e.what());
  }
}

std::string format_trtllm_yaml(const Placement& p) {
  check_writable(p, "trtllm");
  std::vector<int> order(static_cast<size_t>(p.num_layers));
  for (int l = 0; l < p.num_layers; ++l) order[static_cast<size_t>(l)] = l;
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return p.layer_ids[static_cast<size_t>(a)] < p.layer_ids[static_cast<size_t>(b)];
  });
  std::string text = std::string(kAssignments) + ":";
  if (p.num_layers == 0) text += " {}";
  text += "\n";
  for (int l : order) {
    text += "  " + std::to_string(p.layer_ids[static_cast<size_t>(l)]) + ": " +
            json_int_row(p.layer_phy2log(l).data(), p.num_slots) + "\n";
  }
  text += "layer_updates_per_iter: 0\n";
  text += "num_slots: " + std::to_string(p.num_slots) + "\n";
  return text;
}

}  // namespace eplb::placement_formats
