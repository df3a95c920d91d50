// Loads from a numpy .npy array: [layers, experts], or [steps, layers, experts] summed over
// the --window steps. Layer ids are 0..layers-1.
#include <climits>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "eplb/error.h"
#include "eplb/file_util.h"
#include "io/load_formats.h"
#include "io/npy.h"

namespace eplb {
namespace {

// Element [index...] as "[3, 17]" for messages.
std::string index_text(const std::vector<int64_t>& shape, size_t flat_index) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = static_cast<int64_t>(flat_index % static_cast<size_t>(shape[d]));
    flat_index /= static_cast<size_t>(shape[d]);
  }
  std::string text = "[";
  for (size_t d = 0; d < index.size(); ++d) text += (d ? ", " : "") + std::to_string(index[d]);
  return text + "]";
}

}  // namespace

LoadMatrix parse_npy_loads(std::string_view bytes, const std::string& path,
                           const std::optional<IndexRange>& window) {
  const NpyArray array = parse_npy(bytes, path);
  const size_t ndim = array.shape.size();
  if (ndim != 2 && ndim != 3) {
    throw Error(path + ": shape " + shape_text(array.shape) +
                ": expected [layers, experts] or [steps, layers, experts]");
  }
  const int64_t num_layers = array.shape[ndim - 2];
  const int64_t num_experts = array.shape[ndim - 1];
  // A 3-D array of 0 steps holds no data, so its [layers, experts] are unchecked claims: refused
  // before they size the matrix.
  if (num_layers <= 0 || num_experts <= 0 || num_layers > INT_MAX || num_experts > INT_MAX ||
      array.num_elements == 0) {
    throw Error(path + ": shape " + shape_text(array.shape) + ": no loads");
  }
  int64_t first_step = 0, end_step = 1;
  if (ndim == 2) {
    reject_window(window, path, "a 2-D [layers, experts] array");
  } else {
    std::tie(first_step, end_step) = resolve_window(window, array.shape[0], path);
  }

  LoadMatrix m = LoadMatrix::zeros(static_cast<int>(num_layers), static_cast<int>(num_experts));
  const size_t step_size = m.values.size();
  for (int64_t step = first_step; step < end_step; ++step) {
    const size_t offset = static_cast<size_t>(step) * step_size;
    for (size_t i = 0; i < step_size; ++i) {
      const double value = array.at(offset + i);
      if (!std::isfinite(value) || value < 0) {
        throw Error(path + ": element " + index_text(array.shape, offset + i) + ": load " +
                    number_text(value) + " is not a finite non-negative count");
      }
      m.values[i] += value;
    }
  }
  return m;
}

LoadMatrix read_npy_loads(const std::string& path, const std::optional<IndexRange>& window) {
  return parse_npy_loads(read_file(path), path, window);
}

}  // namespace eplb
