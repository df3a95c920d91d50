#include "e2e/e2e_report.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "eplb/error.h"

namespace eplb::e2e {
namespace {

// The per-rank figures that differ between ranks, in all-gather order.
enum Field {
  kOutputChecks,
  kOutputMismatches,
  kWeightChecks,
  kWeightMismatches,
  kDroppedTokens,
  kHookP50,
  kHookP99,
  kHookMax,
  kWallS,
  kNumFields
};

double mean_or_zero(double sum, int64_t count) {
  return count > 0 ? sum / static_cast<double>(count) : 0.0;
}

// [{"layer": l, "experts": [...]}] for the non-empty rows of `lost` [num_layers].
nlohmann::ordered_json lost_json(const std::vector<std::vector<int32_t>>& lost) {
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (size_t l = 0; l < lost.size(); ++l) {
    if (lost[l].empty()) continue;
    nlohmann::ordered_json layer;
    layer["layer"] = l;
    layer["experts"] = lost[l];
    layers.push_back(layer);
  }
  return layers;
}

}  // namespace

E2eSummary summarize(const RankResult& local, Communicator& comm) {
  std::vector<double> mine(kNumFields);
  mine[kOutputChecks] = static_cast<double>(local.output_checks);
  mine[kOutputMismatches] = static_cast<double>(local.output_mismatches);
  mine[kWeightChecks] = static_cast<double>(local.weight_checks);
  mine[kWeightMismatches] = static_cast<double>(local.weight_mismatches);
  mine[kDroppedTokens] = static_cast<double>(local.metrics.dropped_tokens);
  mine[kHookP50] = local.metrics.hook_us_p50;
  mine[kHookP99] = local.metrics.hook_us_p99;
  mine[kHookMax] = local.metrics.hook_us_max;
  mine[kWallS] = local.wall_s;
  std::vector<double> all(static_cast<size_t>(kNumFields) * static_cast<size_t>(comm.num_ranks()));
  auto handle = comm.all_gather(mine, all);
  const CommState state = handle->wait(std::chrono::milliseconds(60000));
  if (state != CommState::kDone) {
    throw Error(std::string("summary all-gather: ") + comm_state_name(state) + ": " +
                handle->error());
  }
  E2eSummary summary;
  summary.ranks = comm.num_ranks();
  summary.local = local;
  for (int r = 0; r < comm.num_ranks(); ++r) {
    const double* row = all.data() + static_cast<size_t>(r) * kNumFields;
    summary.output_checks += static_cast<int64_t>(row[kOutputChecks]);
    summary.output_mismatches += static_cast<int64_t>(row[kOutputMismatches]);
    summary.weight_checks += static_cast<int64_t>(row[kWeightChecks]);
    summary.weight_mismatches += static_cast<int64_t>(row[kWeightMismatches]);
    summary.dropped_tokens += static_cast<int64_t>(row[kDroppedTokens]);
    summary.hook_us_p50 = std::max(summary.hook_us_p50, row[kHookP50]);
    summary.hook_us_p99 = std::max(summary.hook_us_p99, row[kHookP99]);
    summary.hook_us_max = std::max(summary.hook_us_max, row[kHookMax]);
    summary.wall_s = std::max(summary.wall_s, row[kWallS]);
  }
  return summary;
}

std::string format_json(const E2eSummary& summary, const E2eOptions& options) {
  const RankResult& local = summary.local;
  const BalancerMetrics& m = local.metrics;
  nlohmann::ordered_json json;
  json["ranks"] = summary.ranks;
  json["layers"] = options.traffic.num_layers;
  json["experts"] = local.num_experts;
  json["slots"] = local.num_slots;
  json["steps"] = options.steps;
  json["tokens_per_rank"] = options.traffic.tokens_per_rank;
  json["top_k"] = options.traffic.top_k;
  json["cycles"] = m.cycles;
  json["rebalances"] = m.rebalances;
  json["moved_experts"] = m.moved_experts;
  json["bytes_moved"] = m.bytes_moved;
  json["imbalance_before"] = mean_or_zero(local.imbalance_before_sum, local.rebalance_cycles);
  json["imbalance_after"] = mean_or_zero(local.imbalance_after_sum, local.rebalance_cycles);
  json["routed_peak_to_avg_before"] =
      mean_or_zero(local.routed_before_sum, local.routed_before_steps);
  json["routed_peak_to_avg_after"] = mean_or_zero(local.routed_after_sum, local.routed_after_steps);
  json["hook_us_p50"] = summary.hook_us_p50;
  json["hook_us_p99"] = summary.hook_us_p99;
  json["hook_us_max"] = summary.hook_us_max;
  json["planner_failures"] = m.planner_failures;
  json["late_plans"] = m.late_plans;
  json["transfer_failures"] = m.transfer_failures;
  if (options.fail_rank >= 0) {
    json["fail_rank"] = options.fail_rank;
    json["fail_at_step"] = options.fail_at_step;
    json["lost_expert_policy"] = options.lost_expert_policy;
    json["dropped_tokens"] = summary.dropped_tokens;
    json["failed_rank_entries"] = local.failed_rank_entries;
    json["lost_experts_at_fail"] = lost_json(local.lost_at_mask);
    json["uncovered_experts"] = lost_json(local.lost_at_end);
    json["reloaded_experts"] = m.reloaded_experts;
  }
  json["output_checks"] = summary.output_checks;
  json["output_mismatches"] = summary.output_mismatches;
  json["weight_checks"] = summary.weight_checks;
  json["weight_mismatches"] = summary.weight_mismatches;
  json["wall_s"] = summary.wall_s;
  return json.dump();
}

std::string format_text(const E2eSummary& summary, const E2eOptions& options) {
  const RankResult& local = summary.local;
  const BalancerMetrics& m = local.metrics;
  char text[1024];
  std::snprintf(
      text, sizeof(text),
      "eplb-e2e: %d ranks, %d layers x %d experts in %d slots, %d steps of %d tokens/rank, top-%d\n"
      "  rebalances %lld of %lld cycles, %lld experts moved (%lld bytes over the network)\n"
      "  peak/avg (balancer) %.3f -> %.3f, routed %.3f -> %.3f\n"
      "  hook time p50 %.1f us, p99 %.1f us, max %.1f us (max over ranks)\n"
      "  outputs: %lld checked, %lld mismatches; weights: %lld slot checksums, %lld mismatches\n"
      "  %s\n",
      summary.ranks, options.traffic.num_layers, local.num_experts, local.num_slots, options.steps,
      options.traffic.tokens_per_rank, options.traffic.top_k, static_cast<long long>(m.rebalances),
      static_cast<long long>(m.cycles), static_cast<long long>(m.moved_experts),
      static_cast<long long>(m.bytes_moved),
      mean_or_zero(local.imbalance_before_sum, local.rebalance_cycles),
      mean_or_zero(local.imbalance_after_sum, local.rebalance_cycles),
      mean_or_zero(local.routed_before_sum, local.routed_before_steps),
      mean_or_zero(local.routed_after_sum, local.routed_after_steps), summary.hook_us_p50,
      summary.hook_us_p99, summary.hook_us_max, static_cast<long long>(summary.output_checks),
      static_cast<long long>(summary.output_mismatches),
      static_cast<long long>(summary.weight_checks),
      static_cast<long long>(summary.weight_mismatches),
      summary.passed() ? "PASS: bit-identical to the no-EP reference at every step"
                       : "FAIL: outputs or weights differ from the reference");
  std::string out = text;
  if (options.fail_rank >= 0) {
    size_t lost = 0;
    for (const auto& layer : local.lost_at_mask) lost += layer.size();
    std::snprintf(text, sizeof(text),
                  "  rank %d masked at step %lld: %zu layer expert(s) lost their last replica, "
                  "%lld reloaded, %lld tokens dropped, %lld entries sent to it after\n",
                  options.fail_rank, static_cast<long long>(options.fail_at_step), lost,
                  static_cast<long long>(m.reloaded_experts),
                  static_cast<long long>(summary.dropped_tokens),
                  static_cast<long long>(local.failed_rank_entries));
    out += text;
  }
  return out;
}

}  // namespace eplb::e2e
