// The subcommands of the `eplb` tool. Each add_*_command registers its flags on `app` and
// sets a callback that runs the command; errors propagate as eplb::Error to main().
#pragma once

#include <CLI/CLI.hpp>

namespace eplb::cli {

void add_report_command(CLI::App& app);
void add_plan_command(CLI::App& app);
void add_validate_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_simulate_command(CLI::App& app);
void add_synth_command(CLI::App& app);
void add_tune_command(CLI::App& app);

}  // namespace eplb::cli
