// Helpers of the load-reader tests: fixture paths, scratch files, and the message of the
// eplb::Error a call throws.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include <cstring>

#include "eplb/error.h"
#include "eplb/load_matrix.h"
#include "eplb/load_reader.h"
#include "support/test_support.h"

namespace eplb::load_test {

using testing::error_of;
using testing::ScratchDir;
using testing::slurp;

// tests/data/loads/<name>: the fixtures tests/data/loads/make_samples.py writes.
inline std::string loads_fixture(const std::string& name) {
  return std::string(EPLB_TEST_DATA_DIR) + "/loads/" + name;
}

// Read options selecting steps/iterations [begin, end) (--window A:B).
inline LoadReadOptions window(int64_t begin, std::optional<int64_t> end) {
  LoadReadOptions options;
  options.window = IndexRange{begin, end};
  return options;
}

// Read options selecting rows [begin, end) (--layers A:B).
inline LoadReadOptions layers(int64_t begin, std::optional<int64_t> end) {
  LoadReadOptions options;
  options.layers = IndexRange{begin, end};
  return options;
}

// Row `layer_idx` of `m` as a vector, for EXPECT_EQ.
inline std::vector<double> row(const LoadMatrix& m, int layer_idx) {
  const auto r = m.layer(layer_idx);
  return {r.begin(), r.end()};
}

// A safetensors file: 8-byte little-endian length of `header` (as JSON), the header, `data`.
inline std::string make_safetensors(const nlohmann::json& header, const std::string& data) {
  const std::string text = header.dump();
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
  return bytes + text + data;
}

// A safetensors file of 1-D I64 tensors, as TensorRT-LLM's torch.bincount dumps them.
inline std::string make_i64_safetensors(
    const std::map<std::string, std::vector<int64_t>>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& [name, values] : tensors) {
    const size_t begin = data.size();
    data.resize(begin + 8 * values.size());
    if (!values.empty()) std::memcpy(&data[begin], values.data(), 8 * values.size());
    header[name] = {{"dtype", "I64"},
                    {"shape", nlohmann::json::array({values.size()})},
                    {"data_offsets", nlohmann::json::array({begin, data.size()})}};
  }
  return make_safetensors(header, data);
}

}  // namespace eplb::load_test
