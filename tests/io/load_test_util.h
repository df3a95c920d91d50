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

namespace eplb::load_test {

// tests/data/loads/<name>: the fixtures tests/data/loads/make_samples.py writes.
inline std::string loads_fixture(const std::string& name) {
  return std::string(EPLB_TEST_DATA_DIR) + "/loads/" + name;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A fresh directory for the running test, removed afterwards.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("eplb_loads_") + info->test_suite_name() + "_" + info->name() +
                       "_" + std::to_string(getpid());
    for (char& c : name) c = (c == '/') ? '_' : c;
    dir_ = std::filesystem::path(::testing::TempDir()) / name;
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  // Writes `content` to <dir>/<name> (creating sub-directories) and returns its path.
  std::string write(const std::string& name, const std::string& content) const {
    const std::filesystem::path path = dir_ / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
};

// The message of the eplb::Error `call` throws; "(no error)" when it returns.
inline std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
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
