#include "planner/balanced.h"

#include <algorithm>
#include <numeric>

#include "planner/deal.h"
#include "planner/duplicates.h"
#include "planner/rank_load.h"
#include "planner/refine.h"
#include "planner/two_slots.h"

namespace eplb::planner {
namespace {

// The dealt start (deal.h) for global plans of 3 to this many slots per rank. With more,
// DeepSeek's longest-first packing lands closer to the mean than the slack (its gap shrinks
// with the replicas per rank), so its start is taken: on 100 random deployments per seed with
// 11-32 slots per rank the dealt plans were hotter than DeepSeek's on the mean in up to 26,
// the other start in none (eplb_policy_compare's deployments, 3 seeds).
constexpr int32_t kMaxDealtSlotsPerRank = 10;
// Rounds of replica moves with two slots per rank (two_slots.h); it converges in about five.
constexpr int kPairRounds = 5;
// Rounds of replica moves with three or more slots per rank (count_search.h), where the plan
// misses its target.
constexpr int kCountRounds = 4;

size_t sz(int32_t n) { return static_cast<size_t>(n); }

// Same-rank duplicates in `phy2log` [num_slots]: per rank, the replicas beyond the first of an
// expert. `stamp` [num_experts] is scratch.
int count_same_rank_duplicates(std::span<const int32_t> phy2log, int32_t slots_per_rank,
                               std::vector<int32_t>& stamp, size_t num_experts) {
  stamp.assign(num_experts, -1);
  int duplicates = 0;
  int32_t rank = 0;
  for (size_t first = 0; first < phy2log.size(); first += sz(slots_per_rank), ++rank) {
    for (size_t s = first; s < first + sz(slots_per_rank); ++s) {
      int32_t& seen = stamp[sz(phy2log[s])];
      duplicates += seen == rank;
      seen = rank;
    }
  }
  return duplicates;
}

}  // namespace

void BalancedPlanner::plan(std::span<const double> expert_loads, const PlanOptions& options,
                           std::span<int32_t> phy2log) {
  const size_t num_experts = expert_loads.size();
  int32_t num_nodes = options.num_nodes;
  if (options.num_groups % num_nodes != 0) num_nodes = 1;  // DeepSeek's rule: global policy
  const int32_t slots_per_rank = options.num_slots / options.num_ranks;
  const int32_t ranks_per_node = options.num_ranks / num_nodes;
  const size_t slots_per_node = phy2log.size() / sz(num_nodes);

  dealt_ready_ = false;
  if (num_nodes == 1 && slots_per_rank > 2 && slots_per_rank <= kMaxDealtSlotsPerRank &&
      plan_dealt(expert_loads, options, phy2log)) {
    return;
  }
  deepseek_.plan(expert_loads, options, phy2log);

  // Replica loads under DeepSeek's counts; rank loads; the lower bound for these counts.
  replica_count_.assign(num_experts, 0);
  for (int32_t e : phy2log) ++replica_count_[sz(e)];
  replica_load_.resize(num_experts);
  double largest_replica = 0;
  for (size_t e = 0; e < num_experts; ++e) {
    replica_load_[e] = expert_loads[e] / replica_count_[e];
    largest_replica = std::max(largest_replica, replica_load_[e]);
  }
  rank_load_.assign(sz(options.num_ranks), 0.0);
  for (size_t r = 0, s = 0; r < rank_load_.size(); ++r) {
    for (const size_t end = s + sz(slots_per_rank); s < end; ++s) {
      rank_load_[r] += replica_load_[sz(phy2log[s])];
    }
  }
  const double hottest = *std::max_element(rank_load_.begin(), rank_load_.end());
  // Every node keeps its experts: no rank beats its node's mean.
  double floor = 0;
  for (int32_t node = 0; node < num_nodes; ++node) {
    const auto first = rank_load_.begin() + node * ranks_per_node;
    floor = std::max(floor, std::accumulate(first, first + ranks_per_node, 0.0) / ranks_per_node);
  }
  lower_bound_ = std::max(largest_replica, floor);
  double target = lower_bound_ * (1 + options.balance_slack);
  if (slots_per_rank == 2) {
    // Nothing beats the pairs of each node's sorted replicas, and DeepSeek's start has them
    // (up to its float32 rounding). Refinement could only trade ties at the hottest rank:
    // thousands of swaps where many replicas of a hot expert sit at the top.
    for (int32_t node = 0; node < num_nodes; ++node) {
      const double pairs = paired_floor(phy2log.subspan(sz(node) * slots_per_node, slots_per_node),
                                        replica_load_, pair_weights_);
      target = std::max(target, pairs * (1 + 1e-6));
    }
  }

  duplicates_left_ = 0;
  relaxed_ = false;
  strict_max_ = 0;
  // Swaps never add a duplicate: a start without any ends without any.
  const bool start_duplicates =
      count_same_rank_duplicates(phy2log, slots_per_rank, stamp_, num_experts) > 0;
  bool start_duplicates_checked = true;
  const bool refined = hottest > target || start_duplicates;
  if (refined) {
    for (int32_t node = 0; node < num_nodes; ++node) {
      improve_node(expert_loads, phy2log.subspan(sz(node) * slots_per_node, slots_per_node),
                   ranks_per_node, hottest, target, start_duplicates);
    }
  }
  if (num_nodes == 1 && slots_per_rank == 2 &&
      improve_pairs(expert_loads, phy2log, kPairRounds, pairs_)) {
    start_duplicates_checked = false;  // new counts: check again below
  }
  if (num_nodes == 1 && slots_per_rank > 2) {
    // Missed the target: better counts, from this plan and from the dealt one (free of
    // duplicates, where this one may keep some of DeepSeek's), the coolest kept.
    double now = refined ? max_rank_load(expert_loads, phy2log, options.num_ranks, replica_count_,
                                         rank_load_)
                         : hottest;
    if (now > target) {
      const double searched = count_search_.improve(
          expert_loads, options.num_ranks, options.balance_slack, kCountRounds, now, phy2log);
      start_duplicates_checked = start_duplicates_checked && searched == now;
      now = searched;
    }
    if (now > target && dealt_ready_ && count_duplicates(dealt_) == 0) {
      dealt_phy2log_.assign(dealt_.key.begin(), dealt_.key.end());
      const double dealt_max = *std::max_element(dealt_.load.begin(), dealt_.load.end());
      if (count_search_.improve(expert_loads, options.num_ranks, options.balance_slack,
                                kCountRounds, dealt_max, dealt_phy2log_) < now) {
        std::copy(dealt_phy2log_.begin(), dealt_phy2log_.end(), phy2log.begin());
        start_duplicates_checked = false;
      }
    }
  }

  if (num_nodes == 1 || options.topology != Topology::kRelaxed) {
    if (start_duplicates || !start_duplicates_checked) {
      duplicates_left_ =
          avoidable_duplicates(phy2log, options.num_ranks, num_nodes, num_experts, stamp_);
    }
    return;
  }

  // Hierarchical: the relaxed placement where the strict one costs balance.
  strict_max_ = max_rank_load(expert_loads, phy2log, options.num_ranks, replica_count_, rank_load_);
  relaxed_phy2log_.resize(phy2log.size());
  double relaxed_max = relaxed_planner_.plan(expert_loads, options, relaxed_phy2log_);
  if (relaxed_max > relaxed_planner_.target() && slots_per_rank > 2) {
    // Missed: the replica counts of a global plan (with its count search) may pack better.
    const double strict_bound = lower_bound_;  // the global plan below resets these
    const double strict_max = strict_max_;
    PlanOptions global = options;
    global.num_nodes = 1;
    global.num_groups = 1;
    global_phy2log_.resize(phy2log.size());
    plan(expert_loads, global, global_phy2log_);
    lower_bound_ = strict_bound;
    strict_max_ = strict_max;
    global_count_.assign(num_experts, 0);
    for (int32_t e : global_phy2log_) ++global_count_[sz(e)];
    retry_phy2log_.resize(phy2log.size());
    const double retry_max =
        relaxed_planner_.plan(expert_loads, options, retry_phy2log_, global_count_);
    if (retry_max < relaxed_max) {
      relaxed_max = retry_max;
      relaxed_phy2log_.swap(retry_phy2log_);
    }
  }
  const double mean =
      std::accumulate(expert_loads.begin(), expert_loads.end(), 0.0) / options.num_ranks;
  if (strict_max_ > relaxed_max + options.relax_threshold * mean) {
    std::copy(relaxed_phy2log_.begin(), relaxed_phy2log_.end(), phy2log.begin());
    relaxed_ = true;
  }
  duplicates_left_ =
      avoidable_duplicates(phy2log, options.num_ranks, num_nodes, num_experts, stamp_);
}

bool BalancedPlanner::plan_dealt(std::span<const double> expert_loads, const PlanOptions& options,
                                 std::span<int32_t> phy2log) {
  const size_t num_experts = expert_loads.size();
  replica_count_.resize(num_experts);
  const int dealt_duplicates =
      deal_replicas(expert_loads, options.num_ranks, options.num_slots / options.num_ranks,
                    replica_count_, dealt_, deal_);
  dealt_ready_ = true;
  double largest_replica = 0;
  double total = 0;
  for (size_t e = 0; e < num_experts; ++e) {
    largest_replica = std::max(largest_replica, expert_loads[e] / replica_count_[e]);
    total += expert_loads[e];
  }
  const double lower_bound = std::max(largest_replica, total / options.num_ranks);
  const double target = lower_bound * (1 + options.balance_slack);
  refine_to_target(dealt_, {target, kRefineSwapsPerSlot * options.num_slots, kRefinePairSwaps},
                   pair_swap_);
  const double hottest = *std::max_element(dealt_.load.begin(), dealt_.load.end());
  if (hottest > target) return false;
  // Where the largest replica sets the bound, the rank holding it also holds slots_per_rank - 1
  // others, at least the lightest ones: that floor is under any even placement, and DeepSeek's
  // packing often reaches it exactly (the big replica's rank is the last to take the lightest
  // replicas). A few more swaps aim for it.
  const auto& sorted = deal_.item_weight;  // heaviest first
  double floor = sorted.front();
  for (size_t i = sorted.size() + 1 - static_cast<size_t>(dealt_.capacity); i < sorted.size();
       ++i) {
    floor += sorted[i];
  }
  floor *= 1 + 1e-12;
  if (floor > total / options.num_ranks && hottest > floor) {
    refine_to_target(dealt_, {floor, options.num_ranks, 0}, pair_swap_);
  }
  // Refinement never adds a duplicate: only the dealing's (rare) need a look.
  if (dealt_duplicates > 0 && count_duplicates(dealt_) > 0) return false;
  std::copy(dealt_.key.begin(), dealt_.key.end(), phy2log.begin());
  lower_bound_ = lower_bound;
  duplicates_left_ = 0;
  relaxed_ = false;
  strict_max_ = 0;
  return true;
}

void BalancedPlanner::improve_node(std::span<const double> expert_loads,
                                   std::span<int32_t> node_phy2log, int32_t num_ranks, double limit,
                                   double target, bool may_have_duplicates) {
  const auto num_slots = static_cast<int32_t>(node_phy2log.size());
  Packing& pk = packing_;
  pk.assign(node_phy2log, num_ranks, replica_load_);
  int duplicates = may_have_duplicates ? count_same_rank_duplicates(node_phy2log, pk.capacity,
                                                                    stamp_, expert_loads.size())
                                       : 0;
  if (duplicates > 0) duplicates = spread_duplicates(pk, limit);
  const RefineLimits limits{target, kRefineSwapsPerSlot * num_slots, kRefinePairSwaps};
  if (duplicates > 0 &&
      avoidable_duplicates(pk.key, num_ranks, 1, expert_loads.size(), stamp_) > 0) {
    // No swap takes these apart without heating a rank past DeepSeek's hottest. Rare: pack the
    // same replicas afresh, longest first on distinct ranks, and keep that if it is as cool.
    runs_.clear();
    for (size_t s = 0; s < node_phy2log.size(); ++s) {
      const int32_t e = node_phy2log[s];
      if (std::find(node_phy2log.begin(), node_phy2log.begin() + static_cast<ptrdiff_t>(s), e) ==
          node_phy2log.begin() + static_cast<ptrdiff_t>(s)) {
        runs_.push_back({replica_load_[sz(e)], e, replica_count_[sz(e)]});
      }
    }
    sort_runs(runs_, run_order_, sorted_runs_);
    spread_.reset(num_ranks, num_slots / num_ranks);
    lpt_pack(runs_, /*spread=*/true, spread_, lpt_);
    // It has to reach DeepSeek's hottest rank, which may be below our target.
    refine_to_target(spread_, {std::min(target, limit), limits.max_swaps, limits.max_pair_swaps},
                     pair_swap_);
    if (*std::max_element(spread_.load.begin(), spread_.load.end()) <= limit &&
        avoidable_duplicates(spread_.key, num_ranks, 1, expert_loads.size(), stamp_) == 0) {
      std::copy(spread_.key.begin(), spread_.key.end(), node_phy2log.begin());
      return;
    }
  }
  refine_to_target(pk, limits, pair_swap_);
  std::copy(pk.key.begin(), pk.key.end(), node_phy2log.begin());
  if (duplicates > 0) {
    // Hand second copies to other experts of the node where that keeps the hottest rank.
    donate_duplicates(expert_loads, num_ranks, 1, limit, node_phy2log, donate_count_, donate_load_);
  }
}

}  // namespace eplb::planner
