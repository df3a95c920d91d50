// read_loads: picks the format from the path, runs its reader (which sums the --window),
// keeps the --layers rows and validates the result.
#include "eplb/load_reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <string>

#include "eplb/error.h"
#include "io/load_formats.h"

namespace eplb {

std::string index_range_text(const IndexRange& range) {
  return std::to_string(range.begin) + ":" + (range.end ? std::to_string(*range.end) : "");
}

std::pair<int64_t, int64_t> resolve_window(const std::optional<IndexRange>& window,
                                           int64_t num_steps, const std::string& path) {
  if (!window) return {0, num_steps};
  const int64_t end = window->end.value_or(num_steps);
  if (window->begin >= num_steps || end > num_steps || end <= window->begin) {
    throw Error("--window " + index_range_text(*window) + ": outside the " +
                std::to_string(num_steps) + " steps of " + path +
                " (steps 0:" + std::to_string(num_steps) + ")");
  }
  return {window->begin, end};
}

void reject_window(const std::optional<IndexRange>& window, const std::string& path,
                   const std::string& why) {
  if (window) {
    throw Error("--window " + index_range_text(*window) + ": " + path + " has no steps to sum (" +
                why + ")");
  }
}

std::string number_text(double value) {
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return ec == std::errc() ? std::string(buffer, end) : std::to_string(value);
}

std::string json_reason(const std::exception& e) {
  // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> "parse error ..."
  const char* what = e.what();
  const char* close = std::strstr(what, "] ");
  return what[0] == '[' && close != nullptr ? std::string(close + 2) : std::string(what);
}

LoadFormat detect_load_format(const std::string& path) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (std::filesystem::is_directory(status)) return LoadFormat::kTrtllmStats;
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".csv") return LoadFormat::kCsv;
  if (ext == ".npy") return LoadFormat::kNpy;
  if (ext == ".json") return LoadFormat::kSglang;
  if (!std::filesystem::exists(status)) {
    throw Error(path + ": cannot read: No such file or directory");
  }
  throw Error(path +
              ": cannot tell the load format (expected a TensorRT-LLM statistics "
              "directory, .csv, .npy or SGLang .json)");
}

LoadMatrix read_loads(const std::string& path, const LoadReadOptions& options) {
  LoadMatrix m;
  switch (detect_load_format(path)) {
    case LoadFormat::kCsv:
      reject_window(options.window, path, "a CSV holds one row per layer");
      m = read_csv_loads(path);
      break;
    case LoadFormat::kNpy: m = read_npy_loads(path, options.window); break;
    case LoadFormat::kSglang: m = read_sglang_loads(path, options.window); break;
    case LoadFormat::kTrtllmStats: m = read_trtllm_stats(path, options); break;
  }
  if (options.layers) {
    const IndexRange& range = *options.layers;
    const int64_t end = range.end.value_or(m.num_layers);
    if (range.begin >= m.num_layers || end > m.num_layers || end <= range.begin) {
      throw Error("--layers " + index_range_text(range) + ": outside the " +
                  std::to_string(m.num_layers) + " layers (rows) of " + path);
    }
    m = m.rows(static_cast<int>(range.begin), static_cast<int>(end));
  }
  m.validate(path);
  return m;
}

}  // namespace eplb
