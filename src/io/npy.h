// A small, bounds-checked reader of numpy .npy files (format versions 1.0, 2.0 and 3.0), and
// the little-endian element types it shares with the safetensors reader.
//
// Supported: C-ordered arrays of <i1/|i1 |u1 <i2 <u2 <i4 <u4 <i8 <u8 <f4 <f8. Refused with a
// message: Fortran order, big-endian and structured dtypes, and any header or data size that
// does not agree with the actual file size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace eplb {

// Little-endian numeric element types.
enum class ElementType { kI8, kU8, kI16, kU16, kI32, kU32, kI64, kU64, kF32, kF64 };

// Bytes per element.
size_t element_size(ElementType type);

// Element `index` of a little-endian array of `type` starting at `data`, as a double (64-bit
// integers above 2^53 round). The caller checks `index` against the array's size.
double element_value(ElementType type, const char* data, size_t index);

struct NpyArray {
  ElementType type = ElementType::kF64;
  std::string descr;           // as written in the header, e.g. "<i8"
  std::vector<int64_t> shape;  // e.g. [steps, layers, experts]
  size_t num_elements = 0;     // product of shape
  std::string_view data;       // [num_elements * element_size] bytes, C order; views the input

  double at(size_t flat_index) const { return element_value(type, data.data(), flat_index); }
};

// Parses a whole .npy file held in `bytes` (which must outlive the result). Throws eplb::Error
// "<path>: <problem>" for a bad magic string, header, dtype or size.
NpyArray parse_npy(std::string_view bytes, const std::string& path);

// "(200, 58, 256)", as numpy prints a shape.
std::string shape_text(const std::vector<int64_t>& shape);

}  // namespace eplb
