// Flags of eplb-e2e (see docs/e2e.md). Defaults give several rebalances in 60 steps on 4 ranks:
// 4 layers x 16 experts, 4 redundant slots (5 slots per rank), a Zipf hot set that moves every
// 20 steps, loads collected for 8 steps, plan taken 2 steps after the gather, 1 layer per step.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "e2e/expert_ffn.h"
#include "e2e/traffic.h"
#include "eplb/planner.h"
#include "eplb/token_router.h"

namespace CLI {
class App;
}

namespace eplb::e2e {

struct E2eOptions {
  int steps = 60;
  TrafficOptions traffic;
  FfnShape shape;
  int num_redundant_experts = -1;  // -1: one per rank
  int collect_interval = 8;        // expert_heat_collection_interval
  int algorithm_interval = 2;      // algorithm_execution_interval
  int layer_updates = 1;           // layer_updates_per_iter
  int warmup_steps = 0;
  int staging_areas = 2;
  std::string policy = "balanced";
  std::string route_policy = "round_robin";
  std::string routing = "even";  // even | weighted (planned shares; needs --route-policy weighted)
  int64_t timeout_ms = 60000;    // data-path exchanges and balancer votes
  int transfer_timeout_steps = 8;  // a layer whose weights have not arrived by then is given up
  int fail_transfers_every = 0;    // > 0: every rank's fault injector refuses every n-th send
  // Lost rank: before step fail_at_step every rank calls mask_ranks({fail_rank}); the rank
  // keeps running (hooks, collectives) but gets no expert work. -1: no failure.
  int fail_rank = -1;
  int64_t fail_at_step = -1;
  std::string lost_expert_policy = "restore";  // refuse | restore (reloaded from the truth)
  bool json = false;
  bool verbose = false;
};

// Registers every flag on `app`, bound to `options`.
void add_e2e_flags(CLI::App& app, E2eOptions& options);

// "round_robin" | "local_first" | "weighted"; throws eplb::Error naming --route-policy.
RoutePolicy parse_route_policy(const std::string& name);

}  // namespace eplb::e2e
