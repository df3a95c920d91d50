#include "planner/duplicates.h"

#include <algorithm>


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

int avoidable_duplicates(std::span<const int32_t> phy2log, int32_t num_ranks, int32_t num_nodes,
                         size_t num_experts, std::vector<int32_t>& stamp) {
  const size_t slots_per_rank = phy2log.size() / static_cast<size_t>(num_ranks);
  const size_t slots_per_node = phy2log.size() / static_cast<size_t>(num_nodes);
  const auto ranks_per_node = static_cast<int32_t>(num_ranks / num_nodes);
  // stamp[3e]: copies of e on the node; stamp[3e + 1]: ranks of the node holding it, each
  // counted at its first copy (slots are visited rank by rank); stamp[3e + 2]: 1 + the last.
  stamp.assign(3 * num_experts, 0);
  int avoidable = 0;
  int32_t rank = 0;
  for (size_t node_first = 0; node_first < phy2log.size(); node_first += slots_per_node) {
    for (size_t first = node_first; first < node_first + slots_per_node;
         first += slots_per_rank, ++rank) {
      for (size_t s = first; s < first + slots_per_rank; ++s) {
        const auto e = static_cast<size_t>(phy2log[s]);
        ++stamp[3 * e];
        if (stamp[3 * e + 2] != rank + 1) ++stamp[3 * e + 1];
        stamp[3 * e + 2] = rank + 1;
      }
    }
    for (size_t s = node_first; s < node_first + slots_per_node; ++s) {
      const auto e = static_cast<size_t>(phy2log[s]);
      if (stamp[3 * e] == 0) continue;  // counted already
      avoidable += std::min(stamp[3 * e], ranks_per_node) - stamp[3 * e + 1];
      stamp[3 * e] = 0;
      stamp[3 * e + 1] = 0;
    }
  }
  return avoidable;
}

int donate_duplicates(std::span<const double> expert_loads, int32_t num_ranks, int32_t num_nodes,
                      double limit, std::span<int32_t> phy2log, std::vector<int32_t>& replica_count,
                      std::vector<double>& rank_load) {
  const auto sz = [](int32_t n) { return static_cast<size_t>(n); };
  const size_t num_experts = expert_loads.size();
  const size_t slots_per_rank = phy2log.size() / sz(num_ranks);
  const size_t slots_per_node = phy2log.size() / sz(num_nodes);
  int left = 0;
  std::vector<double> after(sz(num_ranks));
  for (size_t s = 0; s < phy2log.size(); ++s) {
    const size_t rank_first = s / slots_per_rank * slots_per_rank;
    const int32_t e = phy2log[s];
    const auto rank_begin = phy2log.begin() + static_cast<ptrdiff_t>(rank_first);
    if (std::find(rank_begin, phy2log.begin() + static_cast<ptrdiff_t>(s), e) ==
        phy2log.begin() + static_cast<ptrdiff_t>(s)) {
      continue;  // first copy of e on its rank
    }
    // Rank loads as they are, replica counts over the node of s.
    const size_t node_first = s / slots_per_node * slots_per_node;
    const auto node = phy2log.subspan(node_first, slots_per_node);
    replica_count.assign(num_experts, 0);
    for (int32_t f : phy2log) ++replica_count[sz(f)];
    rank_load.assign(sz(num_ranks), 0.0);
    for (size_t t = 0; t < phy2log.size(); ++t) {
      const auto f = sz(phy2log[t]);
      rank_load[t / slots_per_rank] += expert_loads[f] / replica_count[f];
    }
    // Without this copy, e's other replicas carry more; the rank of s loses the copy.
    const auto ue = sz(e);
    const double share = expert_loads[ue] / replica_count[ue];
    const double gain = expert_loads[ue] / (replica_count[ue] - 1) - share;
    after = rank_load;
    for (size_t t = 0; t < phy2log.size(); ++t) {
      if (t != s && phy2log[t] == e) after[t / slots_per_rank] += gain;
    }
    const size_t r = s / slots_per_rank;
    after[r] -= share;
    double others = 0;  // hottest other rank; the recipient's ranks only get lighter
    for (size_t q = 0; q < after.size(); ++q) {
      if (q != r) others = std::max(others, after[q]);
    }
    // The recipient: an expert of the node not on this rank whose new replica is lightest.
    int32_t best_f = -1;
    double best_share = 0;
    for (int32_t f : node) {
      const auto uf = sz(f);
      if (f == e || std::find(rank_begin, rank_begin + static_cast<ptrdiff_t>(slots_per_rank), f) !=
                        rank_begin + static_cast<ptrdiff_t>(slots_per_rank)) {
        continue;
      }
      const double f_share = expert_loads[uf] / (replica_count[uf] + 1);
      if (best_f < 0 || f_share < best_share || (f_share == best_share && f < best_f)) {
        best_f = f;
        best_share = f_share;
      }
    }
    if (best_f >= 0 && std::max(others, after[r] + best_share) <= limit) {
      phy2log[s] = best_f;
    } else {
      ++left;
    }
  }
  return left;
}

}  // namespace eplb::planner
