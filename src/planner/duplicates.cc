#include "planner/duplicates.h"

#include <algorithm>

#include "planner/rank_load.h"

namespace eplb::planner {

int spread_duplicates(Packing& pk, double limit) {
  const auto cap = static_cast<size_t>(pk.capacity);
  int left = 0;
  for (int32_t p = 0; p < pk.num_packs; ++p) {
    const size_t p_first = static_cast<size_t>(p) * cap;
    for (size_t i = p_first + 1; i < p_first + cap; ++i) {
      const int32_t a = pk.key[i];
      // Only the second and later occurrences of a key on the pack move.
      if (std::find(pk.key.begin() + static_cast<ptrdiff_t>(p_first),
                    pk.key.begin() + static_cast<ptrdiff_t>(i),
                    a) == pk.key.begin() + static_cast<ptrdiff_t>(i)) {
        continue;
      }
      const double x = pk.weight[i];
      double best = limit;
      bool found = false;
      size_t best_j = 0;
      for (int32_t q = 0; q < pk.num_packs; ++q) {
        if (q == p || pk.count_key(q, a) > 0) continue;
        const size_t q_first = static_cast<size_t>(q) * cap;
        for (size_t j = q_first; j < q_first + cap; ++j) {
          const double y = pk.weight[j];
          const double worse = std::max(pk.load[static_cast<size_t>(p)] - x + y,
                                        pk.load[static_cast<size_t>(q)] - y + x);
          if (worse > best || (found && worse == best)) continue;
          if (pk.count_key(p, pk.key[j]) > 0) continue;
          best = worse;
          best_j = j;
          found = true;
        }
      }
      if (found) {
        pk.swap_items(i, best_j);
      } else {
        ++left;
      }
    }
  }
  return left;
}

int count_duplicates(const Packing& pk) {
  const auto cap = static_cast<size_t>(pk.capacity);
  int duplicates = 0;
  for (size_t i = 0; i < pk.key.size(); ++i) {
    const size_t first = i / cap * cap;
    duplicates += std::find(pk.key.begin() + static_cast<ptrdiff_t>(first),
                            pk.key.begin() + static_cast<ptrdiff_t>(i),
                            pk.key[i]) != pk.key.begin() + static_cast<ptrdiff_t>(i);
  }
  return duplicates;
}

int donate_duplicates(std::span<const double> expert_loads, int32_t num_ranks, int32_t num_nodes,
                      double limit, std::span<int32_t> phy2log, std::vector<int32_t>& replica_count,
                      std::vector<double>& rank_load) {
  const auto sz = [](int32_t n) { return static_cast<size_t>(n); };
  int left = 0;
  const size_t slots_per_rank = phy2log.size() / sz(num_ranks);
  const size_t slots_per_node = phy2log.size() / sz(num_nodes);
  const auto num_experts = static_cast<int32_t>(expert_loads.size());
  for (size_t s = 0; s < phy2log.size(); ++s) {
    const size_t rank_first = s / slots_per_rank * slots_per_rank;
    const int32_t e = phy2log[s];
    if (std::find(phy2log.begin() + static_cast<ptrdiff_t>(rank_first),
                  phy2log.begin() + static_cast<ptrdiff_t>(s),
                  e) == phy2log.begin() + static_cast<ptrdiff_t>(s)) {
      continue;  // first copy of e on its rank
    }
    // Candidates: experts of the same node that are not on this rank.
    const size_t node_first = s / slots_per_node * slots_per_node;
    double best = limit;
    int32_t best_f = -1;
    for (int32_t f = 0; f < num_experts; ++f) {
      const auto node_begin = phy2log.begin() + static_cast<ptrdiff_t>(node_first);
      if (f == e || std::find(node_begin, node_begin + static_cast<ptrdiff_t>(slots_per_node), f) ==
                        node_begin + static_cast<ptrdiff_t>(slots_per_node)) {
        continue;
      }
      const auto rank_begin = phy2log.begin() + static_cast<ptrdiff_t>(rank_first);
      if (std::find(rank_begin, rank_begin + static_cast<ptrdiff_t>(slots_per_rank), f) !=
          rank_begin + static_cast<ptrdiff_t>(slots_per_rank)) {
        continue;
      }
      phy2log[s] = f;
      const double hottest =
          max_rank_load(expert_loads, phy2log, num_ranks, replica_count, rank_load);
      phy2log[s] = e;
      if (hottest < best || (hottest == best && best_f < 0)) {
        best = hottest;
        best_f = f;
      }
    }
    if (best_f >= 0) {
      phy2log[s] = best_f;
    } else {
      ++left;
    }
  }
  return left;
}

}  // namespace eplb::planner
