// eplb validate: every structural and consistency problem of a placement file, with its
// location; exit status 1 when there is any.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "eplb/error.h"
#include "eplb/placement.h"

namespace eplb::cli {
namespace {

struct ValidateFlags {
  std::string path;
  int num_experts = 0;
  int num_ranks = 0;
};

void run_validate(const ValidateFlags& flags) {
  PlacementReadOptions options;
  options.num_experts = flags.num_experts;
  options.num_ranks = flags.num_ranks;
  Placement placement = parse_placement_file(flags.path, options);
  std::vector<std::string> problems;
  if (flags.num_experts > 0 && placement.num_experts != flags.num_experts) {
    problems.push_back(fmt::format("num_experts: {} in the file, but --experts {}",
                                   placement.num_experts, flags.num_experts));
  }
  if (flags.num_ranks > 0 && placement.num_ranks > 0 && placement.num_ranks != flags.num_ranks) {
    problems.push_back(fmt::format("num_ranks: {} in the file, but --ranks {}",
                                   placement.num_ranks, flags.num_ranks));
  }
  if (placement.num_ranks == 0) placement.num_ranks = flags.num_ranks;
  for (std::string& p : check_placement(placement)) problems.push_back(std::move(p));
  for (const std::string& p : problems) fmt::print(stderr, "{}: {}\n", flags.path, p);
  if (!problems.empty()) {
    throw Error(fmt::format("{}: {} problem(s) found", flags.path, problems.size()));
  }
  fmt::print("{}: valid placement: {} layers, {} experts, {} slots", flags.path,
             placement.num_layers, placement.num_experts, placement.num_slots);
  if (placement.num_ranks > 0) {
    fmt::print(" on {} ranks ({} per rank)", placement.num_ranks, placement.slots_per_rank());
  } else {
    fmt::print(" (rank count not in the file: pass --ranks to check the split)");
  }
  fmt::print("{}\n", placement.has_routing_weight() ? ", weighted routing" : "");
}

}  // namespace

void add_validate_command(CLI::App& app) {
  auto flags = std::make_shared<ValidateFlags>();
  CLI::App* command = app.add_subcommand(
      "validate", "Check a placement file's structure and consistency, listing every problem");
  command->add_option("file", flags->path, "placement file (eplb .json, trtllm .yaml, ascend .json)")
      ->required();
  command->add_option("--experts", flags->num_experts, "expected logical experts per layer")
      ->check(CLI::PositiveNumber);
  command->add_option("--ranks", flags->num_ranks, "expected ranks (needed for trtllm YAML)")
      ->check(CLI::PositiveNumber);
  command->callback([flags] { run_validate(*flags); });
}

}  // namespace eplb::cli
