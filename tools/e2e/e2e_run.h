// One rank's run of the end-to-end demo: serve `steps` forward steps of a small MoE model
// through the online balancer, checking every layer output against the no-EP reference and
// every slot's weights against their logical expert's checksum after every commit.
#pragma once

#include <cstdint>
#include <vector>

#include "e2e/e2e_options.h"
#include "eplb/comm.h"
#include "eplb/runtime/metrics.h"

namespace eplb::e2e {

struct RankResult {
  int num_experts = 0;
  int num_slots = 0;
  int64_t output_checks = 0;      // (step, layer) outputs of this rank's tokens compared
  int64_t output_mismatches = 0;  // ... that differed in any bit
  int64_t weight_checks = 0;      // slot checksums compared
  int64_t weight_mismatches = 0;  // ... that differed from the slot's logical expert
  int64_t commits = 0;            // layer commits seen (kLayerCommitted)
  int64_t layer_failures = 0;     // layers given up (kLayerFailed)
  // --fail-rank: entries routed to the failed rank from --fail-at-step on (all ranks' tokens,
  // the same figure on every rank), and the experts it held the last live replica of at the
  // mask ([num_layers], ascending); the experts still without a live replica at the end.
  int64_t failed_rank_entries = 0;
  std::vector<std::vector<int32_t>> lost_at_mask;
  std::vector<std::vector<int32_t>> lost_at_end;
  BalancerMetrics metrics;        // the balancer's, at the end
  // Balancer-reported peak/avg (mean over layers) of the cycles that committed layers:
  // under the deployed placement ("before") and the new one ("after"), summed over them.
  double imbalance_before_sum = 0;
  double imbalance_after_sum = 0;
  int rebalance_cycles = 0;
  // Peak/avg of the entries each rank computed, measured on the data path (mean over layers
  // per step), summed over the steps before the first commit and over the steps after the first
  // rebalancing cycle ended.
  double routed_before_sum = 0;
  int64_t routed_before_steps = 0;
  double routed_after_sum = 0;
  int64_t routed_after_steps = 0;
  double wall_s = 0;
};

// Collective over both communicators (the same ranks): `balancer_comm` carries the balancer's
// load gathers, votes and weight transfers, `data_comm` the tokens. Throws eplb::Error for bad
// options or a failed data-path exchange.
RankResult run_rank(const E2eOptions& options, Communicator& balancer_comm,
                    Communicator& data_comm);

}  // namespace eplb::e2e
