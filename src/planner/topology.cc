#include "planner/topology.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "planner/refine.h"

namespace eplb::planner {
namespace {

size_t sz(int32_t n) { return static_cast<size_t>(n); }

// Sweeps of bring_home() over the layer's slots; a second one finds little more.
constexpr int kBringHomePasses = 2;

}  // namespace

double cross_node_share(std::span<const double> expert_loads, std::span<const int32_t> phy2log,
                        std::span<const double> routing_weight, int32_t num_nodes,
                        int32_t num_groups) {
  const size_t slots_per_node = phy2log.size() / sz(num_nodes);
  const size_t group_size = expert_loads.size() / sz(num_groups);
  std::vector<int32_t> count;  // [num_experts] replicas, for even routing
  if (routing_weight.empty()) {
    count.assign(expert_loads.size(), 0);
    for (int32_t e : phy2log) ++count[sz(e)];
  }
  std::vector<double> served(sz(num_groups) * sz(num_nodes), 0.0);  // [group, node]
  for (size_t s = 0; s < phy2log.size(); ++s) {
    const auto e = sz(phy2log[s]);
    const double share = routing_weight.empty() ? 1.0 / count[e] : routing_weight[s];
    served[e / group_size * sz(num_nodes) + s / slots_per_node] += expert_loads[e] * share;
  }
  double total = 0;
  double outside = 0;
  for (size_t g = 0; g < sz(num_groups); ++g) {
    const auto first = served.begin() + static_cast<ptrdiff_t>(g * sz(num_nodes));
    const double group = std::accumulate(first, first + num_nodes, 0.0);
    total += group;
    outside += group - *std::max_element(first, first + num_nodes);
  }
  return total > 0 ? outside / total : 0.0;
}

double RelaxedPlanner::plan(std::span<const double> expert_loads, const PlanOptions& options,
                            std::span<int32_t> phy2log, std::span<const int32_t> replica_counts) {
  const auto num_experts = static_cast<int32_t>(expert_loads.size());
  const int32_t num_nodes = options.num_nodes;
  const int32_t num_groups = options.num_groups;
  const int32_t group_size = num_experts / num_groups;
  const int32_t ranks_per_node = options.num_ranks / num_nodes;
  const int32_t slots_per_rank = options.num_slots / options.num_ranks;
  const int32_t slots_per_node = options.num_slots / num_nodes;
  const double total = std::accumulate(expert_loads.begin(), expert_loads.end(), 0.0);

  // 1. Groups onto nodes: longest first, then swaps.
  runs_.resize(sz(num_groups));
  for (int32_t g = 0; g < num_groups; ++g) {
    double sum = 0;
    for (int32_t j = 0; j < group_size; ++j) sum += expert_loads[sz(g * group_size + j)];
    runs_[sz(g)] = {sum, g, 1};
  }
  sort_runs(runs_, run_order_, sorted_runs_);
  packing_.reset(num_nodes, num_groups / num_nodes);
  lpt_pack(runs_, /*spread=*/false, packing_, lpt_);
  refine_swaps(packing_, kRefineSwapsPerSlot * num_groups);
  home_.resize(sz(num_experts));
  for (size_t k = 0; k < packing_.key.size(); ++k) {
    const int32_t g = packing_.key[k];
    const auto node = static_cast<int32_t>(k / sz(packing_.capacity));
    for (int32_t j = 0; j < group_size; ++j) home_[sz(g * group_size + j)] = node;
  }

  // 2. Replica counts over the whole layer.
  replica_count_.resize(sz(num_experts));
  if (replica_counts.empty()) {
    extra_expert_.resize(sz(options.num_slots - num_experts));
    water_fill<double>(expert_loads, replica_count_, extra_expert_, water_fill_);
  } else {
    std::copy(replica_counts.begin(), replica_counts.end(), replica_count_.begin());
  }

  // 3. Every replica at home, then the surplus of crowded nodes to nodes with free slots.
  away_.assign(sz(num_experts) * sz(num_nodes), 0);
  node_slots_.assign(sz(num_nodes), 0);
  node_load_.assign(sz(num_nodes), 0.0);
  for (int32_t e = 0; e < num_experts; ++e) {
    const auto n = sz(home_[sz(e)]);
    away_[sz(e) * sz(num_nodes) + n] = replica_count_[sz(e)];
    node_slots_[n] += replica_count_[sz(e)];
    node_load_[n] += expert_loads[sz(e)];
  }
  const double node_target = total / num_nodes;
  auto replica_load = [&](int32_t e) { return expert_loads[sz(e)] / replica_count_[sz(e)]; };
  for (int32_t n = 0; n < num_nodes; ++n) {
    while (node_slots_[sz(n)] > slots_per_node) {
      // The destination: the least loaded node with a free slot.
      int32_t m = -1;
      for (int32_t k = 0; k < num_nodes; ++k) {
        if (node_slots_[sz(k)] < slots_per_node &&
            (m < 0 || node_load_[sz(k)] < node_load_[sz(m)])) {
          m = k;
        }
      }
      // The replica: of a home expert with two or more replicas still at home, the one whose
      // load is nearest what this node still has to shed per surplus slot.
      const double aim = (node_load_[sz(n)] - node_target) / (node_slots_[sz(n)] - slots_per_node);
      int32_t pick = -1;
      double pick_gap = std::numeric_limits<double>::infinity();
      for (int32_t e = 0; e < num_experts; ++e) {
        if (home_[sz(e)] != n || away_[sz(e) * sz(num_nodes) + sz(n)] < 2) continue;
        const double gap = std::abs(replica_load(e) - aim);
        if (gap < pick_gap) {
          pick_gap = gap;
          pick = e;
        }
      }
      if (pick < 0) {
        // Nothing replicated left: the lightest expert on this node moves whole.
        for (int32_t e = 0; e < num_experts; ++e) {
          const int32_t here = away_[sz(e) * sz(num_nodes) + sz(n)];
          if (here > 0 &&
              (pick < 0 || replica_load(e) * here <
                               replica_load(pick) * away_[sz(pick) * sz(num_nodes) + sz(n)])) {
            pick = e;
          }
        }
      }
      --away_[sz(pick) * sz(num_nodes) + sz(n)];
      ++away_[sz(pick) * sz(num_nodes) + sz(m)];
      --node_slots_[sz(n)];
      ++node_slots_[sz(m)];
      node_load_[sz(n)] -= replica_load(pick);
      node_load_[sz(m)] += replica_load(pick);
    }
  }

  // Then node loads: the hottest node trades a replica of one of its replicated experts for the
  // lightest replica of the coldest node (cheap to move: few tokens cross), the pair whose
  // difference is nearest half their gap, until the hottest is within half the slack of the
  // mean node load or no trade narrows the gap.
  const double node_goal = node_target * (1 + options.balance_slack / 2);
  for (int32_t step = 0; step < 4 * options.num_slots; ++step) {
    const auto hot = static_cast<int32_t>(std::max_element(node_load_.begin(), node_load_.end()) -
                                          node_load_.begin());
    const auto cold = static_cast<int32_t>(std::min_element(node_load_.begin(), node_load_.end()) -
                                           node_load_.begin());
    const double gap = node_load_[sz(hot)] - node_load_[sz(cold)];
    if (node_load_[sz(hot)] <= node_goal || hot == cold) break;
    int32_t light = -1;  // lightest replica on the cold node
    for (int32_t e = 0; e < num_experts; ++e) {
      if (away_[sz(e) * sz(num_nodes) + sz(cold)] > 0 &&
          (light < 0 || replica_load(e) < replica_load(light))) {
        light = e;
      }
    }
    // The replica of the hot node whose trade evens the pair best: of an expert that keeps a
    // replica at home if one will do, else any.
    int32_t heavy = -1;
    for (const bool keep_home : {true, false}) {
      double best = gap;
      for (int32_t e = 0; e < num_experts; ++e) {
        const int32_t here = away_[sz(e) * sz(num_nodes) + sz(hot)];
        if (here == 0 || e == light || (keep_home && here < 2 && home_[sz(e)] == hot)) continue;
        const double d = replica_load(e) - replica_load(light);
        const double worse = std::max(gap - d, d);  // the larger side of the pair's new gap
        if (d > 0 && d < gap && worse < best) {
          best = worse;
          heavy = e;
        }
      }
      if (heavy >= 0) break;
    }
    if (heavy < 0) break;
    const double d = replica_load(heavy) - replica_load(light);
    --away_[sz(heavy) * sz(num_nodes) + sz(hot)];
    ++away_[sz(heavy) * sz(num_nodes) + sz(cold)];
    --away_[sz(light) * sz(num_nodes) + sz(cold)];
    ++away_[sz(light) * sz(num_nodes) + sz(hot)];
    node_load_[sz(hot)] -= d;
    node_load_[sz(cold)] += d;
  }

  // 4. Each node packs its replicas on its ranks, then refines towards the layer's bound.
  double bound = 0;
  for (int32_t n = 0; n < num_nodes; ++n) {
    bound = std::max(bound, node_load_[sz(n)] / ranks_per_node);
  }
  for (int32_t e = 0; e < num_experts; ++e) bound = std::max(bound, replica_load(e));
  const double target = bound * (1 + options.balance_slack);
  target_ = target;
  double hottest = 0;
  for (int32_t n = 0; n < num_nodes; ++n) {
    runs_.clear();
    for (int32_t e = 0; e < num_experts; ++e) {
      const int32_t here = away_[sz(e) * sz(num_nodes) + sz(n)];
      if (here > 0) runs_.push_back({replica_load(e), e, here});
    }
    const RefineLimits limits{target, kRefineSwapsPerSlot * slots_per_node, kRefinePairSwaps};
    // Dealt in rounds (deal.h), then refined; longest first on distinct ranks where that does
    // not reach the target or keeps a duplicate.
    const int duplicates = deal_runs(runs_, ranks_per_node, slots_per_rank, packing_, deal_);
    refine_to_target(packing_, limits, pair_swap_);
    double node_hottest = *std::max_element(packing_.load.begin(), packing_.load.end());
    if (duplicates > 0 || node_hottest > target) {
      sort_runs(runs_, run_order_, sorted_runs_);
      packing_.reset(ranks_per_node, slots_per_rank);
      lpt_pack(runs_, /*spread=*/true, packing_, lpt_);
      refine_to_target(packing_, limits, pair_swap_);
      node_hottest = *std::max_element(packing_.load.begin(), packing_.load.end());
    }
    std::copy(packing_.key.begin(), packing_.key.end(),
              phy2log.begin() + static_cast<ptrdiff_t>(sz(n) * sz(slots_per_node)));
    hottest = std::max(hottest, node_hottest);
  }
  // The whole layer as one packing, for steps 5 and 6.
  replica_weight_.resize(sz(num_experts));
  for (int32_t e = 0; e < num_experts; ++e) replica_weight_[sz(e)] = replica_load(e);
  packing_.assign(phy2log, options.num_ranks, replica_weight_);
  if (hottest > target) {
    // 5. A node's replicas could not reach the target on its ranks: swaps between the ranks of
    // any nodes (refine.h), cross nodes too.
    packing_.sort_items();
    refine_to_target(packing_, {target, kRefineSwapsPerSlot * options.num_slots, kRefinePairSwaps},
                     pair_swap_);
    hottest = *std::max_element(packing_.load.begin(), packing_.load.end());
  }
  // 6. Fewer tokens off home at the same hottest rank.
  bring_home(hottest, slots_per_node);
  std::copy(packing_.key.begin(), packing_.key.end(), phy2log.begin());
  return *std::max_element(packing_.load.begin(), packing_.load.end());
}

void RelaxedPlanner::bring_home(double hottest, int32_t slots_per_node) {
  const size_t num_slots = packing_.key.size();
  const auto per_rank = sz(packing_.capacity);
  const auto per_node = sz(slots_per_node);
  for (int pass = 0; pass < kBringHomePasses; ++pass) {
    bool changed = false;
    for (size_t s = 0; s < num_slots; ++s) {
      const int32_t a = packing_.key[s];
      const int32_t home = home_[sz(a)];
      const auto node = static_cast<int32_t>(s / per_node);
      if (home == node) continue;
      const double wa = packing_.weight[s];
      const auto r = static_cast<int32_t>(s / per_rank);
      // The partner on a rank of a's home node that cuts the tokens off home most: a comes
      // home (-wa), b moves to a's node (+wb, or -wb when that is b's home, 0 when b was away
      // from home already and stays away).
      double best_cut = 0;
      size_t best = num_slots;
      for (size_t q = sz(home) * per_node / per_rank; q < (sz(home) + 1) * per_node / per_rank;
           ++q) {
        const double room = hottest - packing_.load[q];  // q may take up to this much more
        for (size_t t = q * per_rank; t < (q + 1) * per_rank; ++t) {
          const int32_t b = packing_.key[t];
          const double wb = packing_.weight[t];
          const double d = wa - wb;
          if (d > room) continue;
          const int32_t b_home = home_[sz(b)];
          const double cut = wa - (b_home == home ? wb : 0.0) + (b_home == node ? wb : 0.0);
          if (cut <= best_cut || b == a || packing_.load[sz(r)] - d > hottest ||
              packing_.count_key(static_cast<int32_t>(q), a) > 0 || packing_.count_key(r, b) > 0) {
            continue;
          }
          best_cut = cut;
          best = t;
        }
      }
      if (best == num_slots) continue;
      packing_.swap_items(s, best);
      changed = true;
    }
    if (!changed) break;
  }
}

}  // namespace eplb::planner
