#include "planner/two_slots.h"

#include <algorithm>
#include <limits>
#include <tuple>

namespace eplb::planner {
namespace {

size_t sz(int32_t n) { return static_cast<size_t>(n); }

// Donors considered per round: the experts that lose least by giving up a replica.
constexpr size_t kDonors = 4;

// The hottest pair of ascending `replicas`: the largest replicas[i] + replicas[n - 1 - i].
std::pair<double, size_t> hottest_pair(const std::vector<std::pair<double, int32_t>>& replicas) {
  const size_t n = replicas.size();
  double hottest = -1;
  size_t at = 0;
  for (size_t i = 0; i < n / 2; ++i) {
    const double pair = replicas[i].first + replicas[n - 1 - i].first;
    if (pair > hottest) {
      hottest = pair;
      at = i;
    }
  }
  return {hottest, at};
}

// `out` = `replicas` with expert `to` given one replica more and `from` one less (counts
// before the move), still ascending.
void move_replica(std::span<const double> loads, const std::vector<int32_t>& count, int32_t to,
                  int32_t from, const std::vector<std::pair<double, int32_t>>& replicas,
                  std::vector<std::pair<double, int32_t>>& added,
                  std::vector<std::pair<double, int32_t>>& out) {
  added.clear();
  const int32_t to_count = count[sz(to)] + 1;
  const int32_t from_count = count[sz(from)] - 1;
  for (int32_t k = 0; k < to_count; ++k) added.emplace_back(loads[sz(to)] / to_count, to);
  for (int32_t k = 0; k < from_count; ++k) added.emplace_back(loads[sz(from)] / from_count, from);
  std::sort(added.begin(), added.end());
  out.clear();
  size_t a = 0;
  for (const auto& r : replicas) {
    if (r.second == to || r.second == from) continue;
    while (a < added.size() && added[a] < r) out.push_back(added[a++]);
    out.push_back(r);
  }
  while (a < added.size()) out.push_back(added[a++]);
}

}  // namespace

bool improve_pairs(std::span<const double> expert_loads, std::span<int32_t> phy2log, int max_rounds,
                   PairScratch& scratch) {
  const size_t num_experts = expert_loads.size();
  auto& count = scratch.count;
  auto& replicas = scratch.replicas;
  count.assign(num_experts, 0);
  for (int32_t e : phy2log) ++count[sz(e)];
  // The current placement's hottest rank (its own pairing, which may not be sorted).
  double current = 0;
  for (size_t s = 0; s + 1 < phy2log.size(); s += 2) {
    const auto a = sz(phy2log[s]);
    const auto b = sz(phy2log[s + 1]);
    current = std::max(current, expert_loads[a] / count[a] + expert_loads[b] / count[b]);
  }
  replicas.clear();
  for (size_t e = 0; e < num_experts; ++e) {
    for (int32_t k = 0; k < count[e]; ++k) {
      replicas.emplace_back(expert_loads[e] / count[e], static_cast<int32_t>(e));
    }
  }
  std::sort(replicas.begin(), replicas.end());
  auto [best, at] = hottest_pair(replicas);
  for (int round = 0; round < max_rounds; ++round) {
    // Donors: the experts with a replica to spare whose others carry least more without it.
    auto& donors = scratch.donors;
    donors.clear();
    for (size_t e = 0; e < num_experts; ++e) {
      if (count[e] >= 2) donors.push_back(static_cast<int32_t>(e));
    }
    auto spare_cost = [&](int32_t e) { return expert_loads[sz(e)] / (count[sz(e)] - 1); };
    const size_t keep = std::min(kDonors, donors.size());
    std::partial_sort(donors.begin(), donors.begin() + static_cast<ptrdiff_t>(keep), donors.end(),
                      [&](int32_t a, int32_t b) {
                        return spare_cost(a) < spare_cost(b) ||
                               (spare_cost(a) == spare_cost(b) && a < b);
                      });
    donors.resize(keep);
    const size_t n = replicas.size();
    int32_t best_to = -1;
    int32_t best_from = -1;
    double round_best = best;
    for (const int32_t to : {replicas[n - 1 - at].second, replicas[at].second}) {
      for (const int32_t from : donors) {
        if (from == to) continue;
        move_replica(expert_loads, count, to, from, replicas, scratch.added, scratch.trial);
        const double hottest = hottest_pair(scratch.trial).first;
        if (hottest < round_best) {
          round_best = hottest;
          best_to = to;
          best_from = from;
        }
      }
    }
    if (best_to < 0) break;
    move_replica(expert_loads, count, best_to, best_from, replicas, scratch.added, scratch.trial);
    replicas.swap(scratch.trial);
    ++count[sz(best_to)];
    --count[sz(best_from)];
    std::tie(best, at) = hottest_pair(replicas);
  }
  if (!(best < current)) return false;
  const size_t n = replicas.size();
  for (size_t i = 0; i < n / 2; ++i) {
    if (replicas[i].second == replicas[n - 1 - i].second) return false;  // a same-rank pair
  }
  for (size_t i = 0; i < n / 2; ++i) {
    phy2log[2 * i] = replicas[n - 1 - i].second;
    phy2log[2 * i + 1] = replicas[i].second;
  }
  return true;
}

double paired_floor(std::span<const int32_t> phy2log, std::span<const double> replica_load,
                    std::vector<double>& weights) {
  weights.resize(phy2log.size());
  for (size_t s = 0; s < phy2log.size(); ++s) {
    weights[s] = replica_load[static_cast<size_t>(phy2log[s])];
  }
  std::sort(weights.begin(), weights.end());
  double floor = 0;
  for (size_t i = 0, j = weights.size(); i + 1 < j; ++i) {
    floor = std::max(floor, weights[i] + weights[--j]);
  }
  return floor;
}

}  // namespace eplb::planner
