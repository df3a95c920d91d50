// A small, bounds-checked reader of .safetensors files.
//
// Layout: 8-byte little-endian header length N, N bytes of JSON
//   {"<name>": {"dtype": "I64", "shape": [256], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {...}}
// then the data; offsets are relative to the first byte after the header. "__metadata__" is
// ignored. Every size is checked against the actual file size before it is used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/npy.h"

namespace eplb {

struct SafetensorsTensor {
  std::string name;
  std::string dtype;                // as written, e.g. "I64", "BF16"
  std::optional<ElementType> type;  // nullopt for dtypes we do not decode (BF16, F16, BOOL, F8_*)
  std::vector<int64_t> shape;
  size_t num_elements = 0;  // product of shape
  std::string_view data;    // [num_elements * element size] bytes; views the input

  // Element `flat_index` (< num_elements); only when `type` is set.
  double at(size_t flat_index) const { return element_value(*type, data.data(), flat_index); }
};

// Every tensor of a whole safetensors file held in `bytes` (which must outlive the result),
// sorted by name. Throws eplb::Error "<path>: <problem>", naming the tensor where one is at fault.
std::vector<SafetensorsTensor> parse_safetensors(std::string_view bytes, const std::string& path);

}  // namespace eplb
