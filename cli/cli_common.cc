#include "cli_common.h"

#include <fmt/format.h>

#include <cstdio>

#include "eplb/error.h"
#include "eplb/load_reader.h"

namespace eplb::cli {

void add_load_flags(CLI::App& command, LoadFlags& flags) {
  command.add_option("--load", flags.path,
                     "expert loads: .csv, .npy, SGLang .json dump, or TensorRT-LLM statistics dir")
      ->required();
  command.add_option("--layers", flags.layers, "rows (layers, in file order) to use, A:B half-open");
  command.add_option("--window", flags.window,
                     "steps (npy 3-D) or iterations (TensorRT-LLM) to sum, A:B half-open");
}

LoadMatrix read_load_flags(const LoadFlags& flags, const Placement* placement) {
  LoadReadOptions options;
  if (!flags.layers.empty()) options.layers = parse_index_range(flags.layers, "--layers");
  if (!flags.window.empty()) options.window = parse_index_range(flags.window, "--window");
  options.placement = placement;
  return read_loads(flags.path, options);
}

Placement read_placement_flag(const std::string& path, int num_ranks) {
  PlacementReadOptions options;
  options.num_ranks = num_ranks;
  return read_placement(path, options);
}

Placement fit_to_loads(const Placement& placement, const std::string& path,
                       const std::string& flag, const LoadMatrix& loads) {
  if (placement.num_experts != loads.num_experts) {
    throw Error(flag + " " + path + ": placement has " + std::to_string(placement.num_experts) +
                " experts but the loads have " + std::to_string(loads.num_experts));
  }
  return align_layers(placement, loads.layer_ids, flag + " " + path);
}

PlacementFormat output_format(const std::string& format_flag, const std::string& path) {
  if (!format_flag.empty()) return parse_placement_format(format_flag, "--format");
  return placement_format_from_extension(path).value_or(PlacementFormat::kEplb);
}

void warn_if_lossy(const Placement& placement, PlacementFormat format, const std::string& path) {
  if (placement.has_routing_weight() && format != PlacementFormat::kEplb) {
    fmt::print(stderr, "eplb: warning: {}: the {} format cannot store routing_weight; replicas "
                       "will split their tokens evenly\n",
               path, placement_format_name(format));
  }
}

std::string fixed(double value, int digits) { return fmt::format("{:.{}f}", value, digits); }

}  // namespace eplb::cli
