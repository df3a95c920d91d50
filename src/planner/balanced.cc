#include "planner/balanced.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "planner/duplicates.h"
#include "planner/rank_load.h"
#include "planner/refine.h"
#include "planner/replicate.h"

namespace eplb::planner {
namespace {

constexpr double kNoLimit = std::numeric_limits<double>::infinity();
// Safety cap on refinement swaps, per item; refinement stops far earlier in practice.
constexpr int kMaxSwapsPerItem = 4;
// Pair swaps polish a node until its hottest rank is within this margin of the floor (the
// mean rank load of the heaviest node), or below DeepSeek's hottest when that is lower:
// closer, they cost more than they gain.
constexpr double kPolishMargin = 1e-3;
// Rank loads summed in another order differ in the last bits: within this relative margin
// two hottest ranks count as equal (so equal multisets never trigger the fallback).
constexpr double kRoundingMargin = 1e-12;

size_t sz(int32_t n) { return static_cast<size_t>(n); }

}  // namespace

void BalancedPlanner::plan(std::span<const double> expert_loads, const PlanOptions& options,
                           std::span<int32_t> phy2log) {
  const auto num_experts = static_cast<int32_t>(expert_loads.size());
  int32_t num_groups = options.num_groups;
  int32_t num_nodes = options.num_nodes;
  if (num_groups % num_nodes != 0) {  // DeepSeek's rule: global policy
    num_groups = 1;
    num_nodes = 1;
  }
  const int32_t ranks_per_node = options.num_ranks / num_nodes;
  const int32_t slots_per_node = options.num_slots / num_nodes;
  const int32_t experts_per_node = num_experts / num_nodes;
  const int32_t group_size = num_experts / num_groups;
  const int32_t groups_per_node = num_groups / num_nodes;

  // DeepSeek's placement: the bar to clear (and the polishing target).
  deepseek_phy2log_.resize(phy2log.size());
  deepseek_.plan(expert_loads, options, deepseek_phy2log_);
  deepseek_max_ =
      max_rank_load(expert_loads, deepseek_phy2log_, options.num_ranks, replica_count_, rank_load_);

  // Groups onto nodes: longest first, then swaps; node_experts_ lists each node's experts.
  node_experts_.resize(sz(num_experts));
  if (num_nodes == 1) {
    for (int32_t e = 0; e < num_experts; ++e) node_experts_[sz(e)] = e;
  } else {
    runs_.resize(sz(num_groups));
    for (int32_t g = 0; g < num_groups; ++g) {
      double sum = 0;
      for (int32_t j = 0; j < group_size; ++j) sum += expert_loads[sz(g * group_size + j)];
      runs_[sz(g)] = {sum, g, 1};
    }
    sort_runs(runs_, run_order_, sorted_runs_);
    packing_.reset(num_nodes, groups_per_node);
    lpt_pack(runs_, /*spread=*/false, packing_, lpt_);
    refine_swaps(packing_, kMaxSwapsPerItem * num_groups);
    for (int32_t k = 0; k < num_groups; ++k) {
      const int32_t g = packing_.key[sz(k)];
      for (int32_t j = 0; j < group_size; ++j) {
        node_experts_[sz(k * group_size + j)] = g * group_size + j;
      }
    }
  }
  // No rank can be below the mean rank load of the heaviest node.
  rank_floor_ = 0;
  for (int32_t node = 0; node < num_nodes; ++node) {
    double node_total = 0;
    for (int32_t m = 0; m < experts_per_node; ++m) {
      node_total += expert_loads[sz(node_experts_[sz(node * experts_per_node + m)])];
    }
    rank_floor_ = std::max(rank_floor_, node_total / ranks_per_node);
  }
  for (int32_t node = 0; node < num_nodes; ++node) {
    plan_node(expert_loads,
              std::span<const int32_t>(node_experts_)
                  .subspan(sz(node * experts_per_node), sz(experts_per_node)),
              ranks_per_node, phy2log.subspan(sz(node * slots_per_node), sz(slots_per_node)));
  }

  // The guarantee: never hotter than DeepSeek.
  const double deepseek_max = deepseek_max_;
  const double ours_max =
      max_rank_load(expert_loads, phy2log, options.num_ranks, replica_count_, rank_load_);
  used_fallback_ = false;
  const double limit = deepseek_max * (1 + kRoundingMargin);
  if (ours_max <= limit) return;
  // DeepSeek's replica counts (or its node assignment) were the better choice: pack those
  // our way; only if that is still hotter, refine DeepSeek's placement itself.
  repack_deepseek(expert_loads, num_nodes, options.num_ranks, phy2log);
  if (max_rank_load(expert_loads, phy2log, options.num_ranks, replica_count_, rank_load_) <=
      limit) {
    return;
  }
  used_fallback_ = true;
  improve_deepseek(expert_loads, num_nodes, options.num_ranks, phy2log);
}

void BalancedPlanner::repack_deepseek(std::span<const double> expert_loads, int32_t num_nodes,
                                      int32_t num_ranks, std::span<int32_t> phy2log) {
  const size_t slots_per_node = phy2log.size() / sz(num_nodes);
  const auto num_experts = static_cast<int32_t>(expert_loads.size());
  replica_count_.assign(sz(num_experts), 0);
  for (int32_t e : deepseek_phy2log_) ++replica_count_[sz(e)];
  for (int32_t node = 0; node < num_nodes; ++node) {
    // The node's experts (each once) and their DeepSeek replica counts.
    node_experts_.clear();
    node_count_.clear();
    for (size_t s = sz(node) * slots_per_node; s < sz(node + 1) * slots_per_node; ++s) {
      const int32_t e = deepseek_phy2log_[s];
      int32_t& count = replica_count_[sz(e)];
      if (count == 0) continue;  // already listed
      node_experts_.push_back(e);
      node_count_.push_back(count);
      count = 0;
    }
    pack_node(expert_loads, node_experts_, node_count_, num_ranks / num_nodes,
              phy2log.subspan(sz(node) * slots_per_node, slots_per_node));
  }
}

double BalancedPlanner::polish_target() const {
  const double total = std::accumulate(packing_.load.begin(), packing_.load.end(), 0.0);
  const double floor = std::max(rank_floor_, total / packing_.num_packs);
  return std::min(deepseek_max_, floor * (1 + kPolishMargin));
}

void BalancedPlanner::plan_node(std::span<const double> expert_loads,
                                std::span<const int32_t> experts, int32_t num_ranks,
                                std::span<int32_t> phy2log) {
  const auto num_experts = static_cast<int32_t>(experts.size());
  const auto num_slots = static_cast<int32_t>(phy2log.size());
  node_loads_.resize(sz(num_experts));
  for (int32_t m = 0; m < num_experts; ++m) node_loads_[sz(m)] = expert_loads[sz(experts[sz(m)])];
  node_count_.resize(sz(num_experts));
  extra_expert_.resize(sz(num_slots - num_experts));
  water_fill<double>(node_loads_, node_count_, extra_expert_, replica_tree_);
  pack_node(expert_loads, experts, node_count_, num_ranks, phy2log);
}

void BalancedPlanner::pack_node(std::span<const double> expert_loads,
                                std::span<const int32_t> experts,
                                std::span<const int32_t> replica_count, int32_t num_ranks,
                                std::span<int32_t> phy2log) {
  const auto num_experts = static_cast<int32_t>(experts.size());
  const auto num_slots = static_cast<int32_t>(phy2log.size());
  runs_.resize(sz(num_experts));
  for (int32_t m = 0; m < num_experts; ++m) {
    const int32_t count = replica_count[sz(m)];
    runs_[sz(m)] = {expert_loads[sz(experts[sz(m)])] / count, experts[sz(m)], count};
  }
  sort_runs(runs_, run_order_, sorted_runs_);
  packing_.reset(num_ranks, num_slots / num_ranks);
  lpt_pack(runs_, /*spread=*/true, packing_, lpt_);
  spread_duplicates(packing_, kNoLimit);
  refine_packing(packing_, kMaxSwapsPerItem * num_slots, polish_target(), pair_swap_);
  std::copy(packing_.key.begin(), packing_.key.end(), phy2log.begin());
}

void BalancedPlanner::load_node(std::span<const double> expert_loads,
                                std::span<const int32_t> node_phy2log, int32_t num_ranks) {
  const auto num_slots = static_cast<int32_t>(node_phy2log.size());
  packing_.reset(num_ranks, num_slots / num_ranks);
  for (int32_t s = 0; s < num_slots; ++s) {
    const auto e = sz(node_phy2log[sz(s)]);
    packing_.key[sz(s)] = node_phy2log[sz(s)];
    packing_.weight[sz(s)] = expert_loads[e] / replica_count_[e];
  }
  for (int32_t r = 0; r < num_ranks; ++r) packing_.update_load(r);
}

void BalancedPlanner::improve_deepseek(std::span<const double> expert_loads, int32_t num_nodes,
                                       int32_t num_ranks, std::span<int32_t> phy2log) {
  const int32_t ranks_per_node = num_ranks / num_nodes;
  const size_t slots_per_node = phy2log.size() / sz(num_nodes);
  const double deepseek_max =
      max_rank_load(expert_loads, deepseek_phy2log_, num_ranks, replica_count_, rank_load_);
  // replica_count_ now holds DeepSeek's counts over the layer (a node's experts stay on it).
  // Per node: move duplicates apart while no rank exceeds DeepSeek's hottest, then refine
  // (which never adds a duplicate).
  for (int32_t node = 0; node < num_nodes; ++node) {
    load_node(expert_loads,
              std::span<const int32_t>(deepseek_phy2log_)
                  .subspan(sz(node) * slots_per_node, slots_per_node),
              ranks_per_node);
    if (count_duplicates(packing_) > 0) spread_duplicates(packing_, deepseek_max);
    refine_packing(packing_, kMaxSwapsPerItem * static_cast<int>(slots_per_node), polish_target(),
                   pair_swap_);
    std::copy(packing_.key.begin(), packing_.key.end(),
              phy2log.begin() + static_cast<ptrdiff_t>(sz(node) * slots_per_node));
  }
  donate_duplicates(expert_loads, num_ranks, num_nodes, deepseek_max, phy2log, replica_count_,
                    rank_load_);
  // Rounding in the incremental loads must not cost the guarantee.
  if (max_rank_load(expert_loads, phy2log, num_ranks, replica_count_, rank_load_) > deepseek_max) {
    std::copy(deepseek_phy2log_.begin(), deepseek_phy2log_.end(), phy2log.begin());
  }
}

}  // namespace eplb::planner
