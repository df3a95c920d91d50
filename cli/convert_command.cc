// eplb convert: a placement file in another engine's format (exact round trips).
#include <fmt/format.h>

#include <memory>

#include "cli_common.h"
#include "commands.h"

namespace eplb::cli {
namespace {

struct ConvertFlags {
  std::string in;
  std::string out;
  int num_ranks = 0;
  int num_experts = 0;
  std::string format;
};

void run_convert(const ConvertFlags& flags) {
  PlacementReadOptions options;
  options.num_ranks = flags.num_ranks;
  options.num_experts = flags.num_experts;
  const Placement placement = read_placement(flags.in, options);
  const PlacementFormat format = output_format(flags.format, flags.out);
  warn_if_lossy(placement, format, flags.out);
  write_placement(flags.out, placement, format);
  fmt::print("wrote {} ({} format): {} layers, {} experts, {} slots on {} ranks\n", flags.out,
             placement_format_name(format), placement.num_layers, placement.num_experts,
             placement.num_slots, placement.num_ranks);
}

}  // namespace

void add_convert_command(CLI::App& app) {
  auto flags = std::make_shared<ConvertFlags>();
  CLI::App* command = app.add_subcommand("convert", "Convert a placement file between formats");
  command->add_option("in", flags->in, "input placement file")->required();
  command->add_option("out", flags->out, "output placement file (written atomically)")->required();
  command->add_option("--ranks", flags->num_ranks, "ranks (needed to read trtllm YAML)")
      ->check(CLI::PositiveNumber);
  command->add_option("--experts", flags->num_experts,
                      "logical experts (default: from the file, or max id + 1)")
      ->check(CLI::PositiveNumber);
  command->add_option("--format", flags->format,
                      "eplb | trtllm | ascend (default: from OUT's extension)");
  command->callback([flags] { run_convert(*flags); });
}

}  // namespace eplb::cli
