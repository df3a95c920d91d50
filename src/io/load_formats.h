// The per-format load readers behind eplb::read_loads, and the helpers they share.
//
// Each reader returns every row (layer) of its file with the --window already summed where the
// format has steps or iterations; read_loads then applies --layers and validate(). Every
// problem is an eplb::Error naming the file (path as given) and the line, field or key.
#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eplb/load_matrix.h"
#include "eplb/load_reader.h"
#include "eplb/placement.h"

namespace eplb {

// One row per layer, one column per logical expert; optional header line (a `layer` or
// `layer_id` first column holds the layer ids). The CSV has no steps: --window is an error.
LoadMatrix read_csv_loads(const std::string& path);

// [layers, experts] or [steps, layers, experts] summed over `window` (steps A..B-1).
LoadMatrix read_npy_loads(const std::string& path, const std::optional<IndexRange>& window);

// SGLang expert-distribution dump as JSON: {"logical_count": [layers][experts]} or
// [steps][layers][experts] summed over `window`.
LoadMatrix read_sglang_loads(const std::string& path, const std::optional<IndexRange>& window);

// The same readers over file contents already in memory (`path` only names the file in
// messages); what the fuzzers under fuzz/ call.
LoadMatrix parse_csv_loads(std::string_view content, const std::string& path);
LoadMatrix parse_npy_loads(std::string_view bytes, const std::string& path,
                           const std::optional<IndexRange>& window);
LoadMatrix parse_sglang_loads(std::string_view text, const std::string& path,
                              const std::optional<IndexRange>& window);

// TensorRT-LLM statistics directory (meta_info.json + rank{r}.safetensors), summed over ranks
// and over the iterations in options.window; per-slot counts are mapped back to logical
// experts through options.placement.
LoadMatrix read_trtllm_stats(const std::string& dir, const LoadReadOptions& options);

// The same directory, one matrix per dumped iteration (ascending iteration numbers), for
// traces (`eplb simulate --trace DIR`).
std::vector<std::pair<int64_t, LoadMatrix>> read_trtllm_stats_iterations(
    const std::string& dir, const Placement* placement);

// "A:B" / "A:" as written on the command line.
std::string index_range_text(const IndexRange& range);

// The half-open steps [first, second) of a leading dimension of `num_steps` that `window`
// picks (all when unset). Throws eplb::Error naming --window and `path` when the window
// reaches past the steps.
std::pair<int64_t, int64_t> resolve_window(const std::optional<IndexRange>& window,
                                           int64_t num_steps, const std::string& path);

// Throws eplb::Error naming --window when one is given for a file without steps; `why` says
// what the file holds instead (e.g. "a 2-D [layers, experts] array").
void reject_window(const std::optional<IndexRange>& window, const std::string& path,
                   const std::string& why);

// Shortest text that reads back as `value` ("3", "0.5", "-1", "nan").
std::string number_text(double value);

// nlohmann::json's message without its "[json.exception.parse_error.101] " prefix.
std::string json_reason(const std::exception& e);

}  // namespace eplb
