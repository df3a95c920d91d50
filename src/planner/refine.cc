#include "planner/refine.h"

#include <algorithm>
#include <numeric>

namespace eplb::planner {
namespace {

// Change in count_duplicates() (duplicates.h) if item i (key a) of pack h and item j (key b)
// of pack q swap.
int duplicate_delta(const Packing& pk, int32_t h, int32_t q, int32_t a, int32_t b) {
  return -(pk.count_key(h, a) >= 2) + (pk.count_key(q, a) >= 1) + (pk.count_key(h, b) >= 1) -
         (pk.count_key(q, b) >= 2);
}

}  // namespace

int refine_swaps(Packing& pk, int max_swaps) {
  if (pk.num_packs < 2) return 0;
  pk.sort_items();
  const auto cap = static_cast<ptrdiff_t>(pk.capacity);
  const double total = std::accumulate(pk.load.begin(), pk.load.end(), 0.0);
  const double lower_bound = total / pk.num_packs * (1 + 1e-12);
  // Packs by load ascending (ties: lower index first), kept sorted across swaps.
  auto& by_load = pk.by_load;
  by_load.resize(static_cast<size_t>(pk.num_packs));
  std::iota(by_load.begin(), by_load.end(), 0);
  auto lighter = [&pk](int32_t a, int32_t b) {
    const double la = pk.load[static_cast<size_t>(a)];
    const double lb = pk.load[static_cast<size_t>(b)];
    return la < lb || (la == lb && a < b);
  };
  std::sort(by_load.begin(), by_load.end(), lighter);
  auto reposition = [&](int32_t pack) {
    auto it = std::find(by_load.begin(), by_load.end(), pack);
    while (it != by_load.begin() && lighter(*it, *(it - 1))) {
      std::iter_swap(it, it - 1);
      --it;
    }
    while (it + 1 != by_load.end() && lighter(*(it + 1), *it)) {
      std::iter_swap(it, it + 1);
      ++it;
    }
  };

  int swaps = 0;
  for (; swaps < max_swaps; ++swaps) {
    const int32_t h = by_load.back();  // among equally hot packs, the highest index
    const double hot = pk.load[static_cast<size_t>(h)];
    if (hot <= lower_bound) break;
    double best = hot;
    size_t best_i = 0;
    size_t best_j = 0;
    const ptrdiff_t h_first = h * cap;
    // A swap moving d tokens from h to q leaves max(hot - d, cold + d) =
    // (hot + cold) / 2 + |d - gap / 2|: scanning packs coldest first, the first pack whose
    // bound cannot beat the best swap ends the scan.
    for (int32_t q : by_load) {
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
          best_i = static_cast<size_t>(i);
          best_j = static_cast<size_t>(j);
          break;
        }
      }
    }
    if (best >= hot) break;
    pk.swap_items(best_i, best_j);
    pk.resort_item(best_i);
    pk.resort_item(best_j);
    reposition(h);
    reposition(static_cast<int32_t>(best_j / static_cast<size_t>(cap)));
  }
  return swaps;
}

int refine_packing(Packing& pk, int max_swaps, double good_enough, PairSwapScratch& scratch) {
  int swaps = refine_swaps(pk, max_swaps);
  while (swaps < max_swaps && pk.num_packs > 1 &&
         pk.load[static_cast<size_t>(pk.hottest())] > good_enough && pair_swap(pk, scratch)) {
    swaps += 1 + refine_swaps(pk, max_swaps - swaps - 1);
  }
  return swaps;
}

}  // namespace eplb::planner
