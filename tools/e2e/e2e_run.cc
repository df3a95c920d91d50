#include "e2e/e2e_run.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "e2e/expert_ffn.h"
#include "e2e/moe_layer.h"
#include "e2e/traffic.h"
#include "eplb/error.h"
#include "eplb/runtime/balancer.h"
#include "eplb/runtime/weight_store.h"

namespace eplb::e2e {
namespace {

size_t sz(int64_t v) { return static_cast<size_t>(v); }

// Checksums every local slot of every layer against the logical expert the committed placement
// puts there; returns the number that differ (empty slots, -1, are not checked).
int64_t check_weights(const Balancer& balancer, ExpertWeightStore& store,
                      const ExpertWeights& truth, int64_t* num_checked) {
  const Placement& placement = balancer.placement();
  const int slots_per_rank = placement.slots_per_rank();
  int64_t mismatches = 0;
  for (int l = 0; l < placement.num_layers; ++l) {
    const auto phy2log = placement.layer_phy2log(l);
    for (int i = 0; i < slots_per_rank; ++i) {
      const int32_t expert_idx = phy2log[sz(balancer.rank() * slots_per_rank + i)];
      if (expert_idx < 0) continue;
      ++*num_checked;
      if (checksum(store.slot_bytes(l, i)) != truth.checksum_of(l, expert_idx)) ++mismatches;
    }
  }
  return mismatches;
}

// Max/mean of `loads` [num_ranks]; 1 when empty.
double peak_to_avg(std::span<const double> loads) {
  double sum = 0;
  double max = 0;
  for (const double v : loads) {
    sum += v;
    max = std::max(max, v);
  }
  return sum > 0 ? max * static_cast<double>(loads.size()) / sum : 1.0;
}

}  // namespace

RankResult run_rank(const E2eOptions& options, Communicator& balancer_comm,
                    Communicator& data_comm) {
  const auto start = std::chrono::steady_clock::now();
  const SyntheticTraffic traffic(options.traffic);
  const int num_layers = options.traffic.num_layers;
  const int num_ranks = balancer_comm.num_ranks();
  const int rank = balancer_comm.rank();
  const int top_k = options.traffic.top_k;
  const int num_tokens = options.traffic.tokens_per_rank;
  const FfnShape shape = options.shape;

  BalancerConfig config;
  config.num_layers = num_layers;
  config.num_experts = traffic.num_experts();
  config.num_ranks = num_ranks;
  config.num_redundant_experts =
      options.num_redundant_experts < 0 ? num_ranks : options.num_redundant_experts;
  config.policy = parse_policy(options.policy);
  config.route_policy = parse_route_policy(options.route_policy);
  config.routing = parse_routing(options.routing);
  config.expert_heat_collection_interval = options.collect_interval;
  config.algorithm_execution_interval = options.algorithm_interval;
  config.layer_updates_per_iter = options.layer_updates;
  config.warmup_steps = options.warmup_steps;
  config.vote_timeout = std::chrono::milliseconds(options.timeout_ms);
  config.transfer_timeout_steps = options.transfer_timeout_steps;
  config.lost_expert_policy = parse_lost_expert_policy(options.lost_expert_policy);
  validate_balancer_config(config);
  if ((options.fail_rank >= 0) != (options.fail_at_step >= 0) || options.fail_rank >= num_ranks) {
    throw Error("--fail-rank " + std::to_string(options.fail_rank) + " --fail-at-step " +
                std::to_string(options.fail_at_step) + ": give both, a rank in [0, " +
                std::to_string(num_ranks) + ") and a step >= 0");
  }
  const int slots_per_rank = config.resolved_slots_per_rank();

  HostWeightStore store(num_layers, slots_per_rank, shape.num_bytes(), options.staging_areas);
  const ExpertWeights truth(shape, num_layers, config.num_experts, options.traffic.seed);

  std::vector<BalancerEvent> events;  // of the current hook
  BalancerCallbacks callbacks;
  callbacks.on_event = [&events](const BalancerEvent& event) { events.push_back(event); };
  callbacks.log = [rank, verbose = options.verbose](LogLevel level, const std::string& message) {
    if (verbose || level != LogLevel::kInfo) {
      std::fprintf(stderr, "eplb-e2e: rank %d: %s%s\n", rank,
                   level == LogLevel::kError     ? "error: "
                   : level == LogLevel::kWarning ? "warning: "
                                                 : "",
                   message.c_str());
    }
  };
  // The "checkpoint": experts whose every replica is on the failed rank are reloaded from the
  // true weights when a re-plan places them on live ranks.
  callbacks.load_expert = [&truth](int layer_idx, int expert_idx, std::span<std::byte> dst) {
    const auto bytes = truth.bytes(layer_idx, expert_idx);
    std::memcpy(dst.data(), bytes.data(), bytes.size());
  };
  if (options.fail_transfers_every > 0) {
    // Weight sends are the only exchange sends on the balancer's communicator; a refused one
    // fails its layer's transfer, which must keep the old weights and map on every rank.
    balancer_comm.set_fault_injector(
        [every = options.fail_transfers_every, count = 0](int, const SendOp&) mutable {
          return ++count % every != 0;
        });
  }
  Balancer balancer(config, balancer_comm, &store, callbacks);

  // Serving starts from the initial placement: every slot gets its logical expert's weights.
  RankResult result;
  result.num_experts = config.num_experts;
  result.num_slots = config.num_slots();
  for (int l = 0; l < num_layers; ++l) {
    const auto phy2log = balancer.placement().layer_phy2log(l);
    for (int i = 0; i < slots_per_rank; ++i) {
      const int32_t expert_idx = phy2log[sz(rank * slots_per_rank + i)];
      if (expert_idx >= 0) {
        const auto bytes = truth.bytes(l, expert_idx);
        std::memcpy(store.slot_bytes(l, i).data(), bytes.data(), bytes.size());
      }
    }
  }
  result.weight_mismatches += check_weights(balancer, store, truth, &result.weight_checks);

  ExpertParallelMoe moe(data_comm, shape, slots_per_rank,
                        std::chrono::milliseconds(options.timeout_ms));
  const auto hidden = sz(shape.hidden);
  std::vector<float> x(sz(num_tokens) * hidden);
  std::vector<float> out_ep(x.size());
  std::vector<float> out_ref(x.size());
  std::vector<int32_t> topk_ids(sz(num_tokens) * sz(top_k));
  std::vector<int32_t> topk_slots(topk_ids.size());
  std::vector<float> gates(topk_ids.size());
  std::vector<double> rank_entries(sz(num_ranks));
  bool any_commit = false;
  bool rebalanced = false;  // a cycle that committed layers has ended

  auto take_events = [&]() {
    bool committed = false;
    for (const BalancerEvent& event : events) {
      if (options.verbose) {
        std::fprintf(stderr, "eplb-e2e: rank %d: step %lld %s: %s layer %d cycle %lld\n", rank,
                     static_cast<long long>(event.step),
                     event.in_after_forward ? "after_forward" : "before_forward",
                     balancer_event_name(event.kind), event.layer_idx,
                     static_cast<long long>(event.cycle_idx));
      }
      if (event.kind == BalancerEventKind::kLayerCommitted) {
        committed = true;
        ++result.commits;
      } else if (event.kind == BalancerEventKind::kLayerFailed) {
        ++result.layer_failures;
      } else if (event.kind == BalancerEventKind::kCycleEnded) {
        const CycleMetrics cycle = balancer.metrics().last_cycle;
        if (cycle.layers_committed > 0) {
          result.imbalance_before_sum += cycle.imbalance_before_mean;
          result.imbalance_after_sum += cycle.imbalance_after_mean;
          ++result.rebalance_cycles;
          rebalanced = true;
        }
      }
    }
    events.clear();
    return committed;
  };

  const bool fails = options.fail_rank >= 0;
  for (int64_t step = 0; step < options.steps; ++step) {
    if (fails && step == options.fail_at_step) {
      // Every rank, the same rank, between the same hooks (after_forward(step - 1)).
      balancer.mask_ranks({options.fail_rank});
      result.lost_at_mask = balancer.lost_experts();
    }
    balancer.before_forward(step);
    if (take_events()) {
      // Weights checksummed after every commit (all layers: the others must be untouched).
      any_commit = true;
      result.weight_mismatches += check_weights(balancer, store, truth, &result.weight_checks);
    }
    traffic.embed(step, rank, shape.hidden, x);
    double routed = 0;
    for (int l = 0; l < num_layers; ++l) {
      traffic.route(step, l, rank, topk_ids, gates);
      balancer.recorder().record_topk(l, topk_ids);
      balancer.route(l, topk_ids, top_k, topk_slots, static_cast<uint64_t>(step));
      const MoeInput in{.num_tokens = num_tokens,
                        .top_k = top_k,
                        .x = x,
                        .topk_ids = topk_ids,
                        .topk_slots = topk_slots,
                        .gates = gates};
      moe.forward(step, l, in, store, out_ep, rank_entries);
      reference_moe(truth, l, in, out_ref);
      ++result.output_checks;
      if (std::memcmp(out_ep.data(), out_ref.data(), out_ep.size() * sizeof(float)) != 0) {
        ++result.output_mismatches;
      }
      routed += peak_to_avg(rank_entries);
      if (fails && step >= options.fail_at_step) {
        result.failed_rank_entries += static_cast<int64_t>(rank_entries[sz(options.fail_rank)]);
      }
      // Residual stream into the next layer (from the reference, so that one mismatch is
      // counted once, not again in every later layer).
      for (size_t i = 0; i < x.size(); ++i) x[i] = x[i] + out_ref[i];
    }
    routed /= num_layers;
    if (!any_commit) {
      result.routed_before_sum += routed;
      ++result.routed_before_steps;
    } else if (rebalanced) {
      result.routed_after_sum += routed;
      ++result.routed_after_steps;
    }
    balancer.after_forward(step);
    take_events();
  }
  result.weight_mismatches += check_weights(balancer, store, truth, &result.weight_checks);
  result.metrics = balancer.metrics();
  if (fails) result.lost_at_end = balancer.lost_experts();
  result.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace eplb::e2e
