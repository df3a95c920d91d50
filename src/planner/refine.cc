#include "planner/refine.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace eplb::planner {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// Change in count_duplicates() (duplicates.h) if item i (key a) of pack h and item j (key b)
// of pack q swap.
int duplicate_delta(const Packing& pk, int32_t h, int32_t q, int32_t a, int32_t b) {
  return -(pk.count_key(h, a) >= 2) + (pk.count_key(q, a) >= 1) + (pk.count_key(h, b) >= 1) -
         (pk.count_key(q, b) >= 2);
}

// Packs by load ascending (ties: lower index first) in pk.by_load.
bool lighter(const Packing& pk, int32_t a, int32_t b) {
  const double la = pk.load[static_cast<size_t>(a)];
  const double lb = pk.load[static_cast<size_t>(b)];
  return la < lb || (la == lb && a < b);
}

void sort_by_load(Packing& pk) {
  auto& by_load = pk.by_load;
  by_load.resize(static_cast<size_t>(pk.num_packs));
  std::iota(by_load.begin(), by_load.end(), 0);
  std::sort(by_load.begin(), by_load.end(),
            [&pk](int32_t a, int32_t b) { return lighter(pk, a, b); });
}

// Whether `item_key` is on `pack`.
bool holds(const Packing& pk, int32_t pack, int32_t item_key) {
  const auto cap = static_cast<size_t>(pk.capacity);
  const int32_t* first = pk.key.data() + static_cast<size_t>(pack) * cap;
  for (size_t i = 0; i < cap; ++i) {
    if (first[i] == item_key) return true;
  }
  return false;
}

// Whether item i of pack h and item j of pack q may swap: neither key lands beside itself.
bool may_swap(const Packing& pk, int32_t h, size_t i, int32_t q, size_t j) {
  const int32_t a = pk.key[i];
  const int32_t b = pk.key[j];
  return a != b && !holds(pk, q, a) && !holds(pk, h, b);
}

// A swap of items (positions) i and j; i == j: none.
struct SwapChoice {
  size_t i = 0;
  size_t j = 0;
};

// The swap of refine_swaps() for hottest pack h (packs sorted heaviest first, pk.by_load
// ascending): over every lighter pack, the smallest max(hot - d, cold + d) below hot that does
// not raise the duplicate count.
SwapChoice best_swap(const Packing& pk, int32_t h) {
  const auto cap = static_cast<ptrdiff_t>(pk.capacity);
  const double hot = pk.load[static_cast<size_t>(h)];
  double best = hot;
  SwapChoice choice;
  const ptrdiff_t h_first = h * cap;
  // A swap moving d tokens from h to q leaves max(hot - d, cold + d) =
  // (hot + cold) / 2 + |d - gap / 2|: scanning packs coldest first, the first pack whose
  // bound cannot beat the best swap ends the scan.
  for (int32_t q : pk.by_load) {
    const double cold = pk.load[static_cast<size_t>(q)];
    const double gap = hot - cold;
    if (gap <= 0 || (hot + cold) / 2 >= best) break;
    const ptrdiff_t q_first = q * cap;
    const ptrdiff_t q_end = q_first + cap;
    // Items are sorted descending, so the partner nearest x - gap / 2 moves monotonically.
    ptrdiff_t below = q_first;  // first item of q at or below the target
    for (ptrdiff_t i = h_first; i < h_first + cap; ++i) {
      const double x = pk.weight[static_cast<size_t>(i)];
      const double target = x - gap / 2;
      while (below < q_end && pk.weight[static_cast<size_t>(below)] > target) ++below;
      // Walk outwards from the target to the nearest valid partner for this x.
      ptrdiff_t up = below - 1;
      ptrdiff_t down = below;
      while (true) {
        const bool up_ok = up >= q_first && x - pk.weight[static_cast<size_t>(up)] > 0;
        const bool down_ok = down < q_end && x - pk.weight[static_cast<size_t>(down)] < gap;
        if (!up_ok && !down_ok) break;
        ptrdiff_t j;
        if (up_ok && (!down_ok || pk.weight[static_cast<size_t>(up)] - target <=
                                      target - pk.weight[static_cast<size_t>(down)])) {
          j = up--;
        } else {
          j = down++;
        }
        const double d = x - pk.weight[static_cast<size_t>(j)];
        const double worse = std::max(hot - d, cold + d);
        if (worse >= best) break;  // farther partners are worse still
        const int32_t a = pk.key[static_cast<size_t>(i)];
        const int32_t b = pk.key[static_cast<size_t>(j)];
        if (a == b || duplicate_delta(pk, h, q, a, b) > 0) continue;
        best = worse;
        choice = {static_cast<size_t>(i), static_cast<size_t>(j)};
        break;
      }
    }
  }
  return choice;
}

// The swap of refine_to_target() between packs h and q (items sorted heaviest first): items x
// of h and y of q with hot - target <= x - y <= target - cold, the smallest such x - y, neither
// key landing beside itself. O(capacity) but for partners skipped as duplicates.
SwapChoice fitting_swap(const Packing& pk, int32_t h, int32_t q, double target) {
  const auto cap = static_cast<size_t>(pk.capacity);
  const double least = pk.load[static_cast<size_t>(h)] - target;  // d must reach this
  const double most = target - pk.load[static_cast<size_t>(q)];   // and stay within this
  const size_t h_first = static_cast<size_t>(h) * cap;
  const size_t q_first = static_cast<size_t>(q) * cap;
  const size_t q_end = q_first + cap;
  // For x descending, the heaviest y with x - y >= least moves towards lighter items. The
  // duplicate rule is checked on the winner only (it rarely objects), else on every pair.
  for (bool check_duplicates : {false, true}) {
    SwapChoice choice;
    double best = kInfinity;
    size_t j = q_first;
    for (size_t i = h_first; i < h_first + cap; ++i) {
      const double x = pk.weight[i];
      while (j < q_end && x - pk.weight[j] < least) ++j;
      if (j == q_end) break;  // lighter x reach `least` with no y either
      for (size_t k = j; k < q_end; ++k) {
        const double d = x - pk.weight[k];
        if (d > most || d >= best) break;
        if (check_duplicates && !may_swap(pk, h, i, q, k)) continue;
        best = d;
        choice = {i, k};
        break;
      }
    }
    if (choice.i == choice.j || check_duplicates || may_swap(pk, h, choice.i, q, choice.j)) {
      return choice;
    }
  }
  return {};
}

// The swap between h and q (items sorted heaviest first) that makes max(hot - d, cold + d)
// smallest with 0 < d < hot - cold: for each x, the partners nearest x - gap / 2. O(capacity);
// the duplicate rule as in fitting_swap().
SwapChoice evening_swap(const Packing& pk, int32_t h, int32_t q) {
  const auto cap = static_cast<size_t>(pk.capacity);
  const double hot = pk.load[static_cast<size_t>(h)];
  const double cold = pk.load[static_cast<size_t>(q)];
  const double gap = hot - cold;
  const size_t h_first = static_cast<size_t>(h) * cap;
  const size_t q_first = static_cast<size_t>(q) * cap;
  const size_t q_end = q_first + cap;
  for (bool check_duplicates : {false, true}) {
    double best = hot;
    SwapChoice choice;
    size_t below = q_first;  // first item of q at or below x - gap / 2
    for (size_t i = h_first; i < h_first + cap; ++i) {
      const double x = pk.weight[i];
      const double aim = x - gap / 2;
      while (below < q_end && pk.weight[below] > aim) ++below;
      for (size_t j = below; j-- > q_first;) {  // heavier than the aim: d < gap / 2
        const double d = x - pk.weight[j];
        if (d <= 0 || hot - d >= best) break;
        if (check_duplicates && !may_swap(pk, h, i, q, j)) continue;
        best = hot - d;
        choice = {i, j};
        break;
      }
      for (size_t j = below; j < q_end; ++j) {  // at or below the aim: d >= gap / 2
        const double d = x - pk.weight[j];
        if (d >= gap || cold + d >= best) break;
        if (check_duplicates && !may_swap(pk, h, i, q, j)) continue;
        best = cold + d;
        choice = {i, j};
        break;
      }
    }
    if (choice.i == choice.j || check_duplicates || may_swap(pk, h, choice.i, q, choice.j)) {
      return choice;
    }
  }
  return {};
}

}  // namespace

int refine_swaps(Packing& pk, int max_swaps) {
  if (pk.num_packs < 2) return 0;
  pk.sort_items();
  const double total = std::accumulate(pk.load.begin(), pk.load.end(), 0.0);
  const double lower_bound = total / pk.num_packs * (1 + 1e-12);
  sort_by_load(pk);
  int swaps = 0;
  for (; swaps < max_swaps; ++swaps) {
    const int32_t h = pk.by_load.back();  // among equally hot packs, the highest index
    if (pk.load[static_cast<size_t>(h)] <= lower_bound) break;
    const SwapChoice c = best_swap(pk, h);
    if (c.i == c.j) break;
    pk.exchange(h, c.i, static_cast<int32_t>(c.j / static_cast<size_t>(pk.capacity)), c.j);
    sort_by_load(pk);
  }
  return swaps;
}

int refine_to_target(Packing& pk, const RefineLimits& limits, PairSwapScratch& scratch) {
  if (pk.num_packs < 2) return 0;
  const double target = limits.target;
  const auto num_packs = static_cast<size_t>(pk.num_packs);
  const auto cap = static_cast<size_t>(pk.capacity);
  pk.sort_items();  // linear when packs come from longest-first packing, already sorted
  int swaps = 0;
  int pair_swaps = 0;
  while (swaps < limits.max_swaps) {
    size_t h = 0;
    size_t q = 0;
    for (size_t p = 1; p < num_packs; ++p) {
      h = pk.load[p] > pk.load[h] ? p : h;
      q = pk.load[p] < pk.load[q] ? p : q;
    }
    if (pk.load[h] <= target) break;
    size_t partner = q;
    SwapChoice c = fitting_swap(pk, static_cast<int32_t>(h), static_cast<int32_t>(q), target);
    if (c.i == c.j) c = evening_swap(pk, static_cast<int32_t>(h), static_cast<int32_t>(q));
    if (c.i == c.j && limits.any_partner) {
      // The coldest pack offers nothing: the best evening swap with any lighter pack.
      const double hot = pk.load[h];
      double best = hot;
      for (size_t p = 0; p < num_packs; ++p) {
        const double cold = pk.load[p];
        if (p == q || (hot + cold) / 2 >= best) continue;  // cannot beat the best
        // Nor can it when its lightest item is too heavy: a swap moves at most h's heaviest
        // item minus p's lightest, and must move more than hot - best.
        if (pk.weight[h * cap] - pk.weight[(p + 1) * cap - 1] <= hot - best) continue;
        const SwapChoice e = evening_swap(pk, static_cast<int32_t>(h), static_cast<int32_t>(p));
        if (e.i == e.j) continue;
        const double d = pk.weight[e.i] - pk.weight[e.j];
        const double worse = std::max(hot - d, cold + d);
        if (worse < best) {
          best = worse;
          c = e;
          partner = p;
        }
      }
    }
    if (c.i != c.j) {
      pk.exchange(static_cast<int32_t>(h), c.i, static_cast<int32_t>(partner), c.j);
      ++swaps;
      continue;
    }
    if (pair_swaps >= limits.max_pair_swaps || !pair_swap(pk, scratch)) break;
    ++pair_swaps;
    ++swaps;
  }
  return swaps;
}

}  // namespace eplb::planner
