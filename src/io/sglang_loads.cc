// Loads from an SGLang expert-distribution dump, as JSON.
//
// SGLang's recorder (python/sglang/srt/eplb/expert_distribution.py, mode "stat") dumps
//   {"rank": 0, "logical_count": [steps][layers][experts],
//    "average_utilization_rate_over_window": ...}
// with torch.save; logical_count holds the logical-expert token counts of each buffered forward
// pass (a ring buffer of --expert-distribution-recorder-buffer-size passes, all-reduced over
// ranks), one row per model layer (dense layers stay zero). `--init-expert-location` also
// accepts that dict as JSON, 2-D [layers][experts] or 3-D, and SGLang's EPLB sums the leading
// dimension. We read the JSON form (`json.dump({"logical_count": d["logical_count"].tolist()})`):
// 2-D as is, 3-D summed over the --window passes (positions in the dumped buffer). Other keys
// are ignored. Layer ids are 0..layers-1.
#include <climits>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "eplb/error.h"
#include "eplb/file_util.h"
#include "io/json_depth.h"
#include "io/load_formats.h"

namespace eplb {
namespace {

using nlohmann::json;

// Adds the [layers][experts] block `block` (named `field`, e.g. logical_count[7]) to `m`, whose
// shape is fixed by the first block; every value must be a finite non-negative number.
void add_block(const json& block, const std::string& field, const std::string& path, bool add,
               LoadMatrix* m) {
  if (!block.is_array()) {
    throw Error(path + ": " + field + ": expected an array of layers, got " + block.type_name());
  }
  if (block.size() != static_cast<size_t>(m->num_layers)) {
    throw Error(path + ": " + field + ": " + std::to_string(block.size()) + " layers, expected " +
                std::to_string(m->num_layers));
  }
  for (size_t l = 0; l < block.size(); ++l) {
    const json& row = block[l];
    const std::string row_field = field + "[" + std::to_string(l) + "]";
    if (!row.is_array()) {
      throw Error(path + ": " + row_field + ": expected an array of expert loads, got " +
                  row.type_name());
    }
    if (row.size() != static_cast<size_t>(m->num_experts)) {
      throw Error(path + ": " + row_field + ": " + std::to_string(row.size()) +
                  " values, expected " + std::to_string(m->num_experts));
    }
    for (size_t e = 0; e < row.size(); ++e) {
      const std::string cell = row_field + "[" + std::to_string(e) + "]";
      if (!row[e].is_number()) {
        throw Error(path + ": " + cell + ": expected a number, got " + row[e].type_name());
      }
      const double value = row[e].get<double>();
      if (!std::isfinite(value) || value < 0) {
        throw Error(path + ": " + cell + ": load " + number_text(value) +
                    " is not a finite non-negative count");
      }
      if (add) m->layer(static_cast<int>(l))[e] += value;
    }
  }
}

// Size of the first element along each of the leading axes: [layers, experts] of a 2-D
// block, checked non-empty.
void block_shape(const json& block, const std::string& field, const std::string& path,
                 size_t* num_layers, size_t* num_experts) {
  if (!block.is_array() || block.empty() || !block[0].is_array() || block[0].empty()) {
    throw Error(path + ": " + field + ": expected a non-empty [layers][experts] array");
  }
  *num_layers = block.size();
  *num_experts = block[0].size();
  if (*num_layers > static_cast<size_t>(INT_MAX) || *num_experts > static_cast<size_t>(INT_MAX)) {
    throw Error(path + ": " + field + ": too many layers or experts");
  }
}

// A matrix that records the shape the blocks must have but holds no values yet.
LoadMatrix shape_only(size_t num_layers, size_t num_experts) {
  LoadMatrix m;
  m.num_layers = static_cast<int>(num_layers);
  m.num_experts = static_cast<int>(num_experts);
  return m;
}

}  // namespace

LoadMatrix parse_sglang_loads(std::string_view text, const std::string& path,
                              const std::optional<IndexRange>& window) {
  check_json_depth(text, path);
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(path + ": invalid JSON: " + json_reason(e));
  }
  if (!root.is_object()) {
    throw Error(path + ": expected an object {\"logical_count\": [[...]]}, got " +
                root.type_name());
  }
  const auto counts = root.find("logical_count");
  if (counts == root.end()) {
    const bool placement = root.contains("physical_to_logical_map");
    throw Error(path + ": no \"logical_count\" key" +
                (placement ? " (this holds a placement, physical_to_logical_map, not loads)" : ""));
  }
  if (!counts->is_array() || counts->empty()) {
    throw Error(path +
                ": logical_count: expected a non-empty [layers][experts] or "
                "[steps][layers][experts] array");
  }

  const bool has_steps =
      (*counts)[0].is_array() && !(*counts)[0].empty() && (*counts)[0][0].is_array();
  size_t num_layers = 0, num_experts = 0;
  if (!has_steps) {
    reject_window(window, path, "a 2-D logical_count [layers][experts]");
    block_shape(*counts, "logical_count", path, &num_layers, &num_experts);
    // Checked before allocating: the first row alone must not size the matrix (a 1-row file of
    // 10^6 experts followed by 10^6 empty rows claims 10^12 loads).
    LoadMatrix m = shape_only(num_layers, num_experts);
    add_block(*counts, "logical_count", path, false, &m);
    m = LoadMatrix::zeros(static_cast<int>(num_layers), static_cast<int>(num_experts));
    add_block(*counts, "logical_count", path, true, &m);
    return m;
  }
  const auto [first, end] = resolve_window(window, static_cast<int64_t>(counts->size()), path);
  block_shape((*counts)[0], "logical_count[0]", path, &num_layers, &num_experts);
  LoadMatrix m = shape_only(num_layers, num_experts);
  for (size_t s = 0; s < counts->size(); ++s) {
    add_block((*counts)[s], "logical_count[" + std::to_string(s) + "]", path, false, &m);
  }
  m = LoadMatrix::zeros(static_cast<int>(num_layers), static_cast<int>(num_experts));
  for (size_t s = 0; s < counts->size(); ++s) {
    const bool in_window = static_cast<int64_t>(s) >= first && static_cast<int64_t>(s) < end;
    add_block((*counts)[s], "logical_count[" + std::to_string(s) + "]", path, in_window, &m);
  }
  return m;
}

LoadMatrix read_sglang_loads(const std::string& path, const std::optional<IndexRange>& window) {
  return parse_sglang_loads(read_file(path), path, window);
}

}  // namespace eplb
