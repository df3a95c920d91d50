// Reading collected expert loads from the files engines dump.
//
// Formats, picked from the path:
//   directory            TensorRT-LLM statistics: meta_info.json + rank{r}.safetensors,
//                        one tensor per "{iter}_{layer}" key
//   *.csv                one row per layer, one column per logical expert
//   *.npy                [layers, experts] or [steps, layers, experts]
//   *.json               SGLang expert-distribution dump {"logical_count": [[...]]}
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "eplb/load_matrix.h"
#include "eplb/placement.h"

namespace eplb {

// Half-open range [begin, end) written "A:B" on the command line; "A:" and ":B" leave a side
// open (end = nullopt means "to the last").
struct IndexRange {
  int64_t begin = 0;
  std::optional<int64_t> end;
};

// Parses "A:B", "A:", ":B"; throws eplb::Error naming `flag` on anything else.
IndexRange parse_index_range(const std::string& text, const std::string& flag);

struct LoadReadOptions {
  // Steps (npy 3-D) or iterations (TensorRT-LLM) to sum; all when unset.
  std::optional<IndexRange> window;
  // Rows (layers, in file order) to keep; all when unset.
  std::optional<IndexRange> layers;
  // Needed to read per-slot TensorRT-LLM statistics (dumped with EPLB active): slot loads are
  // mapped back to logical experts through its phy2log.
  const Placement* placement = nullptr;
};

enum class LoadFormat { kCsv, kNpy, kSglang, kTrtllmStats };

// The format of `path` (directory -> TensorRT-LLM statistics; else by extension). Throws
// eplb::Error when it cannot tell.
LoadFormat detect_load_format(const std::string& path);

// Reads, windows and selects loads. Every problem is an eplb::Error naming the file and the
// field, line or flag: unreadable or truncated files, wrong shapes, negative or NaN loads,
// empty selections.
LoadMatrix read_loads(const std::string& path, const LoadReadOptions& options = {});

}  // namespace eplb
