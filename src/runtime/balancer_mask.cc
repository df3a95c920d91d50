// Balancer: masked ranks (mask_ranks / unmask_ranks), the replica tables without them, and the
// tokens dropped for experts left without a live replica.
#include <algorithm>
#include <string>

#include "eplb/error.h"
#include "runtime/balancer_impl.h"
#include "runtime/rank_mask.h"

namespace eplb {

using runtime::sz;

void Balancer::Impl::rebuild_table(int l) {
  const auto row = placement.layer_phy2log(l);
  const std::vector<double> share = runtime::live_shares(
      row, masked, slots_per_rank, config.num_experts, placement.layer_routing_weight(l));
  tables[sz(l)] = build_replica_table(row, config.num_experts, slots_per_rank, share);
  num_lost -= static_cast<int>(lost[sz(l)].size());
  lost[sz(l)] = runtime::lost_experts(row, masked, slots_per_rank, config.num_experts);
  num_lost += static_cast<int>(lost[sz(l)].size());
}

std::vector<int> Balancer::Impl::masked_list() const {
  std::vector<int> ranks;
  for (int r = 0; r < num_ranks; ++r) {
    if (masked[sz(r)] != 0) ranks.push_back(r);
  }
  return ranks;
}

void Balancer::Impl::count_dropped(int layer_idx, std::span<const int32_t> topk_ids,
                                   std::span<const int32_t> topk_slots) const {
  if (lost[sz(layer_idx)].empty()) return;
  for (size_t i = 0; i < topk_ids.size(); ++i) {
    dropped_tokens += topk_slots[i] < 0 && topk_ids[i] >= 0 && topk_ids[i] < config.num_experts;
  }
}

void Balancer::Impl::set_mask(std::vector<char> new_masked) {
  masked = std::move(new_masked);
  ++mask_epoch;
  for (int l = 0; l < config.num_layers; ++l) rebuild_table(l);
  const std::string ranks = runtime::join_ranks(masked_list());
  log(LogLevel::kWarning, "masked ranks now: " + (ranks.empty() ? std::string("none") : ranks) +
                              (num_lost > 0 ? "; experts without a live replica (tokens "
                                              "dropped until the next re-plan): " +
                                                  runtime::describe_lost(lost)
                                            : std::string()));
  if (phase == BalancerPhase::kStatic) return;
  // Layers moving under the old mask are given up together on every rank; the plan in
  // progress is discarded at its vote (discard_stale_plan); a new cycle starts soon.
  if (phase == BalancerPhase::kMoving) {
    for (runtime::InFlightLayer& layer : in_flight) {
      const int l = result->layers[layer.plan_idx].layer_idx;
      layer.handle.reset();
      free_areas.push_back(layer.area_idx);
      ++cycle.layers_failed;
      log(LogLevel::kInfo, "cycle " + std::to_string(cycle_idx - 1) + ": layer " +
                               std::to_string(l) + " given up: the masked ranks changed");
      emit(BalancerEventKind::kLayerFailed, last_step, !in_step, l);
    }
    in_flight.clear();
    next_layer = result->layers.size();
  }
  replan_soon = true;
  if (phase == BalancerPhase::kCollecting) next_gather_step = std::min(next_gather_step, last_step);
}

void Balancer::mask_ranks(const std::vector<int>& ranks) {
  Impl& m = *impl_;
  std::vector<char> next = m.masked;
  for (int r : ranks) {
    if (r < 0 || r >= m.num_ranks) {
      throw Error("Balancer::mask_ranks: rank " + std::to_string(r) + " out of range [0, " +
                  std::to_string(m.num_ranks) + ")");
    }
    next[sz(r)] = 1;
  }
  if (std::all_of(next.begin(), next.end(), [](char c) { return c != 0; })) {
    throw Error("Balancer::mask_ranks(" + runtime::join_ranks(ranks) + "): would mask all " +
                std::to_string(m.num_ranks) + " ranks (at least one must serve)");
  }
  if (m.config.lost_expert_policy == LostExpertPolicy::kRefuse) {
    std::vector<std::vector<int32_t>> newly_lost(sz(m.config.num_layers));
    bool any = false;
    for (int l = 0; l < m.config.num_layers; ++l) {
      for (int32_t e : runtime::lost_experts(m.placement.layer_phy2log(l), next, m.slots_per_rank,
                                             m.config.num_experts)) {
        if (std::binary_search(m.lost[sz(l)].begin(), m.lost[sz(l)].end(), e)) continue;
        newly_lost[sz(l)].push_back(e);
        any = true;
      }
    }
    if (any) {
      throw Error("Balancer::mask_ranks(" + runtime::join_ranks(ranks) +
                  "): refused (lost_expert_policy refuse): the last live replica of these "
                  "experts is on a masked rank: " +
                  runtime::describe_lost(newly_lost));
    }
  }
  if (next == m.masked) return;
  m.set_mask(std::move(next));
}

void Balancer::unmask_ranks(const std::vector<int>& ranks) {
  Impl& m = *impl_;
  std::vector<char> next = m.masked;
  for (int r : ranks) {
    if (r < 0 || r >= m.num_ranks) {
      throw Error("Balancer::unmask_ranks: rank " + std::to_string(r) + " out of range [0, " +
                  std::to_string(m.num_ranks) + ")");
    }
    next[sz(r)] = 0;
  }
  if (next == m.masked) return;
  m.set_mask(std::move(next));
}

std::vector<int> Balancer::masked_ranks() const { return impl_->masked_list(); }

const std::vector<std::vector<int32_t>>& Balancer::lost_experts() const { return impl_->lost; }

}  // namespace eplb
