// Placement files: format names, detection, read (parse + checks), format and atomic write.
// The formats themselves live in eplb_json_format.cc, trtllm_yaml_format.cc and
// ascend_json_format.cc; the JSON helpers they share are at the end of this file.
#include "eplb/placement_io.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <set>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "eplb/error.h"
#include "eplb/file_util.h"
#include "io/json_depth.h"
#include "io/placement_formats.h"

namespace eplb {
namespace pf = placement_formats;
namespace {

std::string lower_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

// .yaml/.yml -> trtllm; .json -> eplb or ascend by content; anything else is an error.
PlacementFormat detect_format(const std::string& path, const std::string& text) {
  const std::string ext = lower_extension(path);
  if (ext == ".yaml" || ext == ".yml") return PlacementFormat::kTrtllm;
  if (ext != ".json") {
    throw Error(path +
                ": cannot tell the placement format from the file name (expected .json, "
                ".yaml or .yml): pass --format eplb|trtllm|ascend");
  }
  const nlohmann::json root = pf::parse_json(text, path);
  if (root.is_object() && root.contains("format")) return PlacementFormat::kEplb;
  if (root.is_object() && root.contains("layer_list")) return PlacementFormat::kAscend;
  throw Error(path +
              ": not a placement file: expected a JSON object with \"format\": "
              "\"eplb.placement.v1\" (eplb) or \"layer_list\" (vllm-ascend expert map)");
}

// The field that records the rank count, for messages.
const char* ranks_field(PlacementFormat format) {
  return format == PlacementFormat::kAscend ? "layer_list[0].device_count" : "num_ranks";
}

// Rejects negative --ranks / --experts (0 means "not given").
void check_option_signs(const PlacementReadOptions& options) {
  if (options.num_ranks < 0) {
    throw Error("--ranks " + std::to_string(options.num_ranks) + ": must be > 0");
  }
  if (options.num_experts < 0) {
    throw Error("--experts " + std::to_string(options.num_experts) + ": must be > 0");
  }
}

// read_placement only: the options must agree with what the file records. (parse_placement_file
// keeps the file's values so that `eplb validate` can report the disagreement as a problem.)
void check_against_options(const Placement& p, PlacementFormat format,
                           const PlacementReadOptions& options, const std::string& path) {
  if (options.num_ranks > 0 && p.num_ranks != options.num_ranks) {
    throw Error(path + ": " + ranks_field(format) + ": the file has " +
                std::to_string(p.num_ranks) + " ranks but --ranks is " +
                std::to_string(options.num_ranks));
  }
  if (options.num_experts > 0 && p.num_experts != options.num_experts) {
    throw Error(path + ": num_experts: the file has " + std::to_string(p.num_experts) +
                " experts but --experts is " + std::to_string(options.num_experts));
  }
}

std::pair<Placement, PlacementFormat> parse_detected(const std::string& path,
                                                     const PlacementReadOptions& options) {
  check_option_signs(options);
  const std::string text = read_file(path);
  const PlacementFormat format = options.format ? *options.format : detect_format(path, text);
  Placement p;
  switch (format) {
    case PlacementFormat::kEplb: p = pf::parse_eplb_json(text, path); break;
    case PlacementFormat::kTrtllm:
      p = pf::parse_trtllm_yaml(text, path, options.num_experts);
      break;
    case PlacementFormat::kAscend:
      p = pf::parse_ascend_json(text, path, options.num_experts);
      break;
  }
  if (p.num_ranks == 0) p.num_ranks = options.num_ranks;  // what the file does not record
  return {std::move(p), format};
}

// Layer ids and expert ids named the way the file names them (check_placement would say
// "phy2log[row][slot]", which a TensorRT-LLM or vllm-ascend user cannot map back to the file).
void check_ids_in_file_terms(const Placement& p, PlacementFormat format, const std::string& path) {
  const size_t num_layers = static_cast<size_t>(std::max(p.num_layers, 0));
  const size_t num_slots = static_cast<size_t>(std::max(p.num_slots, 0));
  if (p.layer_ids.size() != num_layers || p.phy2log.size() != num_layers * num_slots) return;
  std::set<int> seen;
  for (int l = 0; l < p.num_layers; ++l) {
    const int id = p.layer_ids[static_cast<size_t>(l)];
    const std::string where = path + ": " + pf::layer_id_field(format, p, l) + ": layer id ";
    if (id < 0) throw Error(where + std::to_string(id) + " is negative");
    if (!seen.insert(id).second) throw Error(where + std::to_string(id) + " appears twice");
  }
  if (p.num_experts <= 0 || p.num_slots <= 0) return;
  for (int l = 0; l < p.num_layers; ++l) {
    auto row = p.layer_phy2log(l);
    for (int s = 0; s < p.num_slots; ++s) {
      const int32_t e = row[static_cast<size_t>(s)];
      if (e < 0 || e >= p.num_experts) {
        throw Error(path + ": " + pf::slot_field(format, p, l, s) + ": expert " +
                    std::to_string(e) + " out of range [0, " + std::to_string(p.num_experts) + ")");
      }
    }
  }
}

}  // namespace

PlacementFormat parse_placement_format(const std::string& name, const std::string& flag) {
  if (name == "eplb") return PlacementFormat::kEplb;
  if (name == "trtllm") return PlacementFormat::kTrtllm;
  if (name == "ascend") return PlacementFormat::kAscend;
  throw Error(flag + " " + name + ": unknown placement format (expected eplb, trtllm or ascend)");
}

const char* placement_format_name(PlacementFormat format) {
  switch (format) {
    case PlacementFormat::kEplb: return "eplb";
    case PlacementFormat::kTrtllm: return "trtllm";
    case PlacementFormat::kAscend: return "ascend";
  }
  return "unknown";
}

std::optional<PlacementFormat> placement_format_from_extension(const std::string& path) {
  const std::string ext = lower_extension(path);
  if (ext == ".yaml" || ext == ".yml") return PlacementFormat::kTrtllm;
  if (ext == ".json") return PlacementFormat::kEplb;
  return std::nullopt;
}

Placement parse_placement_file(const std::string& path, const PlacementReadOptions& options) {
  return parse_detected(path, options).first;
}

Placement read_placement(const std::string& path, const PlacementReadOptions& options) {
  auto [p, format] = parse_detected(path, options);
  check_against_options(p, format, options, path);
  if (p.num_ranks == 0) {
    if (format == PlacementFormat::kTrtllm) {
      throw Error(path + ": the trtllm format does not record the rank count: pass --ranks");
    }
    throw Error(path + ": " + ranks_field(format) + ": 0 ranks (unknown): pass --ranks");
  }
  if (format != PlacementFormat::kEplb) check_ids_in_file_terms(p, format, path);
  validate_placement(p, path);
  return p;
}

std::string format_placement(const Placement& placement, PlacementFormat format) {
  switch (format) {
    case PlacementFormat::kEplb: return pf::format_eplb_json(placement);
    case PlacementFormat::kTrtllm: return pf::format_trtllm_yaml(placement);
    case PlacementFormat::kAscend: return pf::format_ascend_json(placement);
  }
  throw Error("format_placement: unknown placement format");
}

void write_placement(const std::string& path, const Placement& placement, PlacementFormat format) {
  std::string text;
  try {
    text = format_placement(placement, format);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  write_file_atomic(path, text);
}

namespace placement_formats {

std::string slot_field(PlacementFormat format, const Placement& p, int layer_idx, int slot_idx) {
  const std::string l = std::to_string(layer_idx);
  switch (format) {
    case PlacementFormat::kEplb: return "phy2log[" + l + "][" + std::to_string(slot_idx) + "]";
    case PlacementFormat::kTrtllm:
      return "initial_global_assignments[" +
             std::to_string(p.layer_ids[static_cast<size_t>(layer_idx)]) + "][" +
             std::to_string(slot_idx) + "]";
    case PlacementFormat::kAscend: {
      const int per_device = std::max(p.slots_per_rank(), 1);
      return "layer_list[" + l + "].device_list[" + std::to_string(slot_idx / per_device) +
             "].device_expert[" + std::to_string(slot_idx % per_device) + "]";
    }
  }
  return "phy2log[" + l + "][" + std::to_string(slot_idx) + "]";
}

std::string layer_id_field(PlacementFormat format, const Placement& p, int layer_idx) {
  const std::string l = std::to_string(layer_idx);
  switch (format) {
    case PlacementFormat::kEplb: return "layer_ids[" + l + "]";
    case PlacementFormat::kTrtllm:
      return "initial_global_assignments[" +
             std::to_string(p.layer_ids[static_cast<size_t>(layer_idx)]) + "]";
    case PlacementFormat::kAscend: return "layer_list[" + l + "].layer_id";
  }
  return "layer_ids[" + l + "]";
}

void check_writable(const Placement& p, const char* where) {
  const std::string prefix = std::string("cannot write the ") + where + " format: ";
  if (p.num_layers < 0 || p.num_slots < 0) {
    throw Error(prefix + "num_layers = " + std::to_string(p.num_layers) +
                ", num_slots = " + std::to_string(p.num_slots) + " must not be negative");
  }
  const size_t cells = static_cast<size_t>(p.num_layers) * static_cast<size_t>(p.num_slots);
  if (p.layer_ids.size() != static_cast<size_t>(p.num_layers)) {
    throw Error(prefix + "layer_ids has " + std::to_string(p.layer_ids.size()) +
                " entries, expected num_layers = " + std::to_string(p.num_layers));
  }
  if (p.phy2log.size() != cells) {
    throw Error(prefix + "phy2log has " + std::to_string(p.phy2log.size()) +
                " slots, expected num_layers x num_slots = " + std::to_string(cells));
  }
  if (!p.routing_weight.empty() && p.routing_weight.size() != cells) {
    throw Error(prefix + "routing_weight has " + std::to_string(p.routing_weight.size()) +
                " values, expected num_layers x num_slots = " + std::to_string(cells));
  }
}

nlohmann::json parse_json(const std::string& text, const std::string& path) {
  check_json_depth(text, path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // what() is "[json.exception.parse_error.101] parse error at line 3, column 5: ...".
    std::string reason = e.what();
    const size_t tag_end = reason.find("] ");
    if (reason.rfind("[json.exception.", 0) == 0 && tag_end != std::string::npos) {
      reason = reason.substr(tag_end + 2);
    }
    throw Error(path + ": invalid JSON: " + reason);
  }
}

const nlohmann::json& json_field(const nlohmann::json& object, const std::string& key,
                                 const std::string& where, const std::string& path) {
  const auto it = object.find(key);
  if (it == object.end()) throw Error(path + ": " + where + key + ": missing");
  return *it;
}

int32_t json_int(const nlohmann::json& value, const std::string& field, const std::string& path) {
  constexpr int64_t kMin = std::numeric_limits<int32_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  if (value.is_number_unsigned()) {
    const uint64_t v = value.get<uint64_t>();
    if (v <= static_cast<uint64_t>(kMax)) return static_cast<int32_t>(v);
  } else if (value.is_number_integer()) {
    const int64_t v = value.get<int64_t>();
    if (v >= kMin && v <= kMax) return static_cast<int32_t>(v);
  } else {
    throw Error(path + ": " + field + ": " + describe_json(value) + " is not an integer");
  }
  throw Error(path + ": " + field + ": " + describe_json(value) +
              " is out of the 32-bit integer range");
}

const nlohmann::json& json_array(const nlohmann::json& value, const std::string& field,
                                 const std::string& path) {
  if (!value.is_array()) {
    throw Error(path + ": " + field + ": expected a list, got " + describe_json(value));
  }
  return value;
}

std::string describe_json(const nlohmann::json& value) {
  constexpr size_t kMaxChars = 40;
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > kMaxChars) text = text.substr(0, kMaxChars) + "...";
  return text;
}

std::string json_int_row(const int32_t* values, int count) {
  std::string row = "[";
  for (int i = 0; i < count; ++i) {
    if (i > 0) row += ", ";
    row += std::to_string(values[i]);
  }
  row += "]";
  return row;
}

}  // namespace placement_formats
}  // namespace eplb
