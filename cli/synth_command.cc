// eplb synth: writes a deterministic synthetic [steps, layers, experts] int64 .npy load trace
// (skew, expert groups, drift, regime changes; see eplb/sim/synth.h for the model).
#include <fmt/format.h>

#include <memory>

#include "commands.h"
#include "eplb/file_util.h"
#include "eplb/sim/synth.h"
#include "eplb/sim/trace.h"

namespace eplb::cli {
namespace {

struct SynthFlags {
  std::string out;
  sim::SynthOptions options;
};

void run_synth(const SynthFlags& flags) {
  const sim::SynthOptions& o = flags.options;
  const std::vector<int64_t> values = sim::synth_trace(o);
  const int64_t shape[] = {o.num_steps, o.num_layers, o.num_experts};
  write_file_atomic(flags.out, sim::encode_npy_int64(values, shape));
  fmt::print(stderr, "eplb synth: wrote {} ({} steps x {} layers x {} experts, int64)\n", flags.out,
             o.num_steps, o.num_layers, o.num_experts);
}

}  // namespace

void add_synth_command(CLI::App& app) {
  auto flags = std::make_shared<SynthFlags>();
  sim::SynthOptions& o = flags->options;
  CLI::App* command = app.add_subcommand(
      "synth", "Write a deterministic synthetic [steps, layers, experts] .npy load trace");
  command->add_option("--out", flags->out, "output .npy (written atomically)")->required();
  command->add_option("--steps", o.num_steps, "steps")->required();
  command->add_option("--layers", o.num_layers, "MoE layers")->required();
  command->add_option("--experts", o.num_experts, "logical experts per layer")->required();
  command->add_option("--top-k", o.top_k, "experts per token")->capture_default_str();
  command->add_option("--tokens", o.tokens, "tokens per step")->capture_default_str();
  command->add_option("--skew", o.skew, "Zipf exponent of expert popularity (0: uniform)")
      ->capture_default_str();
  command
      ->add_option("--groups", o.num_groups,
                   "expert groups, themselves Zipf-skewed (1: no group structure)")
      ->capture_default_str();
  command
      ->add_option("--drift", o.drift,
                   "per-step random-walk step of each expert's log-popularity (0: none)")
      ->capture_default_str();
  command
      ->add_option("--regime-every", o.regime_every,
                   "steps between abrupt popularity reshuffles (0: never)")
      ->capture_default_str();
  command->add_option("--seed", o.seed, "seed (same flags and seed -> same bytes)")
      ->capture_default_str();
  command->callback([flags] { run_synth(*flags); });
}

}  // namespace eplb::cli
