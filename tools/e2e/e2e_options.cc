#include "e2e/e2e_options.h"

#include <CLI/CLI.hpp>

#include "eplb/error.h"

namespace eplb::e2e {

void add_e2e_flags(CLI::App& app, E2eOptions& options) {
  app.add_option("--steps", options.steps, "forward steps")->check(CLI::PositiveNumber);
  app.add_option("--layers", options.traffic.num_layers, "MoE layers")->check(CLI::PositiveNumber);
  app.add_option("--experts", options.traffic.num_experts,
                 "logical experts per layer (taken from --trace when given)")
      ->check(CLI::PositiveNumber);
  app.add_option("--redundant", options.num_redundant_experts,
                 "redundant slots per layer; -1: one per rank");
  app.add_option("--topk", options.traffic.top_k, "experts per token")->check(CLI::PositiveNumber);
  app.add_option("--tokens", options.traffic.tokens_per_rank, "tokens per rank per layer per step")
      ->check(CLI::PositiveNumber);
  app.add_option("--hidden", options.shape.hidden, "model dimension")->check(CLI::Range(1, 4096));
  app.add_option("--ffn", options.shape.ffn, "expert intermediate dimension")
      ->check(CLI::Range(1, 256));
  app.add_option("--zipf", options.traffic.zipf_exponent, "Zipf exponent of expert popularity");
  app.add_option("--drift-every", options.traffic.drift_every,
                 "steps between moves of the hot experts")
      ->check(CLI::PositiveNumber);
  app.add_option("--trace", options.traffic.trace_path,
                 "replay a [steps, layers, experts] count trace (.npy) instead of Zipf");
  app.add_option("--seed", options.traffic.seed, "traffic and weight seed");
  app.add_option("--collect-interval", options.collect_interval,
                 "expert_heat_collection_interval (steps of load collection)");
  app.add_option("--algorithm-interval", options.algorithm_interval,
                 "algorithm_execution_interval (steps from gather to plan take)");
  app.add_option("--layer-updates", options.layer_updates,
                 "layer_updates_per_iter (layers moved per step)");
  app.add_option("--warmup", options.warmup_steps, "steps before the first load collection");
  app.add_option("--staging-areas", options.staging_areas, "layers of staging buffers per rank");
  app.add_option("--policy", options.policy, "planner: balanced | deepseek | greedy");
  app.add_option("--route-policy", options.route_policy,
                 "log2phy: round_robin | local_first | weighted");
  app.add_option("--routing", options.routing,
                 "replica shares: even | weighted (planned per replica; needs --route-policy "
                 "weighted)");
  app.add_option("--timeout-ms", options.timeout_ms,
                 "bound of each data-path exchange and balancer vote")
      ->check(CLI::PositiveNumber);
  app.add_option("--transfer-timeout-steps", options.transfer_timeout_steps,
                 "steps after which a layer's unfinished weight transfers are given up");
  app.add_option("--fail-transfers-every", options.fail_transfers_every,
                 "fault injection: refuse every n-th weight send of each rank (0: none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--fail-rank", options.fail_rank,
                 "lost rank: masked at --fail-at-step (stays in the job, gets no expert work)");
  app.add_option("--fail-at-step", options.fail_at_step,
                 "step before which every rank masks --fail-rank");
  app.add_option("--lost-expert-policy", options.lost_expert_policy,
                 "experts whose last replica is on the failed rank: refuse | restore "
                 "(re-placed on live ranks, weights reloaded)");
  app.add_flag("--json", options.json, "print one JSON line (rank 0)");
  app.add_flag("--verbose", options.verbose, "print balancer events and logs (every rank)");
}

RoutePolicy parse_route_policy(const std::string& name) {
  for (const RoutePolicy policy :
       {RoutePolicy::kRoundRobin, RoutePolicy::kLocalFirst, RoutePolicy::kWeighted}) {
    if (name == route_policy_name(policy)) {
      return policy;
    }
  }
  throw Error("--route-policy " + name + ": expected round_robin, local_first or weighted");
}

}  // namespace eplb::e2e
