#include "planner/replicate.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>

namespace eplb::planner {

namespace {

// The experts that can win a slot of water-filling `num_extra` slots over `loads`, ascending
// (so that the tree's ties go to the lowest expert). The largest load per replica only falls as
// slots are given, so the final one, L, is under every winner's load; and L >= total / slots
// (the mean per slot) and L >= largest / (num_extra + 1) (the largest expert's best case).
// Experts below both (with a margin for rounding) never win.
template <typename T>
void water_fill_candidates(std::span<const T> loads, size_t num_extra,
                           std::vector<int32_t>& candidates) {
  // Four partial sums and maxima: independent chains the compiler may pipeline and vectorise.
  std::array<double, 4> sum{};
  std::array<double, 4> most{};
  size_t first = 0;
  for (; first + 4 <= loads.size(); first += 4) {
    for (size_t lane = 0; lane < 4; ++lane) {
      const auto load = static_cast<double>(loads[first + lane]);
      sum[lane] += load;
      most[lane] = std::max(most[lane], load);
    }
  }
  for (; first < loads.size(); ++first) {
    sum[0] += static_cast<double>(loads[first]);
    most[0] = std::max(most[0], static_cast<double>(loads[first]));
  }
  const double total = (sum[0] + sum[1]) + (sum[2] + sum[3]);
  const double largest = std::max(std::max(most[0], most[1]), std::max(most[2], most[3]));
  const double slots = static_cast<double>(loads.size() + num_extra);
  const double floor =
      std::max(total / slots, largest / static_cast<double>(num_extra + 1)) * (1 - 1e-6);
  // Branch-free compaction: a third of the experts or so pass, unpredictably.
  candidates.resize(loads.size());
  size_t n = 0;
  for (size_t i = 0; i < loads.size(); ++i) {
    candidates[n] = static_cast<int32_t>(i);
    n += static_cast<double>(loads[i]) >= floor;
  }
  double candidate_total = 0;
  for (size_t i = 0; i < n; ++i) {
    candidate_total += static_cast<double>(loads[static_cast<size_t>(candidates[i])]);
  }
  // The candidates' replicas (at most one each plus every extra slot) carry their tokens: L is
  // at least their mean, which narrows the candidates further.
  const double narrower =
      std::max(floor, candidate_total / static_cast<double>(n + num_extra) * (1 - 1e-6));
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    const int32_t e = candidates[i];
    candidates[kept] = e;
    kept += static_cast<double>(loads[static_cast<size_t>(e)]) >= narrower;
  }
  candidates.resize(kept);
}

}  // namespace

template <typename T>
T water_fill(std::span<const T> loads, std::span<int32_t> replica_count,
             std::span<int32_t> extra_expert, WaterFillScratch<T>& scratch) {
  std::fill(replica_count.begin(), replica_count.end(), 1);
  if (extra_expert.empty()) {
    return loads.empty() ? T{0} : *std::max_element(loads.begin(), loads.end());
  }
  water_fill_candidates(loads, extra_expert.size(), scratch.candidates);
  const auto& candidates = scratch.candidates;
  auto& candidate_load = scratch.candidate_load;
  candidate_load.resize(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    candidate_load[i] = loads[static_cast<size_t>(candidates[i])];
  }
  scratch.tree.build(candidate_load);  // key: per-replica load, loads[e] / replica_count[e]
  for (int32_t& chosen : extra_expert) {
    const int32_t leaf = scratch.tree.top();
    const auto e = static_cast<size_t>(candidates[static_cast<size_t>(leaf)]);
    chosen = static_cast<int32_t>(e);
    ++replica_count[e];
    candidate_load[static_cast<size_t>(leaf)] = loads[e] / static_cast<T>(replica_count[e]);
    scratch.tree.update(leaf, candidate_load[static_cast<size_t>(leaf)]);
  }
  // Every other expert is below the floor, itself under the result.
  return candidate_load[static_cast<size_t>(scratch.tree.top())];
}

template float water_fill<float>(std::span<const float>, std::span<int32_t>, std::span<int32_t>,
                                 WaterFillScratch<float>&);
template double water_fill<double>(std::span<const double>, std::span<int32_t>, std::span<int32_t>,
                                   WaterFillScratch<double>&);

std::optional<double> largest_replica_if_optimal(std::span<const double> loads,
                                                 std::span<const int32_t> replica_count) {
  double largest = 0;
  double cheapest_donor = std::numeric_limits<double>::infinity();
  for (size_t e = 0; e < loads.size(); ++e) {
    const int32_t c = replica_count[e];
    if (c <= 0) return std::nullopt;
    largest = std::max(largest, loads[e] / c);
    if (c > 1) cheapest_donor = std::min(cheapest_donor, loads[e] / (c - 1));
  }
  if (largest > cheapest_donor) return std::nullopt;
  return largest;
}

int32_t cheapest_donor(std::span<const double> loads, std::span<const int32_t> replica_count,
                       int32_t except) {
  int32_t donor = -1;
  double least = 0;
  for (size_t e = 0; e < loads.size(); ++e) {
    if (replica_count[e] < 2 || static_cast<int32_t>(e) == except) continue;
    const double after = loads[e] / (replica_count[e] - 1);
    if (donor < 0 || after < least) {
      donor = static_cast<int32_t>(e);
      least = after;
    }
  }
  return donor;
}

namespace {

// Ascending order of this key: per-replica load descending, then replica index.
uint64_t replica_key(float load, size_t index) {
  return static_cast<uint64_t>(~order_bits(load)) << 32 | static_cast<uint32_t>(index);
}

}  // namespace

void replicate_in_order(std::span<const float> loads, std::span<int32_t> replica_count,
                        std::span<int32_t> extra_expert, std::span<int32_t> order,
                        ReplicaOrderScratch& scratch) {
  const size_t n = loads.size();
  const size_t num_extra = extra_expert.size();
  std::fill(replica_count.begin(), replica_count.end(), 1);
  auto& key = scratch.key;
  auto& by_load = scratch.by_load;
  key.resize(n);
  by_load.resize(n);
  for (size_t e = 0; e < n; ++e) key[e] = order_bits(loads[e]);
  radix_sort_descending(key, by_load, scratch.radix);

  // Water-filling among the candidates, as leaves in ascending expert order (ties: lowest).
  auto& candidates = scratch.candidates;
  candidates.assign(by_load.begin(),
                    by_load.begin() + static_cast<ptrdiff_t>(std::min(num_extra, n)));
  std::sort(candidates.begin(), candidates.end());
  if (num_extra > 0) {
    auto& candidate_load = scratch.candidate_load;
    candidate_load.resize(candidates.size());
    for (size_t i = 0; i < candidates.size(); ++i) {
      candidate_load[i] = loads[static_cast<size_t>(candidates[i])];
    }
    scratch.tree.build(candidate_load);
    for (int32_t& chosen : extra_expert) {
      const int32_t leaf = scratch.tree.top();
      const int32_t e = candidates[static_cast<size_t>(leaf)];
      const auto ue = static_cast<size_t>(e);
      chosen = e;
      ++replica_count[ue];
      scratch.tree.update(leaf, loads[ue] / static_cast<float>(replica_count[ue]));
    }
  }

  // Replicas of replicated experts, sorted; the others are already in order in by_load.
  auto& replicated = scratch.replicated;
  replicated.clear();
  for (int32_t e : candidates) {
    const auto ue = static_cast<size_t>(e);
    if (replica_count[ue] > 1) {
      replicated.push_back(replica_key(loads[ue] / static_cast<float>(replica_count[ue]), ue));
    }
  }
  for (size_t j = 0; j < num_extra; ++j) {
    const auto ue = static_cast<size_t>(extra_expert[j]);
    replicated.push_back(replica_key(loads[ue] / static_cast<float>(replica_count[ue]), n + j));
  }
  std::sort(replicated.begin(), replicated.end());
  size_t out = 0;
  size_t r = 0;
  for (int32_t e : by_load) {
    const auto ue = static_cast<size_t>(e);
    if (replica_count[ue] > 1) continue;
    const uint64_t single = replica_key(loads[ue], ue);
    while (r < replicated.size() && replicated[r] < single) {
      order[out++] = static_cast<int32_t>(replicated[r++] & 0xffffffffu);
    }
    order[out++] = e;
  }
  while (r < replicated.size()) order[out++] = static_cast<int32_t>(replicated[r++] & 0xffffffffu);
}

}  // namespace eplb::planner
