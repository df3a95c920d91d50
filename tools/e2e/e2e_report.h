// The summary of an eplb-e2e run over all ranks, and its JSON line / text form.
#pragma once

#include <string>

#include "e2e/e2e_options.h"
#include "e2e/e2e_run.h"
#include "eplb/comm.h"

namespace eplb::e2e {

struct E2eSummary {
  int ranks = 0;
  int64_t output_checks = 0;  // summed over ranks
  int64_t output_mismatches = 0;
  int64_t weight_checks = 0;
  int64_t weight_mismatches = 0;
  int64_t dropped_tokens = 0;  // routing entries with no live replica (--fail-rank), all ranks
  double hook_us_p50 = 0;  // max over ranks
  double hook_us_p99 = 0;
  double hook_us_max = 0;
  double wall_s = 0;  // max over ranks
  RankResult local;   // this rank's result (the balancer figures agree on all ranks)

  bool passed() const { return output_mismatches == 0 && weight_mismatches == 0; }
};

// Collective over `comm`: every rank gets the same totals.
E2eSummary summarize(const RankResult& local, Communicator& comm);

// One JSON line (no newline): ranks, layers, steps, rebalances, moved_experts, bytes_moved,
// imbalance_before, imbalance_after, hook_us_p99, output_mismatches, weight_mismatches, ...;
// with --fail-rank also fail_rank, fail_at_step, dropped_tokens, failed_rank_entries,
// lost_experts_at_fail and uncovered_experts ([{"layer", "experts"}]), reloaded_experts.
std::string format_json(const E2eSummary& summary, const E2eOptions& options);

// A few human-readable lines.
std::string format_text(const E2eSummary& summary, const E2eOptions& options);

}  // namespace eplb::e2e
