#include "planner/routing_shares.h"

#include <algorithm>
#include <cmath>

namespace eplb::planner {
namespace {

size_t sz(int32_t n) { return static_cast<size_t>(n); }

}  // namespace

void ShareSolver::pour(double load, size_t first, size_t last) {
  // Level lambda with sum over ranks of max(0, lambda - base) = load; ranks below it get
  // lambda - base. Bases sorted ascending, the level rises over them one by one.
  level_.clear();
  for (size_t k = first; k < last; ++k) level_.push_back(rank_load_[sz(rank_[k])]);
  std::sort(level_.begin(), level_.end());
  double sum = 0;
  double lambda = 0;
  for (size_t j = 0; j < level_.size(); ++j) {
    sum += level_[j];
    lambda = (load + sum) / static_cast<double>(j + 1);
    if (j + 1 == level_.size() || lambda <= level_[j + 1]) break;
  }
  double poured = 0;
  for (size_t k = first; k < last; ++k) {
    part_[k] = std::max(0.0, lambda - rank_load_[sz(rank_[k])]);
    poured += part_[k];
  }
  // Rounding: the parts must add up to the expert's tokens exactly enough for shares to
  // sum to 1; the largest part absorbs the difference.
  if (poured > 0) {
    size_t largest = first;
    for (size_t k = first; k < last; ++k) {
      if (part_[k] > part_[largest]) largest = k;
    }
    part_[largest] = std::max(0.0, part_[largest] + (load - poured));
  }
}

double ShareSolver::solve(std::span<const double> expert_loads, std::span<const int32_t> phy2log,
                          int32_t num_ranks, std::span<double> routing_weight) {
  const size_t num_experts = expert_loads.size();
  const size_t slots_per_rank = phy2log.size() / sz(num_ranks);
  replica_count_.assign(num_experts, 0);
  for (int32_t e : phy2log) ++replica_count_[sz(e)];

  // Distinct ranks of each replicated expert (CSR), and the loads of single replicas.
  expert_first_.assign(num_experts + 1, 0);
  for (size_t s = 0; s < phy2log.size(); ++s) {
    const auto e = sz(phy2log[s]);
    if (replica_count_[e] > 1) ++expert_first_[e + 1];  // slots for now; ranks below
  }
  for (size_t e = 0; e < num_experts; ++e) expert_first_[e + 1] += expert_first_[e];
  rank_.assign(sz(expert_first_[num_experts]), -1);
  copies_.assign(rank_.size(), 0);
  std::vector<int32_t>& fill = stamp_;
  fill.assign(num_experts, 0);
  rank_load_.assign(sz(num_ranks), 0.0);
  for (size_t s = 0; s < phy2log.size(); ++s) {
    const auto e = sz(phy2log[s]);
    const auto r = static_cast<int32_t>(s / slots_per_rank);
    if (replica_count_[e] == 1) {
      rank_load_[sz(r)] += expert_loads[e];
      continue;
    }
    // Slots are visited rank by rank: a second slot of e on this rank finds it last in e's list.
    const size_t first = sz(expert_first_[e]);
    const size_t n = sz(fill[e]);
    if (n > 0 && rank_[first + n - 1] == r) {
      ++copies_[first + n - 1];
    } else {
      rank_[first + n] = r;
      copies_[first + n] = 1;
      ++fill[e];
    }
  }
  part_.assign(rank_.size(), 0.0);
  replicated_.clear();
  for (size_t e = 0; e < num_experts; ++e) {
    if (replica_count_[e] < 2) continue;
    const size_t first = sz(expert_first_[e]);
    const size_t n = sz(fill[e]);
    // Start from even shares.
    for (size_t k = first; k < first + n; ++k) {
      part_[k] = expert_loads[e] * copies_[k] / replica_count_[e];
      rank_load_[sz(rank_[k])] += part_[k];
    }
    if (n > 1 && expert_loads[e] > 0) replicated_.push_back(static_cast<int32_t>(e));
  }
  std::sort(replicated_.begin(), replicated_.end(), [&](int32_t a, int32_t b) {
    const double la = expert_loads[sz(a)];
    const double lb = expert_loads[sz(b)];
    return la > lb || (la == lb && a < b);
  });

  double scale = 0;
  for (double v : rank_load_) scale = std::max(scale, v);
  double hottest = scale;
  int flat_sweeps = 0;  // consecutive sweeps that did not lower the hottest rank
  for (int sweep = 0; sweep < kMaxSweeps && !replicated_.empty(); ++sweep) {
    double change = 0;
    for (int32_t e : replicated_) {
      const size_t first = sz(expert_first_[sz(e)]);
      const size_t last = first + sz(fill[sz(e)]);
      for (size_t k = first; k < last; ++k) rank_load_[sz(rank_[k])] -= part_[k];
      old_.assign(part_.begin() + static_cast<ptrdiff_t>(first),
                  part_.begin() + static_cast<ptrdiff_t>(last));
      pour(expert_loads[sz(e)], first, last);
      for (size_t k = first; k < last; ++k) {
        rank_load_[sz(rank_[k])] += part_[k];
        change = std::max(change, std::abs(part_[k] - old_[k - first]));
      }
    }
    const double now = *std::max_element(rank_load_.begin(), rank_load_.end());
    flat_sweeps = hottest - now <= 1e-9 * scale ? flat_sweeps + 1 : 0;
    hottest = now;
    if (change <= 1e-9 * scale || flat_sweeps >= kFlatSweeps) break;
  }

  // Shares per slot: a rank's part split evenly over the expert's slots there.
  std::fill(fill.begin(), fill.end(), 0);
  for (size_t s = 0; s < phy2log.size(); ++s) {
    const auto e = sz(phy2log[s]);
    if (replica_count_[e] == 1) {
      routing_weight[s] = 1.0;
      continue;
    }
    if (!(expert_loads[e] > 0)) {
      routing_weight[s] = 1.0 / replica_count_[e];
      continue;
    }
    const auto r = static_cast<int32_t>(s / slots_per_rank);
    size_t k = sz(expert_first_[e]);
    while (rank_[k] != r) ++k;
    routing_weight[s] = part_[k] / expert_loads[e] / copies_[k];
  }
  return *std::max_element(rank_load_.begin(), rank_load_.end());
}

}  // namespace eplb::planner
