// Metrics of the online balancer: one record per cycle and the running totals, as a struct
// and in Prometheus' text exposition format.
//
// Imbalance is peak/avg = max/mean of the per-rank token load of a layer (vllm-ascend's
// balance ratio), under the loads gathered for the cycle; "mean" and "max" are over the layers
// that have data. Experts and bytes moved are over all ranks (the same figure on every rank).
#pragma once

#include <cstdint>
#include <string>

namespace eplb {

struct CycleMetrics {
  int64_t cycle_idx = -1;            // 0-based; -1 while no cycle has ended
  int64_t gather_step = -1;          // step whose after_forward started the load gather
  int64_t take_step = -1;            // step whose before_forward took the plan; -1 if never taken
  int64_t end_step = -1;             // step whose before_forward ended the cycle
  double imbalance_before_mean = 0;  // deployed placement
  double imbalance_before_max = 0;
  double imbalance_after_mean = 0;  // placement after the cycle (failed layers keep the old)
  double imbalance_after_max = 0;
  int layers_changed = 0;  // layers whose plan differs from the deployed placement
  int layers_committed = 0;
  int layers_failed = 0;      // transfers failed or timed out: old weights and map kept
  int64_t moved_experts = 0;  // slot copies of committed layers (local and remote)
  int64_t bytes_moved = 0;    // bytes of remote copies of committed layers
  double plan_ms = 0;         // planner worker time (steady clock)
  double transfer_ms = 0;     // first post to last commit/failure
  // before_forward + after_forward time per step, from the gather to the end of the cycle;
  // quantiles within 3% (log-linear histogram), the maximum exact.
  double hook_us_p50 = 0;
  double hook_us_p99 = 0;
  double hook_us_max = 0;
  bool planner_failed = false;  // the planner threw (on some rank): placement kept
  bool plan_late = false;       // not ready at the earliest take step
  bool planner_timed_out = false;  // abandoned at planner_timeout_steps: placement kept
};

struct BalancerMetrics {
  int64_t steps = 0;       // after_forward calls
  int64_t cycles = 0;      // ended cycles (including failed ones)
  int64_t rebalances = 0;  // cycles that committed at least one layer
  int64_t moved_experts = 0;
  int64_t bytes_moved = 0;
  int64_t planner_failures = 0;
  int64_t late_plans = 0;
  int64_t transfer_failures = 0;  // layers given up
  int64_t record_failures = 0;    // expert_map_record_path writes that failed
  int64_t planner_timeouts = 0;   // cycles whose plan was abandoned by the watchdog
  // Lost ranks (Balancer::mask_ranks): routing entries of this rank's route() calls that found
  // no live replica (sent to slot -1), and experts reloaded into slots through
  // BalancerCallbacks::load_expert (all ranks).
  int64_t dropped_tokens = 0;
  int64_t reloaded_experts = 0;
  int masked_ranks = 0;  // ranks masked now
  int lost_experts = 0;  // (layer, expert) pairs with no live replica now
  // Since construction; quantiles within 3% (log-linear histogram), the maximum exact.
  double hook_us_p50 = 0;
  double hook_us_p99 = 0;
  double hook_us_max = 0;
  CycleMetrics last_cycle;
};

// Prometheus text exposition (version 0.0.4): counters `eplb_*_total`, gauges of the last
// cycle and the hook-time quantiles, each with HELP/TYPE lines and the label rank="<rank_idx>".
std::string format_prometheus(const BalancerMetrics& metrics, int rank_idx);

}  // namespace eplb
