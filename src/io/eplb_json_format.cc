// eplb's canonical placement JSON, "eplb.placement.v1":
//
//   {"format": "eplb.placement.v1", "num_layers": 2, "num_experts": 4, "num_ranks": 2,
//    "num_slots": 6, "layer_ids": [3, 4],
//    "phy2log": [[0, 1, 2, 3, 0, 1], [...]],          // [num_layers, num_slots] slot -> expert
//    "routing_weight": [[0.5, 0.5, 1.0, ...], [...]]}  // optional, [num_layers, num_slots]
//
// Slot s lives on rank s / (num_slots / num_ranks). Doubles are written in nlohmann's
// shortest round-trip form, so a write-read cycle reproduces every routing weight bit for bit.
// Unknown keys are ignored (room for comments); a different "format" string is refused.
#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eplb/error.h"
#include "io/placement_formats.h"

namespace eplb::placement_formats {
namespace {

constexpr const char* kFormatTag = "eplb.placement.v1";

std::string at(const char* field, size_t i) {
  return std::string(field) + "[" + std::to_string(i) + "]";
}

int32_t int_field(const nlohmann::json& root, const char* key, const std::string& path) {
  return json_int(json_field(root, key, "", path), key, path);
}

// A [num_layers, num_slots] table of rows; `read` converts one cell. Throws on a row count
// other than num_layers or a row length other than num_slots (when those are meaningful).
template <typename T, typename Read>
std::vector<T> read_table(const nlohmann::json& table, const char* field, const Placement& p,
                          const std::string& path, Read read) {
  json_array(table, field, path);
  if (p.num_layers >= 0 && table.size() != static_cast<size_t>(p.num_layers)) {
    throw Error(path + ": " + field + ": " + std::to_string(table.size()) +
                " rows, expected num_layers = " + std::to_string(p.num_layers));
  }
  std::vector<T> cells;
  for (size_t l = 0; l < table.size(); ++l) {
    const nlohmann::json& row = json_array(table[l], at(field, l), path);
    if (p.num_slots > 0 && row.size() != static_cast<size_t>(p.num_slots)) {
      throw Error(path + ": " + at(field, l) + ": " + std::to_string(row.size()) +
                  " slots, expected num_slots = " + std::to_string(p.num_slots));
    }
    for (size_t s = 0; s < row.size(); ++s) {
      cells.push_back(read(row[s], at(field, l) + "[" + std::to_string(s) + "]"));
    }
  }
  return cells;
}

// "[\n    [..],\n    [..]\n  ]": one layer row per line.
template <typename Cell>
std::string table_text(const Placement& p, Cell cell) {
  if (p.num_layers == 0) return "[]";
  std::string text = "[\n";
  for (int l = 0; l < p.num_layers; ++l) {
    text += "    [";
    for (int s = 0; s < p.num_slots; ++s) {
      if (s > 0) text += ", ";
      text += cell(l, s);
    }
    text += l + 1 < p.num_layers ? "],\n" : "]\n";
  }
  return text + "  ]";
}

}  // namespace

Placement parse_eplb_json(const std::string& text, const std::string& path) {
  const nlohmann::json root = parse_json(text, path);
  if (!root.is_object()) {
    throw Error(path + ": expected a JSON object with \"format\": \"" + kFormatTag + "\", got " +
                describe_json(root));
  }
  const nlohmann::json& tag = json_field(root, "format", "", path);
  if (!tag.is_string()) {
    throw Error(path + ": format: expected the string \"" + kFormatTag + "\", got " +
                describe_json(tag));
  }
  if (tag.get<std::string>() != kFormatTag) {
    throw Error(path + ": unsupported format " + describe_json(tag) + " (this eplb reads \"" +
                kFormatTag + "\")");
  }
  Placement p;
  p.num_layers = int_field(root, "num_layers", path);
  p.num_experts = int_field(root, "num_experts", path);
  p.num_ranks = int_field(root, "num_ranks", path);
  p.num_slots = int_field(root, "num_slots", path);
  const nlohmann::json& layer_ids =
      json_array(json_field(root, "layer_ids", "", path), "layer_ids", path);
  for (size_t i = 0; i < layer_ids.size(); ++i) {
    p.layer_ids.push_back(json_int(layer_ids[i], at("layer_ids", i), path));
  }
  p.phy2log = read_table<int32_t>(
      json_field(root, "phy2log", "", path), "phy2log", p, path,
      [&](const nlohmann::json& v, const std::string& field) { return json_int(v, field, path); });
  const auto weights = root.find("routing_weight");
  if (weights != root.end() && !weights->is_null()) {
    p.routing_weight = read_table<double>(
        *weights, "routing_weight", p, path,
        [&](const nlohmann::json& v, const std::string& field) {
          if (!v.is_number()) {
            throw Error(path + ": " + field + ": " + describe_json(v) + " is not a number");
          }
          return v.get<double>();
        });
  }
  return p;
}

std::string format_eplb_json(const Placement& p) {
  check_writable(p, "eplb");
  for (size_t i = 0; i < p.routing_weight.size(); ++i) {
    if (!std::isfinite(p.routing_weight[i])) {
      const size_t slots = static_cast<size_t>(p.num_slots);
      throw Error("cannot write the eplb format: routing_weight[" + std::to_string(i / slots) +
                  "][" + std::to_string(i % slots) + "] = " + std::to_string(p.routing_weight[i]) +
                  " is not finite (JSON has no NaN or infinity)");
    }
  }
  std::string text = "{\n";
  text += "  \"format\": \"" + std::string(kFormatTag) + "\",\n";
  text += "  \"num_layers\": " + std::to_string(p.num_layers) + ",\n";
  text += "  \"num_experts\": " + std::to_string(p.num_experts) + ",\n";
  text += "  \"num_ranks\": " + std::to_string(p.num_ranks) + ",\n";
  text += "  \"num_slots\": " + std::to_string(p.num_slots) + ",\n";
  text += "  \"layer_ids\": " + json_int_row(p.layer_ids.data(), p.num_layers) + ",\n";
  text += "  \"phy2log\": " + table_text(p, [&](int l, int s) {
            return std::to_string(p.layer_phy2log(l)[static_cast<size_t>(s)]);
          });
  if (p.has_routing_weight()) {
    text += ",\n  \"routing_weight\": " + table_text(p, [&](int l, int s) {
              return nlohmann::json(p.layer_routing_weight(l)[static_cast<size_t>(s)]).dump();
            });
  }
  return text + "\n}\n";
}

}  // namespace eplb::placement_formats
