// Flag handling shared by the subcommands: reading loads and placements the same way
// everywhere, output formats, and printing.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "eplb/balance.h"
#include "eplb/load_matrix.h"
#include "eplb/placement.h"
#include "eplb/placement_io.h"

namespace eplb::cli {

// --load F [--layers A:B] [--window A:B]
struct LoadFlags {
  std::string path;
  std::string layers;
  std::string window;
};

void add_load_flags(CLI::App& command, LoadFlags& flags);

// Reads the loads selected by the flags; `placement` maps per-slot statistics to experts.
LoadMatrix read_load_flags(const LoadFlags& flags, const Placement* placement = nullptr);

// Reads a placement file with an optional rank count (needed for TensorRT-LLM YAML, checked
// against the others).
Placement read_placement_flag(const std::string& path, int num_ranks);

// `placement` (read from `path`, given by `flag`, e.g. "--current") checked against the loads'
// expert count and aligned to their layers.
Placement fit_to_loads(const Placement& placement, const std::string& path,
                       const std::string& flag, const LoadMatrix& loads);

// The format to write `path` in: --format when given, else from the extension, else eplb.
PlacementFormat output_format(const std::string& format_flag, const std::string& path);

// Warns on stderr when `format` cannot carry what `placement` holds (routing weights).
void warn_if_lossy(const Placement& placement, PlacementFormat format, const std::string& path);

// A number for a table: fixed with `digits` decimals.
std::string fixed(double value, int digits);

}  // namespace eplb::cli
