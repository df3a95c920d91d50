#include "planner/deal.h"

#include <algorithm>
#include <bit>

namespace eplb::planner {
namespace {

size_t sz(int32_t n) { return static_cast<size_t>(n); }

// Ascending order of this key: tokens descending, then `index`. `tokens` >= 0; the float
// rounding only blurs the order of near-equal replicas.
uint64_t heavy_first_key(double tokens, size_t index) {
  return static_cast<uint64_t>(~order_bits(static_cast<float>(tokens))) << 32 |
         static_cast<uint32_t>(index);
}

// Water-filling among the num_extra heaviest experts (only they can get an extra replica:
// every other has a heavier expert of one replica ahead of it; "heaviest" in float order, which
// may pick another of two experts within 2^-24 of each other: the counts then give a largest
// replica as close to water_fill()'s); the replicas of all, heaviest first, into
// scratch.item_key / item_weight.
void sorted_replicas(std::span<const double> loads, std::span<int32_t> count, size_t num_slots,
                     DealScratch& s) {
  const size_t n = loads.size();
  const size_t num_extra = num_slots - n;
  s.key.resize(n);
  s.by_load.resize(n);
  for (size_t e = 0; e < n; ++e) s.key[e] = order_bits(static_cast<float>(loads[e]));
  radix_sort_descending(s.key, s.by_load, s.radix);
  std::fill(count.begin(), count.end(), 1);
  const size_t k = std::min(num_extra, n);
  if (k > 0) {
    s.candidate_load.resize(k);
    for (size_t i = 0; i < k; ++i) s.candidate_load[i] = loads[sz(s.by_load[i])];
    s.tree.build(s.candidate_load);
    for (size_t j = 0; j < num_extra; ++j) {
      const int32_t leaf = s.tree.top();
      const auto e = sz(s.by_load[sz(leaf)]);
      ++count[e];
      s.tree.update(leaf, loads[e] / count[e]);
    }
  }
  // The replicated experts re-sorted by per-replica tokens, merged with the others (already
  // heaviest first in by_load).
  s.replicated.clear();
  for (size_t i = 0; i < k; ++i) {
    const auto e = sz(s.by_load[i]);
    if (count[e] > 1) s.replicated.push_back(heavy_first_key(loads[e] / count[e], e));
  }
  std::sort(s.replicated.begin(), s.replicated.end());
  s.item_key.resize(num_slots);
  s.item_weight.resize(num_slots);
  size_t out = 0;
  auto emit = [&](size_t e) {
    const double w = loads[e] / count[e];
    for (int32_t c = 0; c < count[e]; ++c, ++out) {
      s.item_key[out] = static_cast<int32_t>(e);
      s.item_weight[out] = w;
    }
  };
  size_t r = 0;
  for (int32_t e : s.by_load) {
    const auto ue = sz(e);
    if (count[ue] > 1) continue;
    const uint64_t single = heavy_first_key(loads[ue], ue);
    for (; r < s.replicated.size() && s.replicated[r] < single; ++r) {
      emit(s.replicated[r] & 0xffffffffu);
    }
    emit(ue);
  }
  for (; r < s.replicated.size(); ++r) emit(s.replicated[r] & 0xffffffffu);
}

// by_place[p] = the index of the p-th least key (keys distinct, >= 0): for a few dozen keys, a
// branch-free count of the keys below each (the compiler vectorises it); std::sort beyond.
void sort_ascending(std::span<const int32_t> key, std::span<int32_t> by_place,
                    std::vector<uint64_t>& order) {
  const size_t n = key.size();
  if (n <= 64) {
    for (size_t i = 0; i < n; ++i) {
      const int32_t k = key[i];
      int32_t below = 0;
      for (size_t j = 0; j < n; ++j) below += key[j] < k;
      by_place[static_cast<size_t>(below)] = static_cast<int32_t>(i);
    }
    return;
  }
  order.resize(n);
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<uint64_t>(key[i]) << 32 | i;
  std::sort(order.begin(), order.end());
  for (size_t p = 0; p < n; ++p) by_place[p] = static_cast<int32_t>(order[p] & 0xffffffffu);
}

}  // namespace

namespace {

// Deals scratch.item_key / item_weight (num_ranks x per_rank replicas, heaviest first) in rounds
// into `pk`; returns the replicas dealt beside one of the same expert.
int deal_sorted(int32_t num_ranks, int32_t per_rank, Packing& pk, DealScratch& s) {
  pk.reset(num_ranks, per_rank);
  const auto n = sz(num_ranks);
  const auto cap = sz(per_rank);
  // The ranks in the order they take this round's replicas: by rank in the first (all empty),
  // least loaded first in the next.
  s.by_place.resize(n);
  for (size_t r = 0; r < n; ++r) s.by_place[r] = static_cast<int32_t>(r);
  s.sort_key.resize(n);
  // Sort keys: the load's float bits (bit 31, the sign, is 0) with the low bits replaced by the
  // rank: distinct, ties to the lower rank, 2^-(23 - rank bits) relative resolution.
  const auto rank_bits = static_cast<uint32_t>(std::bit_width(n - 1));
  const uint32_t rank_mask = (uint32_t{1} << rank_bits) - 1;
  int duplicates = 0;
  for (size_t round = 0; round < cap; ++round) {
    const size_t first = round * n;
    for (size_t place = 0; place < n; ++place) {
      const size_t item = first + place;
      const auto r = sz(s.by_place[place]);
      const size_t pos = r * cap + round;
      if (round > 0 && pk.key[pos - 1] == s.item_key[item]) {
        // An expert straddling two rounds: a lighter replica of this round instead. An expert's
        // replicas are adjacent in the order, so with at most num_ranks of them only the
        // previous round can hold one on this rank.
        for (size_t j = item + 1; j < first + n; ++j) {
          if (s.item_key[j] != s.item_key[item]) {
            std::swap(s.item_key[j], s.item_key[item]);
            std::swap(s.item_weight[j], s.item_weight[item]);
            break;
          }
        }
        duplicates += pk.key[pos - 1] == s.item_key[item];
      }
      const double w = s.item_weight[item];
      pk.key[pos] = s.item_key[item];
      pk.weight[pos] = w;
      pk.load[r] += w;
    }
    if (round + 1 == cap) break;
    for (size_t r = 0; r < n; ++r) {
      s.sort_key[r] = static_cast<int32_t>(
          (order_bits(static_cast<float>(pk.load[r])) & ~rank_mask) | static_cast<uint32_t>(r));
    }
    sort_ascending(s.sort_key, s.by_place, s.order);
  }
  std::fill(pk.fill.begin(), pk.fill.end(), per_rank);
  return duplicates;
}

}  // namespace

int deal_replicas(std::span<const double> expert_loads, int32_t num_ranks, int32_t per_rank,
                  std::span<int32_t> replica_count, Packing& pk, DealScratch& s) {
  sorted_replicas(expert_loads, replica_count, sz(num_ranks) * sz(per_rank), s);
  return deal_sorted(num_ranks, per_rank, pk, s);
}

int deal_runs(std::span<const ItemRun> runs, int32_t num_ranks, int32_t per_rank, Packing& pk,
              DealScratch& s) {
  // Runs heaviest first (radix sort of their float weights), then their replicas in that order.
  s.key.resize(runs.size());
  s.by_load.resize(runs.size());
  for (size_t i = 0; i < runs.size(); ++i) {
    s.key[i] = order_bits(static_cast<float>(runs[i].weight));
  }
  radix_sort_descending(s.key, s.by_load, s.radix);
  const size_t num_slots = sz(num_ranks) * sz(per_rank);
  s.item_key.resize(num_slots);
  s.item_weight.resize(num_slots);
  size_t out = 0;
  for (int32_t i : s.by_load) {
    const ItemRun& run = runs[sz(i)];
    for (int32_t c = 0; c < run.count && out < num_slots; ++c, ++out) {
      s.item_key[out] = run.key;
      s.item_weight[out] = run.weight;
    }
  }
  return deal_sorted(num_ranks, per_rank, pk, s);
}

}  // namespace eplb::planner
