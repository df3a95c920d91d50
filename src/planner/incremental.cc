#include "planner/incremental.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "planner/keep_current.h"
#include "planner/rank_load.h"
#include "planner/topology.h"

namespace eplb::planner {
namespace {

size_t sz(int32_t n) { return static_cast<size_t>(n); }

constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();

// A goal for the hottest rank: `target` tokens plus move_tolerance mean rank loads, and a
// relative 1e-12 so that summation order cannot fail it.
double goal_above(double target, double mean, const PlanOptions& options) {
  return (target + options.move_tolerance * mean) * (1 + 1e-12);
}

// Replicas that `a` and `b` (same length) have in common, as multisets. `tally`
// [num_experts] is zero on entry and on return; `row` is scratch of a.size().
int32_t common_replicas(std::span<const int32_t> a, std::span<const int32_t> b,
                        std::vector<int32_t>& tally, std::vector<int32_t>& row) {
  for (int32_t e : b) ++tally[sz(e)];
  int32_t common = 0;
  for (size_t k = 0; k < a.size(); ++k) {
    int32_t& left = tally[sz(a[k])];
    row[k] = left > 0;
    left -= row[k];
    common += row[k];
  }
  for (size_t k = 0; k < a.size(); ++k) tally[sz(a[k])] += row[k];
  for (int32_t e : b) --tally[sz(e)];
  return common;
}

}  // namespace

void IncrementalPlanner::plan(std::span<const double> expert_loads, const PlanOptions& options,
                              std::span<const int32_t> current, std::span<int32_t> phy2log,
                              const Goal& first) {
  const int32_t num_ranks = options.num_ranks;
  fresh_phy2log_.resize(phy2log.size());
  const bool hierarchical = options.num_nodes > 1 && options.num_groups % options.num_nodes == 0;
  const int64_t budget = options.max_moves < 0 ? kNoLimit : options.max_moves;
  matched_.resize(phy2log.size());
  tally_.assign(expert_loads.size(), 0);
  if (hierarchical) {
    plan_hierarchical(expert_loads, options, current, phy2log, first, budget);
    return;
  }
  nodes_.slots_per_node = 0;
  const double mean = first.mean;
  double goal = first.first;
  bool reached = search(expert_loads, current, num_ranks, goal, budget);
  bool have_fresh = false;
  if (!reached) {
    // The aim may be out of reach: a fresh plan says how close one can get.
    fresh_.plan(expert_loads, options, fresh_phy2log_);
    have_fresh = true;
    const double fresh_max = max_rank_load(expert_loads, fresh_phy2log_, num_ranks, count_, load_);
    const double fresh_goal = goal_above(fresh_max, mean, options);
    if (fresh_goal > goal) {
      goal = fresh_goal;
      reached = search(expert_loads, current, num_ranks, goal, budget);
    }
  }
  // The relabelled fresh plan only where the search failed or moved much: it keeps roughly a
  // rank's worth of matches at best, and costs an O(ranks^3) matching.
  bool take_matched = false;
  if (!reached || moves_ > static_cast<int64_t>(phy2log.size()) / 4) {
    if (!have_fresh) fresh_.plan(expert_loads, options, fresh_phy2log_);
    // Only a relabelling within the budget (and, when the search reached the goal, moving
    // fewer slots) can be taken.
    const int64_t limit = reached ? std::min(budget, moves_ - 1) : budget;
    const int64_t matched_moves = match_fresh(current, num_ranks, 1, matched_, limit);
    take_matched = matched_moves <= limit;
  }
  const auto& best = take_matched ? matched_ : q_;
  std::copy(best.begin(), best.end(), phy2log.begin());
}

void IncrementalPlanner::plan_hierarchical(std::span<const double> expert_loads,
                                           const PlanOptions& options,
                                           std::span<const int32_t> current,
                                           std::span<int32_t> phy2log, const Goal& first,
                                           int64_t budget) {
  const int32_t num_ranks = options.num_ranks;
  const int32_t num_nodes = options.num_nodes;
  const double total = std::accumulate(expert_loads.begin(), expert_loads.end(), 0.0);
  // The goal: what a fresh plan aims for (the lower bound within balance_slack), or its hottest
  // rank where that is above, plus the tolerance.
  const double mean = first.mean;
  const double aim = first.aim;
  // A layer already within the aim (plus the tolerance) stays as it is, without a fresh plan:
  // the goal below is at least that, so the search would stop at once.
  if (max_rank_load(expert_loads, current, num_ranks, count_, load_) <= first.first) {
    std::copy(current.begin(), current.end(), phy2log.begin());
    return;
  }
  fresh_.plan(expert_loads, options, fresh_phy2log_);
  const double fresh_max = max_rank_load(expert_loads, fresh_phy2log_, num_ranks, count_, load_);
  const double goal = goal_above(std::max(aim, fresh_max), mean, options);
  // The off-home budget: what the fresh plan serves off its groups' main nodes (or, raised in
  // search(), what the current placement does).
  nodes_.budget =
      cross_node_share(expert_loads, fresh_phy2log_, {}, num_nodes, options.num_groups) * total;
  nodes_.slots_per_node = current.size() / sz(num_nodes);
  nodes_.slots_per_rank = current.size() / sz(num_ranks);
  nodes_.group_size = static_cast<int32_t>(expert_loads.size()) / options.num_groups;
  const double fresh_off_home = nodes_.budget;
  set_homes(expert_loads, current, num_nodes);
  bool reached = search(expert_loads, current, num_ranks, goal, budget);
  const auto quarter = static_cast<int64_t>(phy2log.size()) / 4;
  // A second search from the start_ that `make_start` sets (it may use q_), kept where it
  // reaches the goal with fewer moves (or the placement so far misses the goal).
  auto search_again = [&](auto make_start) {
    first_.assign(q_.begin(), q_.end());
    const int64_t first_moves = moves_;
    make_start();
    nodes_.budget = fresh_off_home;
    if (search(expert_loads, start_, current, num_ranks, goal, budget, goal) &&
        (!reached || moves_ < first_moves)) {
      reached = true;
    } else {
      q_.swap(first_);
      moves_ = first_moves;
    }
  };
  // Where --max-moves ran out, a second search (which starts with moves spent) cannot do better.
  const bool moves_spent = !reached && moves_ >= budget;
  if ((!reached || moves_ > quarter) && !moves_spent) {
    // The node loads first: the same search with whole nodes as bins (no replica beside a
    // copy of itself on its rank), aiming at the mean node load (it stops where no swap or
    // hand-over within the off-home budget lowers the hottest node), then the ranks from
    // there. On the DeepSeek-V3 trace, 4 nodes x 8 groups: 13.6% -> 11.3% moved per window
    // (the fresh plan's hottest node as the nodes' goal: 12.0%).
    search_again([&] {
      nodes_.budget = fresh_off_home;
      search(expert_loads, current, current, num_nodes, total / num_nodes, budget, goal);
      start_.assign(q_.begin(), q_.end());
    });
  }
  if (!reached || moves_ > quarter) {
    // The groups may have to change nodes (the traffic mix changed): start again from the
    // current placement with each node's replicas set to the fresh plan's (nodes matched),
    // every replica already on its node left in its slot; the search then evens the ranks.
    search_again([&] {
      regroup(expert_loads, current, num_ranks, num_nodes);
      set_homes(expert_loads, start_, num_nodes);
    });
  }
  // The fresh plan with ranks matched within their node where the searches failed or moved
  // much.
  bool take_matched = false;
  if (!reached || moves_ > quarter) {
    const int64_t limit = reached ? std::min(budget, moves_ - 1) : budget;
    take_matched = match_fresh(current, num_ranks, num_nodes, matched_, limit) <= limit;
  }
  const auto& best = take_matched ? matched_ : q_;
  std::copy(best.begin(), best.end(), phy2log.begin());
}

IncrementalPlanner::Goal IncrementalPlanner::first_goal(std::span<const double> expert_loads,
                                                        const PlanOptions& options,
                                                        std::span<const int32_t> current) {
  Goal goal;
  goal.mean = std::accumulate(expert_loads.begin(), expert_loads.end(), 0.0) / options.num_ranks;
  goal.aim = std::max(goal.mean, largest_replica_bound(expert_loads, current)) *
             (1 + options.balance_slack);
  goal.first = goal_above(goal.aim, goal.mean, options);
  return goal;
}

void IncrementalPlanner::set_homes(std::span<const double> expert_loads,
                                   std::span<const int32_t> current, int32_t num_nodes) {
  const size_t num_groups = expert_loads.size() / sz(nodes_.group_size);
  count_.assign(expert_loads.size(), 0);
  for (int32_t e : current) ++count_[sz(e)];
  group_node_.assign(num_groups * sz(num_nodes), 0.0);
  for (size_t s = 0; s < current.size(); ++s) {
    const auto e = sz(current[s]);
    group_node_[e / sz(nodes_.group_size) * sz(num_nodes) + s / nodes_.slots_per_node] +=
        expert_loads[e] / count_[e];
  }
  nodes_.expert_home.resize(expert_loads.size());
  for (size_t e = 0; e < expert_loads.size(); ++e) {
    const auto first =
        group_node_.begin() + static_cast<ptrdiff_t>(e / sz(nodes_.group_size) * sz(num_nodes));
    nodes_.expert_home[e] =
        static_cast<int32_t>(std::max_element(first, first + num_nodes) - first);
  }
  nodes_.slot_node.resize(current.size());
  for (size_t s = 0; s < current.size(); ++s) {
    nodes_.slot_node[s] = static_cast<int32_t>(s / nodes_.slots_per_node);
  }
}

double IncrementalPlanner::off_home_tokens() const {
  double tokens = 0;
  for (size_t s = 0; s < q_.size(); ++s) tokens += off_home(s, q_[s]) ? weight_[s] : 0.0;
  return tokens;
}

double IncrementalPlanner::largest_replica_bound(std::span<const double> expert_loads,
                                                 std::span<const int32_t> current) {
  // The current counts are often water-filling's already (they were, for the loads the
  // current placement was planned from).
  bound_count_.assign(expert_loads.size(), 0);
  for (int32_t e : current) ++bound_count_[sz(e)];
  if (const auto largest = largest_replica_if_optimal(expert_loads, bound_count_)) {
    return *largest;
  }
  bound_extra_.resize(current.size() - expert_loads.size());
  return water_fill<double>(expert_loads, bound_count_, bound_extra_, bound_scratch_);
}

void IncrementalPlanner::match_nodes(std::span<const int32_t> current, int32_t num_nodes) {
  const size_t slots_per_node = current.size() / sz(num_nodes);
  const std::span<const int32_t> fresh = fresh_phy2log_;
  row_.resize(slots_per_node);
  node_of_.resize(sz(num_nodes));
  if (num_nodes == 1) {
    node_of_[0] = 0;
    return;
  }
  overlap_.resize(sz(num_nodes) * sz(num_nodes));
  for (size_t n = 0; n < sz(num_nodes); ++n) {
    for (size_t m = 0; m < sz(num_nodes); ++m) {
      overlap_[n * sz(num_nodes) + m] =
          common_replicas(fresh.subspan(n * slots_per_node, slots_per_node),
                          current.subspan(m * slots_per_node, slots_per_node), tally_, row_);
    }
  }
  max_weight_assignment(overlap_, num_nodes, node_of_, assignment_);
}

void IncrementalPlanner::regroup(std::span<const double> expert_loads,
                                 std::span<const int32_t> current, int32_t num_ranks,
                                 int32_t num_nodes) {
  const size_t num_slots = current.size();
  const size_t slots_per_rank = num_slots / sz(num_ranks);
  const size_t slots_per_node = num_slots / sz(num_nodes);
  match_nodes(current, num_nodes);
  fresh_count_.assign(expert_loads.size(), 0);
  for (int32_t e : fresh_phy2log_) ++fresh_count_[sz(e)];
  start_.assign(num_slots, -1);
  load_.assign(sz(num_ranks), 0.0);
  for (size_t n = 0; n < sz(num_nodes); ++n) {
    const size_t fresh_first = n * slots_per_node;
    const size_t first = sz(node_of_[n]) * slots_per_node;
    for (size_t k = 0; k < slots_per_node; ++k) ++tally_[sz(fresh_phy2log_[fresh_first + k])];
    // Replicas already on the node stay in their slots: first one copy per rank, then second
    // copies on a rank only while the node needs more (keeping those first could leave a rank
    // with two copies where the node had room for them on two ranks).
    for (const bool second_copies : {false, true}) {
      for (size_t s = first; s < first + slots_per_node; ++s) {
        const int32_t e = current[s];
        int32_t& left = tally_[sz(e)];
        if (left == 0 || start_[s] >= 0) continue;
        const auto rank_first =
            current.begin() + static_cast<ptrdiff_t>(s / slots_per_rank * slots_per_rank);
        if (!second_copies && std::find(rank_first, current.begin() + static_cast<ptrdiff_t>(s),
                                        e) != current.begin() + static_cast<ptrdiff_t>(s)) {
          continue;
        }
        --left;
        start_[s] = e;
        load_[s / slots_per_rank] += expert_loads[sz(e)] / fresh_count_[sz(e)];
      }
    }
    // The others, heaviest first, to the least loaded rank of the node with a free slot
    // (one without that expert if there is one).
    pending_.clear();
    for (size_t k = 0; k < slots_per_node; ++k) {
      const int32_t e = fresh_phy2log_[fresh_first + k];
      if (tally_[sz(e)] == 0) continue;
      --tally_[sz(e)];
      pending_.push_back(e);
    }
    auto weight = [&](int32_t e) { return expert_loads[sz(e)] / fresh_count_[sz(e)]; };
    std::sort(pending_.begin(), pending_.end(), [&](int32_t x, int32_t y) {
      return weight(x) > weight(y) || (weight(x) == weight(y) && x < y);
    });
    // Whether rank r of start_ holds e in a slot other than `except`.
    auto holds = [&](size_t r, int32_t e, size_t except) {
      for (size_t s = r * slots_per_rank; s < (r + 1) * slots_per_rank; ++s) {
        if (s != except && start_[s] == e) return true;
      }
      return false;
    };
    for (int32_t e : pending_) {
      size_t slot = num_slots;
      bool slot_clean = false;
      for (size_t s = first; s < first + slots_per_node; ++s) {
        if (start_[s] >= 0) continue;
        const size_t r = s / slots_per_rank;
        const bool clean = !holds(r, e, num_slots);
        if (slot == num_slots || (clean && !slot_clean) ||
            (clean == slot_clean && load_[r] < load_[slot / slots_per_rank])) {
          slot = s;
          slot_clean = clean;
        }
      }
      start_[slot] = e;
      load_[slot / slots_per_rank] += weight(e);
    }
    // A replica beside a copy of itself (placed where no clean slot was left, or a second copy
    // kept) swaps with one on another rank of the node where neither rank then holds two
    // copies: a moved one first (no extra move), else one kept in its slot.
    for (size_t s = first; s < first + slots_per_node; ++s) {
      const int32_t e = start_[s];
      const size_t r = s / slots_per_rank;
      if (!holds(r, e, s)) continue;
      size_t other = num_slots;
      for (size_t t = first; t < first + slots_per_node; ++t) {
        const size_t q = t / slots_per_rank;
        if (q == r || holds(q, e, t) || holds(r, start_[t], s)) continue;
        if (other == num_slots || (start_[t] != current[t] && start_[other] == current[other])) {
          other = t;
        }
      }
      if (other == num_slots) continue;
      const double d = weight(e) - weight(start_[other]);
      load_[r] -= d;
      load_[other / slots_per_rank] += d;
      std::swap(start_[s], start_[other]);
    }
  }
}

int64_t IncrementalPlanner::match_fresh(std::span<const int32_t> current, int32_t num_ranks,
                                        int32_t num_nodes, std::span<int32_t> out, int64_t limit) {
  const size_t slots_per_rank = current.size() / sz(num_ranks);
  const size_t slots_per_node = current.size() / sz(num_nodes);
  const int32_t ranks_per_node = num_ranks / num_nodes;
  const auto rpn = sz(ranks_per_node);
  const std::span<const int32_t> fresh = fresh_phy2log_;
  auto rank_of = [&](std::span<const int32_t> p, size_t r) {
    return p.subspan(r * slots_per_rank, slots_per_rank);
  };
  row_.resize(slots_per_node);
  // A relabelling keeps at most each current rank's best overlap with a fresh rank.
  int64_t most_kept = 0;
  for (size_t j = 0; j < sz(num_ranks); ++j) {
    int32_t best = 0;
    for (size_t i = 0; i < sz(num_ranks); ++i) {
      best = std::max(best, common_replicas(rank_of(fresh, i), rank_of(current, j), tally_, row_));
    }
    most_kept += best;
  }
  const auto num_slots = static_cast<int64_t>(current.size());
  if (num_slots - most_kept > limit) return num_slots - most_kept;  // cannot fit: no matching
  match_nodes(current, num_nodes);
  // Then the ranks of each pair of nodes.
  overlap_.resize(rpn * rpn);
  column_.resize(rpn);
  for (size_t n = 0; n < sz(num_nodes); ++n) {
    const size_t fresh_first = n * rpn;
    const size_t current_first = sz(node_of_[n]) * rpn;
    for (size_t i = 0; i < rpn; ++i) {
      for (size_t j = 0; j < rpn; ++j) {
        overlap_[i * rpn + j] = common_replicas(rank_of(fresh, fresh_first + i),
                                                rank_of(current, current_first + j), tally_, row_);
      }
    }
    max_weight_assignment(overlap_, ranks_per_node, column_, assignment_);
    for (size_t i = 0; i < rpn; ++i) {
      const auto from = rank_of(fresh, fresh_first + i);
      std::copy(
          from.begin(), from.end(),
          out.begin() + static_cast<ptrdiff_t>((current_first + sz(column_[i])) * slots_per_rank));
    }
  }
  keep_current_slots(out, current, static_cast<int32_t>(slots_per_rank), tally_, row_);
  int64_t moves = 0;
  for (size_t s = 0; s < out.size(); ++s) moves += out[s] != current[s];
  return moves;
}

void IncrementalPlanner::recount(std::span<const double> expert_loads, int32_t num_ranks) {
  count_.assign(expert_loads.size(), 0);
  for (int32_t e : q_) ++count_[sz(e)];
  weight_.resize(q_.size());
  for (size_t s = 0; s < q_.size(); ++s) {
    const auto e = sz(q_[s]);
    weight_[s] = expert_loads[e] / count_[e];
  }
  load_.resize(sz(num_ranks));
  moved_on_.resize(sz(num_ranks));
  sorted_.resize(q_.size());
  std::iota(sorted_.begin(), sorted_.end(), 0);
  for (size_t r = 0; r < sz(num_ranks); ++r) refresh_rank(r);
  if (nodes_.slots_per_node > 0) nodes_.off_home = off_home_tokens();
}

void IncrementalPlanner::refresh_rank(size_t r) {
  const size_t slots_per_rank = q_.size() / load_.size();
  const size_t first = r * slots_per_rank;
  double sum = 0;  // slot order: the same sums as eplb::rank_loads()
  for (size_t s = first; s < first + slots_per_rank; ++s) sum += weight_[s];
  load_[r] = sum;
  int32_t moved = 0;
  for (size_t s = first; s < first + slots_per_rank; ++s) moved += q_[s] != current_[s];
  moved_on_[r] = moved;
  // Insertion sort of the rank's slots by weight descending (ties: lower slot first).
  int32_t* order = sorted_.data() + first;
  for (size_t k = 1; k < slots_per_rank; ++k) {
    const int32_t slot = order[k];
    const double w = weight_[sz(slot)];
    size_t m = k;
    for (; m > 0; --m) {
      const int32_t prev = order[m - 1];
      if (weight_[sz(prev)] > w || (weight_[sz(prev)] == w && prev < slot)) break;
      order[m] = prev;
    }
    order[m] = slot;
  }
}

bool IncrementalPlanner::search(std::span<const double> expert_loads,
                                std::span<const int32_t> current, int32_t num_ranks, double goal,
                                int64_t budget) {
  return search(expert_loads, current, current, num_ranks, goal, budget, goal);
}

bool IncrementalPlanner::search(std::span<const double> expert_loads,
                                std::span<const int32_t> start, std::span<const int32_t> current,
                                int32_t num_ranks, double goal, int64_t budget,
                                double replica_goal) {
  q_.assign(start.begin(), start.end());
  current_ = current;
  moves_ = 0;
  for (size_t s = 0; s < current.size(); ++s) moves_ += start[s] != current[s];
  if (moves_ > budget) return false;
  recount(expert_loads, num_ranks);
  if (nodes_.slots_per_node == 0) {
    return search_from<false>(expert_loads, num_ranks, goal, budget, replica_goal);
  }
  nodes_.budget = std::max(nodes_.budget, nodes_.off_home) * (1 + 1e-9);
  return search_from<true>(expert_loads, num_ranks, goal, budget, replica_goal);
}

template <bool limit_off_home>
bool IncrementalPlanner::search_from(std::span<const double> expert_loads, int32_t num_ranks,
                                     double goal, int64_t budget, double replica_goal) {
  const std::span<const int32_t> current = current_;
  const size_t num_slots = current.size();
  const size_t slots_per_rank = num_slots / sz(num_ranks);
  auto replica = [&](size_t e) { return expert_loads[e] / count_[e]; };
  auto on_rank = [&](size_t r, int32_t e) {
    const auto first = q_.begin() + static_cast<ptrdiff_t>(r * slots_per_rank);
    return std::find(first, first + static_cast<ptrdiff_t>(slots_per_rank), e) !=
           first + static_cast<ptrdiff_t>(slots_per_rank);
  };
  // Whether the rank of `slot` holds e; with nodes the bins may be whole nodes.
  auto on_rank_of = [&](size_t slot, int32_t e) {
    if constexpr (!limit_off_home) return on_rank(slot / slots_per_rank, e);
    const size_t rank_slots = nodes_.slots_per_rank;
    const auto first = q_.begin() + static_cast<ptrdiff_t>(slot / rank_slots * rank_slots);
    return std::find(first, first + static_cast<ptrdiff_t>(rank_slots), e) !=
           first + static_cast<ptrdiff_t>(rank_slots);
  };
  auto hottest = [&] {
    return sz(static_cast<int32_t>(std::max_element(load_.begin(), load_.end()) - load_.begin()));
  };
  // Hands a slot of the expert that loses least by giving one up to expert b, on the coolest
  // rank without b (and not `avoid`); returns whether it did. One moved slot (or one undone).
  auto hand_over = [&](int32_t b, size_t avoid) {
    // Donor a's replica after it gives one up; it must stay below b's replica now.
    auto after_giving = [&](int32_t a) { return expert_loads[sz(a)] / (count_[sz(a)] - 1); };
    auto worth = [&](int32_t a) { return a >= 0 && after_giving(a) < replica(sz(b)); };
    // Gives a slot of donor a to b: the coolest rank with a and without b; with nodes, if that
    // serves too much off home, the coolest such rank on b's home node.
    auto from = [&](int32_t a) {
      size_t slot = num_slots;
      size_t home_slot = num_slots;
      for (size_t s = 0; s < num_slots; ++s) {
        const size_t r = s / slots_per_rank;
        if (q_[s] != a || r == avoid || on_rank_of(s, b)) continue;
        if (slot == num_slots || load_[r] < load_[slot / slots_per_rank]) slot = s;
        if (limit_off_home && !off_home(s, b) &&
            (home_slot == num_slots || load_[r] < load_[home_slot / slots_per_rank])) {
          home_slot = s;
        }
      }
      // Whether giving slot `at` keeps the tokens served off home within the budget.
      auto fits = [&](size_t at) {
        if constexpr (!limit_off_home) return true;
        const double a_after = after_giving(a);
        const double b_after = expert_loads[sz(b)] / (count_[sz(b)] + 1);
        double off = nodes_.off_home;
        for (size_t s = 0; s < num_slots; ++s) {
          if (q_[s] == a && off_home(s, a)) off += (s == at ? 0.0 : a_after) - weight_[s];
          if (q_[s] == b && off_home(s, b)) off += b_after - weight_[s];
        }
        if (off_home(at, b)) off += b_after;
        return off <= nodes_.budget;
      };
      auto give = [&](size_t at) {
        const int64_t delta = (b != current[at]) - (a != current[at]);
        if (moves_ + delta > budget || !fits(at)) return false;
        q_[at] = b;
        moves_ += delta;
        recount(expert_loads, num_ranks);
        return true;
      };
      return slot != num_slots &&
             (give(slot) || (home_slot != num_slots && home_slot != slot && give(home_slot)));
    };
    const int32_t cheapest = cheapest_donor(expert_loads, count_, b);
    if (!worth(cheapest)) return false;
    if (from(cheapest)) return true;
    // That donor has no slot to give (each of its ranks holds b, or the limits): the others
    // that are worth it, the one that loses least first (lowest index among equals).
    donors_.clear();
    for (size_t e = 0; e < count_.size(); ++e) {
      const auto a = static_cast<int32_t>(e);
      if (count_[e] > 1 && a != b && a != cheapest && worth(a)) donors_.push_back(a);
    }
    std::sort(donors_.begin(), donors_.end(), [&](int32_t x, int32_t y) {
      return after_giving(x) < after_giving(y) || (after_giving(x) == after_giving(y) && x < y);
    });
    for (int32_t a : donors_) {
      if (from(a)) return true;
    }
    return false;
  };

  // Replica counts where they must change: no replica may be above the goal.
  // The largest replica from the slots' weights (every expert has a slot; no division), the
  // lowest expert among equals.
  while (true) {
    int32_t b = q_[0];
    double largest = weight_[0];
    for (size_t s = 1; s < num_slots; ++s) {
      const double w = weight_[s];
      const bool wins = w > largest || (w == largest && q_[s] < b);
      b = wins ? q_[s] : b;
      largest = wins ? w : largest;
    }
    if (largest <= replica_goal || !hand_over(b, num_slots)) break;
  }

  // Swaps (or hand-overs) on the hottest rank. The swap taken is the best by this order: one
  // that reaches the goal first, then fewest moves (delta: -2..2), then the coolest result
  // max(hot - d, cold + d). A swap of two slots that both hold their current expert moves two
  // slots, so it is the best only if it is the coolest swap of all (`coolest` below); swaps
  // that move fewer involve a slot already moved, few enough to try them all (`best` below).
  struct Choice {
    bool fits = false;
    int delta = 3;  // 3: none
    double hot = std::numeric_limits<double>::infinity();
    size_t i = 0;
    size_t j = 0;
  };
  auto better = [](const Choice& x, const Choice& y) {
    if (x.fits != y.fits) return x.fits;
    if (x.fits) return x.delta < y.delta || (x.delta == y.delta && x.hot < y.hot);
    return x.hot < y.hot || (x.hot == y.hot && x.delta < y.delta);
  };
  // Ranks by load ascending (ties: lower index): sorted by insertion at the start and after a
  // hand-over (every load changes), the two ranks of a swap repositioned.
  by_load_.resize(sz(num_ranks));
  std::iota(by_load_.begin(), by_load_.end(), 0);
  auto lighter = [&](int32_t x, int32_t y) {
    const double lx = load_[sz(x)];
    const double ly = load_[sz(y)];
    return lx < ly || (lx == ly && x < y);
  };
  auto resort_ranks = [&] {
    for (size_t k = 1; k < by_load_.size(); ++k) {
      const int32_t r = by_load_[k];
      size_t m = k;
      for (; m > 0 && lighter(r, by_load_[m - 1]); --m) by_load_[m] = by_load_[m - 1];
      by_load_[m] = r;
    }
  };
  // Ranks x and y changed load (a swap): both out of by_load_, then each back in by binary
  // search among the others, which are still in order. (Moving one at a time searched a range
  // that still held the other at its old place, and could leave a warmer rank before the end:
  // the search then stopped with a rank above the goal.)
  auto reposition = [&](size_t x, size_t y) {
    const auto rx = static_cast<int32_t>(x);
    const auto ry = static_cast<int32_t>(y);
    by_load_.erase(std::remove_if(by_load_.begin(), by_load_.end(),
                                  [&](int32_t r) { return r == rx || r == ry; }),
                   by_load_.end());
    for (const int32_t r : {rx, ry}) {
      by_load_.insert(std::upper_bound(by_load_.begin(), by_load_.end(), r, lighter), r);
    }
  };
  resort_ranks();
  for (size_t step = 0; step < 4 * num_slots; ++step) {
    const size_t h = sz(by_load_.back());
    const double hot = load_[h];
    if (hot <= goal) return true;
    const size_t h_first = h * slots_per_rank;
    // Swap i (on h) <-> j (on q): its choice.
    auto choice = [&](size_t i, size_t j, double cold) {
      const double d = weight_[i] - weight_[j];
      const int32_t a = q_[i];
      const int32_t b = q_[j];
      Choice c;
      c.hot = std::max(hot - d, cold + d);
      c.fits = c.hot <= goal;
      c.delta = (a != current[j]) + (b != current[i]) - (a != current[i]) - (b != current[j]);
      c.i = i;
      c.j = j;
      return c;
    };
    // With nodes: the change of the tokens served off home by swap c.
    auto off_home_change = [&](const Choice& c) {
      const int32_t a = q_[c.i];
      const int32_t b = q_[c.j];
      return (off_home(c.j, a) - off_home(c.i, a)) * weight_[c.i] +
             (off_home(c.i, b) - off_home(c.j, b)) * weight_[c.j];
    };
    // Whether that swap is allowed: within the budgets, no expert beside itself.
    auto allowed = [&](const Choice& c, size_t q) {
      const int32_t a = q_[c.i];
      const int32_t b = q_[c.j];
      if constexpr (limit_off_home) {  // first: the cheap test that rejects most under the budget
        const double change = off_home_change(c);
        if (change > 0 && nodes_.off_home + change > nodes_.budget) return false;
      }
      if (moves_ + c.delta > budget || a == b) return false;
      if constexpr (limit_off_home) return !on_rank_of(c.j, a) && !on_rank_of(c.i, b);
      return !on_rank(q, a) && !on_rank(h, b);
    };
    // With nodes: whether no swap between h and rank q can be within the off-home budget. A
    // swap changes the tokens off home by A(i) + B(j), the moves of h's replica i to q's node
    // and of q's replica j to h's node; it is allowed at a change up to max(0, room).
    [[maybe_unused]] auto off_home_blocks = [&](size_t q) {
      if constexpr (limit_off_home) {
        const int32_t h_node = nodes_.slot_node[h_first];
        const int32_t q_node = nodes_.slot_node[q * slots_per_rank];
        if (q_node == h_node) return false;  // within a node: no change
        double least = std::numeric_limits<double>::infinity();
        for (size_t i = h_first; i < h_first + slots_per_rank; ++i) {
          const int32_t home = nodes_.expert_home[sz(q_[i])];
          least = std::min(least, ((home != q_node) - (home != h_node)) * weight_[i]);
        }
        double least_back = std::numeric_limits<double>::infinity();
        for (size_t j = q * slots_per_rank; j < (q + 1) * slots_per_rank; ++j) {
          const int32_t home = nodes_.expert_home[sz(q_[j])];
          least_back = std::min(least_back, ((home != h_node) - (home != q_node)) * weight_[j]);
        }
        return least + least_back > std::max(0.0, nodes_.budget - nodes_.off_home);
      }
      return false;
    };
    // The coolest allowed swap: for each item x of h, the partners of q nearest x - gap / 2
    // (weights sorted descending), walking outwards until one is allowed.
    Choice coolest;
    for (int32_t rank : by_load_) {
      const auto q = sz(rank);
      const double cold = load_[q];
      const double gap = hot - cold;
      if (gap <= 0 || (hot + cold) / 2 >= coolest.hot) break;  // the rest are warmer
      if (off_home_blocks(q)) continue;
      const int32_t* hs = sorted_.data() + h_first;
      const int32_t* qs = sorted_.data() + q * slots_per_rank;
      const auto cap = static_cast<ptrdiff_t>(slots_per_rank);
      ptrdiff_t below = 0;  // first partner at or below the aim
      for (ptrdiff_t k = 0; k < cap; ++k) {
        const auto i = sz(hs[k]);
        const double x = weight_[i];
        const double aim = x - gap / 2;
        while (below < cap && weight_[sz(qs[below])] > aim) ++below;
        ptrdiff_t up = below - 1;
        ptrdiff_t down = below;
        while (true) {
          const bool up_ok = up >= 0 && x - weight_[sz(qs[up])] > 0;
          const bool down_ok = down < cap && x - weight_[sz(qs[down])] < gap;
          if (!up_ok && !down_ok) break;
          const bool take_up =
              up_ok && (!down_ok || weight_[sz(qs[up])] - aim <= aim - weight_[sz(qs[down])]);
          const auto j = sz(take_up ? qs[up--] : qs[down++]);
          if (std::max(hot - (x - weight_[j]), cold + (x - weight_[j])) >= coolest.hot) break;
          const Choice c = choice(i, j, cold);
          if (!allowed(c, q)) continue;
          coolest = c;
          break;
        }
      }
    }
    // Swaps with a slot already moved, where they could beat the best: max(hot - d, cold + d)
    // within `bound` (weights sorted descending: d rises along q's slots, falls along h's).
    Choice best = coolest;
    auto bound = [&] { return best.fits ? goal : best.hot; };
    auto consider = [&](size_t i, size_t j, size_t q, double cold) {
      const double d = weight_[i] - weight_[j];
      const double b = bound();
      if (!((d > 0) & (d < hot - cold) & (hot - d <= b) & (cold + d <= b))) return;
      const Choice c = choice(i, j, cold);
      if (better(c, best) && allowed(c, q)) best = c;
    };
    h_moved_.clear();
    for (size_t i = h_first; i < h_first + slots_per_rank; ++i) {
      if (q_[i] != current[i]) h_moved_.push_back(i);
    }
    for (int32_t rank : by_load_) {
      if (moves_ == 0) break;  // nothing moved yet: no such swap
      const auto q = sz(rank);
      const double cold = load_[q];
      if (q == h || hot + cold > 2 * bound()) break;  // the rest are warmer
      const size_t q_first = q * slots_per_rank;
      if ((h_moved_.empty() && moved_on_[q] == 0) || off_home_blocks(q)) continue;
      // consider()'s window for d, with the bound of now (it only tightens): a swap moving d
      // tokens lowers h too little or raises q too much. Both are monotone in d (rounding
      // too), so each side's extreme partner tells whether any partner can be in the window.
      const double b = bound();
      auto too_little = [&](double d) { return d <= 0 || hot - d > b; };
      auto too_much = [&](double d) { return d >= hot - cold || cold + d > b; };
      const int32_t* hs = sorted_.data() + h_first;
      const int32_t* qs = sorted_.data() + q_first;
      const double q_heaviest = weight_[sz(qs[0])];
      const double q_lightest = weight_[sz(qs[slots_per_rank - 1])];
      for (size_t i : h_moved_) {  // moved on h, any of q
        const double x = weight_[i];
        if (too_little(x - q_lightest) || too_much(x - q_heaviest)) continue;
        size_t t = 0;  // d = x - w rises along q's slots
        while (too_little(x - weight_[sz(qs[t])])) ++t;
        for (; t < slots_per_rank; ++t) {
          const auto j = sz(qs[t]);
          const double d = x - weight_[j];
          if (d >= hot - cold || cold + d > bound()) break;
          consider(i, j, q, cold);
        }
      }
      if (moved_on_[q] == 0) continue;
      const double h_heaviest = weight_[sz(hs[0])];
      const double h_lightest = weight_[sz(hs[slots_per_rank - 1])];
      for (size_t j = q_first; j < q_first + slots_per_rank; ++j) {
        if (q_[j] == current[j]) continue;  // moved on q, any of h
        const double y = weight_[j];
        if (too_little(h_heaviest - y) || too_much(h_lightest - y)) continue;
        size_t t = 0;  // d = w - y falls along h's slots
        while (too_much(weight_[sz(hs[t])] - y)) ++t;
        for (; t < slots_per_rank; ++t) {
          const auto i = sz(hs[t]);
          const double d = weight_[i] - y;
          if (d <= 0 || hot - d > bound()) break;
          consider(i, j, q, cold);
        }
      }
    }
    if (best.delta <= 2) {
      if constexpr (limit_off_home) nodes_.off_home += off_home_change(best);
      std::swap(q_[best.i], q_[best.j]);
      std::swap(weight_[best.i], weight_[best.j]);
      moves_ += best.delta;
      refresh_rank(h);
      refresh_rank(best.j / slots_per_rank);
      reposition(h, best.j / slots_per_rank);
      continue;
    }
    // No swap lowers the hottest rank: a replica more for its heaviest expert per replica.
    size_t b = num_slots;
    for (size_t i = h_first; i < h_first + slots_per_rank; ++i) {
      if (b == num_slots || weight_[i] > weight_[b]) b = i;
    }
    before_.assign(q_.begin(), q_.end());
    const int64_t moves_before = moves_;
    if (!hand_over(q_[b], h) || load_[hottest()] >= hot) {
      q_.swap(before_);
      moves_ = moves_before;
      recount(expert_loads, num_ranks);
      return false;
    }
    resort_ranks();  // every rank's load changed with the counts
  }
  return load_[hottest()] <= goal;
}

}  // namespace eplb::planner
