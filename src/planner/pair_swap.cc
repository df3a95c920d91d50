#include "planner/pair_swap.h"

#include <algorithm>
#include <span>
#include <utility>

namespace eplb::planner {
namespace {

// Duplicate keys among the items of `pack` with the positions `out` replaced by `in`.
int duplicates_after(const Packing& pk, int32_t pack, std::span<const size_t> out,
                     std::span<const size_t> in, std::vector<int32_t>& keys) {
  const auto cap = static_cast<size_t>(pk.capacity);
  keys.clear();
  for (size_t i = static_cast<size_t>(pack) * cap; i < static_cast<size_t>(pack + 1) * cap; ++i) {
    if (std::find(out.begin(), out.end(), i) == out.end()) keys.push_back(pk.key[i]);
  }
  for (size_t i : in) keys.push_back(pk.key[i]);
  std::sort(keys.begin(), keys.end());
  int n = 0;
  for (size_t i = 1; i < keys.size(); ++i) n += keys[i] == keys[i - 1];
  return n;
}

}  // namespace

bool pair_swap(Packing& pk, PairSwapScratch& scratch) {
  if (pk.num_packs < 2 || pk.capacity < 2) return false;
  const auto cap = static_cast<size_t>(pk.capacity);
  const int32_t h = pk.hottest();
  const double hot = pk.load[static_cast<size_t>(h)];
  auto& hot_pairs = scratch.hot_pairs;
  auto& pairs = scratch.pairs;
  auto list_pairs = [&](int32_t pack, std::vector<PairSwapScratch::Pair>& out) {
    out.clear();
    const size_t first = static_cast<size_t>(pack) * cap;
    for (size_t i = first; i < first + cap; ++i) {
      for (size_t j = i + 1; j < first + cap; ++j)
        out.push_back({pk.weight[i] + pk.weight[j], i, j});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return a.sum < b.sum || (a.sum == b.sum && (a.i < b.i || (a.i == b.i && a.j < b.j)));
    });
  };
  list_pairs(h, hot_pairs);
  double best = hot;
  PairSwapScratch::Pair best_out{};
  PairSwapScratch::Pair best_in{};
  int32_t best_q = -1;
  for (int32_t q = 0; q < pk.num_packs; ++q) {
    const double cold = pk.load[static_cast<size_t>(q)];
    const double gap = hot - cold;
    if (q == h || gap <= 0 || (hot + cold) / 2 >= best) continue;
    list_pairs(q, pairs);
    const int before = duplicates_after(pk, h, {}, {}, scratch.keys) +
                       duplicates_after(pk, q, {}, {}, scratch.keys);
    for (const auto& out : hot_pairs) {
      // Partner sums in (out.sum - gap, out.sum), nearest out.sum - gap / 2 first.
      const double target = out.sum - gap / 2;
      auto below = std::lower_bound(pairs.begin(), pairs.end(), target,
                                    [](const auto& p, double t) { return p.sum < t; });
      ptrdiff_t up = below - pairs.begin();  // first sum >= target
      ptrdiff_t down = up - 1;
      const auto n = static_cast<ptrdiff_t>(pairs.size());
      while (true) {
        const bool up_ok = up < n && out.sum - pairs[static_cast<size_t>(up)].sum > 0;
        const bool down_ok = down >= 0 && out.sum - pairs[static_cast<size_t>(down)].sum < gap;
        if (!up_ok && !down_ok) break;
        ptrdiff_t k;
        if (up_ok && (!down_ok || pairs[static_cast<size_t>(up)].sum - target <=
                                      target - pairs[static_cast<size_t>(down)].sum)) {
          k = up++;
        } else {
          k = down--;
        }
        const auto& in = pairs[static_cast<size_t>(k)];
        const double d = out.sum - in.sum;
        const double worse = std::max(hot - d, cold + d);
        if (worse >= best) break;
        const size_t out_pos[2] = {out.i, out.j};
        const size_t in_pos[2] = {in.i, in.j};
        const int after = duplicates_after(pk, h, out_pos, in_pos, scratch.keys) +
                          duplicates_after(pk, q, in_pos, out_pos, scratch.keys);
        if (after > before) continue;
        best = worse;
        best_out = out;
        best_in = in;
        best_q = q;
        break;
      }
    }
  }
  if (best_q < 0) return false;
  for (auto [a, b] : {std::pair{best_out.i, best_in.i}, std::pair{best_out.j, best_in.j}}) {
    std::swap(pk.key[a], pk.key[b]);
    std::swap(pk.weight[a], pk.weight[b]);
  }
  pk.update_load(h);
  pk.update_load(best_q);
  for (size_t pos : {best_out.i, best_out.j, best_in.i, best_in.j}) pk.resort_item(pos);
  return true;
}

}  // namespace eplb::planner
