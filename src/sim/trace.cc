#include "eplb/sim/trace.h"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>

#include "eplb/error.h"
#include "eplb/file_util.h"
#include "io/load_formats.h"
#include "io/npy.h"

namespace eplb::sim {

std::span<const double> LoadTrace::at(int step_idx, int layer_idx) const {
  const size_t row = static_cast<size_t>(step_idx) * static_cast<size_t>(num_layers) +
                     static_cast<size_t>(layer_idx);
  return std::span<const double>(values).subspan(row * static_cast<size_t>(num_experts),
                                                 static_cast<size_t>(num_experts));
}

LoadMatrix LoadTrace::window_sum(int begin, int end) const {
  if (begin < 0 || end > num_steps || begin >= end) {
    throw Error("trace window [" + std::to_string(begin) + ", " + std::to_string(end) +
                ") is empty or outside the trace's " + std::to_string(num_steps) + " steps");
  }
  LoadMatrix m = LoadMatrix::zeros(num_layers, num_experts);
  for (int t = begin; t < end; ++t) {
    for (int l = 0; l < num_layers; ++l) {
      const auto src = at(t, l);
      auto dst = m.layer(l);
      for (size_t e = 0; e < src.size(); ++e) dst[e] += src[e];
    }
  }
  return m;
}

namespace {

bool has_wildcard(const std::string& text) {
  return text.find_first_of("*?[") != std::string::npos;
}

// Regular files of `dir` whose names match `pattern` (fnmatch), sorted by name.
std::vector<std::string> matching_files(const std::filesystem::path& dir,
                                        const std::string& pattern, const std::string& where) {
  std::vector<std::string> names;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir.empty() ? "." : dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->is_regular_file() && fnmatch(pattern.c_str(), name.c_str(), FNM_PERIOD) == 0) {
      names.push_back(name);
    }
  }
  if (ec) throw Error(where + ": cannot list " + dir.string() + ": " + ec.message());
  if (names.empty()) throw Error(where + ": no file matches " + pattern);
  std::sort(names.begin(), names.end());
  std::vector<std::string> paths;
  for (const std::string& name : names) paths.push_back((dir / name).string());
  return paths;
}

LoadTrace read_sglang_dumps(const std::vector<std::string>& files) {
  std::vector<LoadMatrix> steps;
  for (const std::string& file : files) steps.push_back(read_sglang_loads(file, std::nullopt));
  return trace_from_steps(steps, files);
}

LoadTrace read_trtllm_trace(const std::string& dir, const Placement* placement) {
  std::vector<LoadMatrix> steps;
  std::vector<std::string> names;
  for (auto& [iter, m] : read_trtllm_stats_iterations(dir, placement)) {
    names.push_back(dir + ": iteration " + std::to_string(iter));
    steps.push_back(std::move(m));
  }
  return trace_from_steps(steps, names);
}

LoadTrace read_npy_trace(const std::string& path);

}  // namespace

LoadTrace trace_from_steps(const std::vector<LoadMatrix>& steps,
                           const std::vector<std::string>& names) {
  if (steps.empty()) throw Error("trace: no step");
  if (names.size() != steps.size()) {
    throw Error("trace_from_steps: " + std::to_string(steps.size()) + " steps but " +
                std::to_string(names.size()) + " names");
  }
  LoadTrace trace;
  trace.num_steps = static_cast<int>(steps.size());
  trace.num_layers = steps[0].num_layers;
  trace.num_experts = steps[0].num_experts;
  trace.layer_ids = steps[0].layer_ids;
  trace.values.reserve(steps.size() * steps[0].values.size());
  for (size_t t = 0; t < steps.size(); ++t) {
    const LoadMatrix& m = steps[t];
    if (m.num_layers != trace.num_layers || m.num_experts != trace.num_experts ||
        m.layer_ids != trace.layer_ids) {
      throw Error(names[t] + ": " + std::to_string(m.num_layers) + " layers x " +
                  std::to_string(m.num_experts) + " experts, but " + names[0] + " has " +
                  std::to_string(trace.num_layers) + " x " + std::to_string(trace.num_experts) +
                  (m.layer_ids != trace.layer_ids && m.num_layers == trace.num_layers
                       ? " (other layer ids)"
                       : ""));
    }
    m.validate(names[t]);
    trace.values.insert(trace.values.end(), m.values.begin(), m.values.end());
  }
  return trace;
}

LoadTrace read_trace(const std::string& path, const Placement* placement) {
  const std::filesystem::path p(path);
  if (has_wildcard(p.filename().string())) {
    if (has_wildcard(p.parent_path().string())) {
      throw Error(path + ": wildcards are allowed in the last path component only");
    }
    return read_sglang_dumps(matching_files(p.parent_path(), p.filename().string(), path));
  }
  std::error_code ec;
  if (std::filesystem::is_directory(p, ec)) {
    if (std::filesystem::exists(p / "meta_info.json", ec))
      return read_trtllm_trace(path, placement);
    return read_sglang_dumps(matching_files(p, "*.json", path));
  }
  return read_npy_trace(path);
}

namespace {

LoadTrace read_npy_trace(const std::string& path) {
  const std::string bytes = read_file(path);
  const NpyArray array = parse_npy(bytes, path);
  if (array.shape.size() != 3) {
    throw Error(path + ": a trace is a 3-D array [steps, layers, experts], got shape " +
                shape_text(array.shape));
  }
  for (int64_t d : array.shape) {
    if (d <= 0 || d > (int64_t{1} << 30)) {
      throw Error(path + ": shape " + shape_text(array.shape) + " has an empty or huge axis");
    }
  }
  LoadTrace trace;
  trace.num_steps = static_cast<int>(array.shape[0]);
  trace.num_layers = static_cast<int>(array.shape[1]);
  trace.num_experts = static_cast<int>(array.shape[2]);
  trace.values.resize(array.num_elements);
  for (size_t i = 0; i < array.num_elements; ++i) {
    const double v = array.at(i);
    if (!std::isfinite(v) || v < 0) {
      const size_t per_step = static_cast<size_t>(trace.num_layers) * trace.num_experts;
      throw Error(path + ": [" + std::to_string(i / per_step) + "][" +
                  std::to_string(i % per_step / static_cast<size_t>(trace.num_experts)) + "][" +
                  std::to_string(i % static_cast<size_t>(trace.num_experts)) +
                  "]: load must be finite and >= 0");
    }
    trace.values[i] = v;
  }
  return trace;
}

}  // namespace

std::string encode_npy_int64(std::span<const int64_t> values, std::span<const int64_t> shape) {
  int64_t n = 1;
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i) {
    n *= shape[i];
    dims += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  }
  if (shape.size() == 1) dims += ",";  // numpy writes a 1-tuple as "(2,)"
  if (static_cast<size_t>(n) != values.size()) {
    throw Error("encode_npy_int64: shape holds " + std::to_string(n) + " values, got " +
                std::to_string(values.size()));
  }
  std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': (" + dims + "), }";
  // magic (6) + version (2) + length (2) + header + '\n' padded to a multiple of 64.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  out += header;
  const size_t offset = out.size();
  out.resize(offset + values.size() * sizeof(int64_t));
  for (size_t i = 0; i < values.size(); ++i) {  // little-endian regardless of the host
    const auto u = static_cast<uint64_t>(values[i]);
    for (int b = 0; b < 8; ++b) out[offset + i * 8 + b] = static_cast<char>((u >> (8 * b)) & 0xff);
  }
  return out;
}

}  // namespace eplb::sim
