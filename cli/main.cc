// eplb: the command-line tool of the expert-parallel load balancer.
//
//   eplb report   loads -> imbalance per layer and averaged
//   eplb plan     loads -> balanced placement file (eplb JSON, TensorRT-LLM YAML, vllm-ascend JSON)
//   eplb validate placement file -> every problem with its location
//   eplb convert  placement file -> another format
//   eplb simulate load trace -> none/static/online/oracle balancing compared
//   eplb synth    options -> synthetic load trace (.npy)
//   eplb tune     load trace -> online knobs recommended, with vllm-ascend / TensorRT-LLM config
//
// Every failure is one line on stderr ("eplb: error: <file>: <field>: <problem>") and a
// non-zero exit status: 1 for bad input, 2 for bad usage (CLI11's own messages).
#include <fmt/format.h>

#include <cstdio>
#include <exception>

#include "commands.h"
#include "eplb/error.h"
#include "eplb_build_info.h"

namespace {

std::string version_text() {
  return fmt::format("eplb {} ({} build; CUDA kernels: {}; NCCL: {}; MPI: {})",
                     EPLB_VERSION_STRING, EPLB_BUILD_TYPE, EPLB_HAS_CUDA, EPLB_HAS_NCCL,
                     EPLB_HAS_MPI);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"eplb: expert-parallel load balancer for Mixture-of-Experts serving", "eplb"};
  app.set_version_flag("--version", version_text());
  app.require_subcommand(1);
  eplb::cli::add_report_command(app);
  eplb::cli::add_plan_command(app);
  eplb::cli::add_validate_command(app);
  eplb::cli::add_convert_command(app);
  eplb::cli::add_simulate_command(app);
  eplb::cli::add_synth_command(app);
  eplb::cli::add_tune_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "eplb: error: {}\n", e.what());
    return 2;
  } catch (const eplb::Error& e) {
    fmt::print(stderr, "eplb: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "eplb: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
