#include "planner/share_groups.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <numeric>

namespace eplb::planner {
namespace {

size_t sz(int32_t n) { return static_cast<size_t>(n); }

constexpr double kInf = std::numeric_limits<double>::infinity();

// The hottest rank of a star: `experts` experts (`second` tokens: the heaviest leaf) on `ranks`
// ranks with `tokens` tokens in all. More ranks than a tree needs give the hub a second slot
// beside some leaves (write_stars()), which the formula does not credit: it stays an upper
// bound there. Fewer than a tree needs cannot hold the experts.
double star_hottest(double tokens, int32_t experts, int32_t ranks, double second) {
  if (experts < 2 || ranks < experts - 1) return kInf;
  return std::max(tokens / ranks, second);
}

// Heaviest first, ties by expert id: the order of every expert list here.
auto heavier_first(std::span<const double> loads) {
  return [loads](int32_t x, int32_t y) {
    return loads[sz(x)] > loads[sz(y)] || (loads[sz(x)] == loads[sz(y)] && x < y);
  };
}

int32_t find_root(std::vector<int32_t>& parent, int32_t x) {
  while (parent[sz(x)] != x) {
    parent[sz(x)] = parent[sz(parent[sz(x)])];
    x = parent[sz(x)];
  }
  return x;
}

}  // namespace

void ShareGroupSearch::collect_groups(std::span<const double> expert_loads,
                                      std::span<const int32_t> phy2log) {
  const auto num_ranks = static_cast<int32_t>(phy2log.size() / 2);
  parent_.resize(sz(num_ranks));
  std::iota(parent_.begin(), parent_.end(), 0);
  first_rank_.assign(expert_loads.size(), -1);
  for (size_t s = 0; s < phy2log.size(); ++s) {
    const auto rank = static_cast<int32_t>(s / 2);
    int32_t& first = first_rank_[sz(phy2log[s])];
    if (first < 0) {
      first = rank;
    } else {
      parent_[sz(find_root(parent_, rank))] = find_root(parent_, first);
    }
  }
  group_of_.assign(sz(num_ranks), -1);
  size_t count = 0;
  for (int32_t r = 0; r < num_ranks; ++r) {
    const int32_t root = find_root(parent_, r);
    if (group_of_[sz(root)] < 0) group_of_[sz(root)] = static_cast<int32_t>(count++);
  }
  groups_.resize(count);
  for (Group& g : groups_) {
    g.experts.clear();
    g.ranks = 0;
    g.tokens = 0;
  }
  for (int32_t r = 0; r < num_ranks; ++r) ++groups_[sz(group_of_[sz(find_root(parent_, r))])].ranks;
  for (size_t e = 0; e < first_rank_.size(); ++e) {
    if (first_rank_[e] < 0) continue;
    Group& g = groups_[sz(group_of_[sz(find_root(parent_, first_rank_[e]))])];
    g.experts.push_back(static_cast<int32_t>(e));
    g.tokens += expert_loads[e];
  }
  for (Group& g : groups_) {
    std::sort(g.experts.begin(), g.experts.end(), heavier_first(expert_loads));
    const double second = g.experts.size() > 1 ? expert_loads[sz(g.experts[1])] : 0.0;
    g.hottest = star_hottest(g.tokens, static_cast<int32_t>(g.experts.size()), g.ranks, second);
  }
}

bool ShareGroupSearch::best_split(std::span<const double> expert_loads, size_t a, size_t b,
                                  double bound, Split& best) {
  const Group& ga = groups_[a];
  const Group& gb = groups_[b];
  const size_t m = ga.experts.size() + gb.experts.size();
  if (m > static_cast<size_t>(kMaxExperts) || m < 3) return false;
  union_.resize(m);
  std::merge(ga.experts.begin(), ga.experts.end(), gb.experts.begin(), gb.experts.end(),
             union_.begin(), heavier_first(expert_loads));
  union_load_.resize(m);
  double total = 0;
  for (size_t i = 0; i < m; ++i) {
    union_load_[i] = expert_loads[sz(union_[i])];
    total += union_load_[i];
  }
  const int32_t ranks = ga.ranks + gb.ranks;
  const auto n = static_cast<int32_t>(m);
  const int32_t surplus = ranks - (n - 2);  // >= 0: both groups hold their experts
  const uint32_t full = (1u << (m - 1)) - 1;
  work_ += full + 1;
  bool found = false;
  const auto consider = [&](uint32_t mask, int32_t first_ranks, double hot_first, double hot_rest) {
    const double hotter = std::max(hot_first, hot_rest);
    if (hotter >= bound) return;
    const double squares = hot_first * hot_first + hot_rest * hot_rest;
    if (hotter < best.hotter || (hotter == best.hotter && squares < best.squares)) {
      best = Split{mask, first_ranks, hotter, squares};
      found = true;
    }
  };
  // Gray code over the experts after union_[0] (which is always in the first half): one
  // expert changes sides per step.
  double first_tokens = union_load_[0];
  int32_t first_n = 1;
  for (uint32_t i = 0; i <= full; ++i) {
    const uint32_t mask = i ^ (i >> 1);
    if (i > 0) {
      const int bit = std::countr_zero(i);
      const bool joined = (mask >> bit & 1u) != 0;
      first_tokens += joined ? union_load_[sz(bit + 1)] : -union_load_[sz(bit + 1)];
      first_n += joined ? 1 : -1;
    }
    const uint32_t rest = full & ~mask;
    const int32_t rest_n = n - first_n;
    if (mask == full && surplus > 0) {
      // One group on all the ranks (a tree where the two had a spare rank).
      consider(mask, ranks, std::max(total / ranks, union_load_[1]), 0.0);
      continue;
    }
    if (mask == 0 || rest_n < 2) continue;
    const double first_second = union_load_[sz(std::countr_zero(mask) + 1)];
    const double rest_second = union_load_[sz(std::countr_zero(rest & (rest - 1)) + 1)];
    const double rest_tokens = total - first_tokens;
    for (int32_t extra = 0; extra <= surplus; ++extra) {
      const int32_t first_ranks = first_n - 1 + extra;
      consider(mask, first_ranks, std::max(first_tokens / first_ranks, first_second),
               std::max(rest_tokens / (ranks - first_ranks), rest_second));
    }
  }
  return found;
}

void ShareGroupSearch::apply_split(std::span<const double> expert_loads, size_t a, size_t b,
                                   const Split& split) {
  Group& first = groups_[a];
  Group& rest = groups_[b];
  const int32_t ranks = first.ranks + rest.ranks;
  first.experts.clear();
  rest.experts.clear();
  first.tokens = rest.tokens = 0;
  for (size_t i = 0; i < best_union_.size(); ++i) {
    const bool with_first = i == 0 || (split.mask >> (i - 1) & 1u) != 0;
    Group& g = with_first ? first : rest;
    g.experts.push_back(best_union_[i]);
    g.tokens += expert_loads[sz(best_union_[i])];
  }
  first.ranks = split.ranks;
  rest.ranks = ranks - split.ranks;
  for (Group* g : {&first, &rest}) {
    if (g->experts.empty()) continue;
    g->hottest = star_hottest(g->tokens, static_cast<int32_t>(g->experts.size()), g->ranks,
                              expert_loads[sz(g->experts[1])]);
  }
  if (rest.experts.empty()) {  // merged: drop the empty group
    std::swap(groups_[b], groups_.back());
    groups_.pop_back();
  }
}

void ShareGroupSearch::write_stars(std::span<int32_t> phy2log) const {
  size_t slot = 0;
  for (const Group& g : groups_) {
    const size_t leaves = g.experts.size() - 1;
    for (int32_t r = 0; r < g.ranks; ++r) {
      phy2log[slot++] = g.experts[0];
      phy2log[slot++] = g.experts[1 + sz(r) % leaves];
    }
  }
}

bool ShareGroupSearch::improve(std::span<const double> expert_loads, std::span<int32_t> phy2log,
                               double hottest) {
  collect_groups(expert_loads, phy2log);
  if (groups_.size() < 2) return false;
  work_ = 0;
  // Each step lowers the hottest group or ends the search; the caps only bound the time.
  const size_t max_steps = 8 * groups_.size();
  for (size_t step = 0; step < max_steps && work_ < kMaxWork; ++step) {
    size_t a = 0;
    for (size_t g = 1; g < groups_.size(); ++g) {
      if (groups_[g].hottest > groups_[a].hottest) a = g;
    }
    const double bound = groups_[a].hottest;
    Split best{0, 0, bound, kInf};
    size_t with = a;
    work_ += groups_.size();
    for (size_t b = 0; b < groups_.size() && work_ < kMaxWork; ++b) {
      if (b == a) continue;
      // No split of the two beats their average rank.
      const double average =
          (groups_[a].tokens + groups_[b].tokens) / (groups_[a].ranks + groups_[b].ranks);
      if (average >= best.hotter) continue;
      if (best_split(expert_loads, a, b, bound, best)) {
        with = b;
        best_union_.assign(union_.begin(), union_.end());
      }
    }
    if (with == a) break;
    apply_split(expert_loads, a, with, best);
  }
  double searched = 0;
  for (const Group& g : groups_) searched = std::max(searched, g.hottest);
  if (!(searched < hottest * (1 - 1e-9))) return false;
  write_stars(phy2log);
  return true;
}

}  // namespace eplb::planner
