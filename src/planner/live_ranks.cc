#include "planner/live_ranks.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "eplb/error.h"

namespace eplb::planner {
namespace {

size_t sz(int32_t n) { return static_cast<size_t>(n); }

// The live deployment's options: the live ranks as ranks, nodes kept when each node keeps the
// same number of live ranks, no rank excluded.
PlanOptions live_options(const PlanOptions& options, const std::vector<char>& excluded_rank,
                         int32_t num_live_ranks) {
  PlanOptions live = options;
  live.excluded_ranks.clear();
  live.num_ranks = num_live_ranks;
  live.num_slots = num_live_ranks * (options.num_slots / options.num_ranks);
  const int32_t ranks_per_node = options.num_ranks / options.num_nodes;
  bool uniform = true;
  int32_t first_node_live = -1;
  for (int32_t node = 0; node < options.num_nodes; ++node) {
    int32_t node_live = 0;
    for (int32_t r = node * ranks_per_node; r < (node + 1) * ranks_per_node; ++r) {
      node_live += excluded_rank[sz(r)] == 0;
    }
    if (first_node_live < 0) first_node_live = node_live;
    uniform = uniform && node_live == first_node_live;
  }
  if (!uniform || first_node_live == 0) live.num_nodes = 1;
  return live;
}

}  // namespace

LiveRankPlanner::LiveRankPlanner(const PlanOptions& options, int num_experts)
    : options_(options), num_experts_(num_experts) {
  if (options.excluded_ranks.empty()) {
    full_ = std::make_unique<LayerPlanner>(options, num_experts);
    return;
  }
  const int32_t slots_per_rank = options.num_slots / options.num_ranks;
  std::vector<char> excluded_rank(sz(options.num_ranks), 0);
  for (int r : options.excluded_ranks) excluded_rank[sz(r)] = 1;
  excluded_slot_.assign(sz(options.num_slots), 0);
  int32_t num_live_ranks = 0;
  for (int32_t r = 0; r < options.num_ranks; ++r) {
    for (int32_t k = 0; k < slots_per_rank; ++k) {
      const int32_t s = r * slots_per_rank + k;
      if (excluded_rank[sz(r)] != 0) {
        excluded_slot_[sz(s)] = 1;
      } else {
        live_slot_.push_back(s);
      }
    }
    num_live_ranks += excluded_rank[sz(r)] == 0;
  }
  PlanOptions live = live_options(options, excluded_rank, num_live_ranks);
  if (live.num_slots >= num_experts) {
    live_ = std::make_unique<LayerPlanner>(live, num_experts);
  } else {
    live.num_groups = 1;  // the chosen experts are no longer whole groups
    partial_ = std::make_unique<LayerPlanner>(live, live.num_slots);
  }
}

void LiveRankPlanner::plan(std::span<const double> expert_loads, std::span<const int32_t> current,
                           std::span<int32_t> phy2log, std::span<double> routing_weight,
                           LayerReport* report) {
  if (full_) {
    // A current placement may lack experts (lost while ranks were excluded, now back).
    std::span<const int32_t> start = current;
    if (!current.empty()) {
      sub_current_.assign(current.begin(), current.end());
      if (repair_current(expert_loads, sub_current_)) start = sub_current_;
    }
    full_->plan(expert_loads, start, phy2log, routing_weight, report);
    if (report != nullptr && report->has_data && start.data() != current.data()) {
      report->moved_slots = 0;
      for (size_t s = 0; s < current.size(); ++s) report->moved_slots += phy2log[s] != current[s];
    }
    return;
  }
  if (routing_weight.size() != phy2log.size()) {
    throw Error("plan_layer: --exclude-ranks needs routing_weight [num_slots] (the slots of "
                "excluded ranks get share 0)");
  }
  const size_t num_live = live_slot_.size();
  sub_phy_.resize(num_live);
  sub_weight_.resize(num_live);
  uncovered_.clear();
  if (current.empty()) {
    sub_current_.clear();
  } else {
    sub_current_.resize(num_live);
    for (size_t i = 0; i < num_live; ++i) sub_current_[i] = current[sz(live_slot_[i])];
  }
  if (live_) {
    plan_covered(expert_loads, current, report);
  } else {
    plan_partial(expert_loads, current, report);
  }

  for (size_t s = 0; s < phy2log.size(); ++s) {
    if (excluded_slot_[s] == 0) continue;
    phy2log[s] = current.empty() ? static_cast<int32_t>(s % sz(num_experts_)) : current[s];
    routing_weight[s] = 0.0;
  }
  for (size_t i = 0; i < num_live; ++i) {
    phy2log[sz(live_slot_[i])] = sub_phy_[i];
    routing_weight[sz(live_slot_[i])] = sub_weight_[i];
  }
  cover_missing(phy2log);
  if (report != nullptr) {
    report->uncovered_experts = uncovered_;
    if (report->has_data) {
      report->moved_slots = 0;
      for (size_t s = 0; s < current.size(); ++s) report->moved_slots += phy2log[s] != current[s];
    }
  }
}

bool LiveRankPlanner::repair_current(std::span<const double> expert_loads,
                                     std::vector<int32_t>& row) {
  count_.assign(sz(num_experts_), 0);
  for (int32_t e : row) ++count_[sz(e)];
  order_.clear();
  for (int32_t e = 0; e < num_experts_; ++e) {
    if (count_[sz(e)] == 0) order_.push_back(e);
  }
  std::stable_sort(order_.begin(), order_.end(), [&](int32_t a, int32_t b) {
    return expert_loads[sz(a)] > expert_loads[sz(b)];
  });
  for (int32_t missing : order_) {
    size_t donor = row.size();
    double best = 0;
    for (size_t i = row.size(); i-- > 0;) {
      const int32_t e = row[i];
      if (count_[sz(e)] < 2) continue;
      const double after = expert_loads[sz(e)] / (count_[sz(e)] - 1);
      if (donor == row.size() || after < best) {
        donor = i;
        best = after;
      }
    }
    // row.size() >= E and an expert without a slot: some expert holds two.
    --count_[sz(row[donor])];
    row[donor] = missing;
    ++count_[sz(missing)];
  }
  return !order_.empty();
}

void LiveRankPlanner::plan_covered(std::span<const double> expert_loads,
                                   std::span<const int32_t> current, LayerReport* report) {
  if (!current.empty()) repair_current(expert_loads, sub_current_);
  live_->plan(expert_loads, sub_current_, sub_phy_, sub_weight_, report);
}

void LiveRankPlanner::plan_partial(std::span<const double> expert_loads,
                                   std::span<const int32_t> current, LayerReport* report) {
  // The most loaded experts get the live slots; ties go to experts already live, then ids.
  const size_t num_live = live_slot_.size();
  count_.assign(sz(num_experts_), 0);
  for (int32_t e : sub_current_) ++count_[sz(e)];
  order_.resize(sz(num_experts_));
  std::iota(order_.begin(), order_.end(), 0);
  std::stable_sort(order_.begin(), order_.end(), [&](int32_t a, int32_t b) {
    if (expert_loads[sz(a)] != expert_loads[sz(b)]) return expert_loads[sz(a)] > expert_loads[sz(b)];
    return (count_[sz(a)] > 0) > (count_[sz(b)] > 0);
  });
  chosen_.assign(order_.begin(), order_.begin() + static_cast<ptrdiff_t>(num_live));
  uncovered_.assign(order_.begin() + static_cast<ptrdiff_t>(num_live), order_.end());
  std::sort(chosen_.begin(), chosen_.end());
  std::sort(uncovered_.begin(), uncovered_.end());
  sub_of_.assign(sz(num_experts_), -1);
  sub_loads_.resize(num_live);
  for (size_t i = 0; i < num_live; ++i) {
    sub_of_[sz(chosen_[i])] = static_cast<int32_t>(i);
    sub_loads_[i] = expert_loads[sz(chosen_[i])];
  }
  if (!current.empty()) {
    // Chosen experts stay in one live slot where they are; the other live slots take the
    // chosen experts still without one.
    std::vector<char> placed(num_live, 0);
    for (int32_t& e : sub_current_) {
      const int32_t sub = sub_of_[sz(e)];
      e = (sub >= 0 && placed[sz(sub)] == 0) ? sub : -1;
      if (e >= 0) placed[sz(e)] = 1;
    }
    size_t next = 0;
    for (int32_t& e : sub_current_) {
      if (e >= 0) continue;
      while (placed[next] != 0) ++next;
      e = static_cast<int32_t>(next);
      placed[next] = 1;
    }
  }
  partial_->plan(sub_loads_, sub_current_, sub_phy_, sub_weight_, report);
  for (int32_t& e : sub_phy_) e = chosen_[sz(e)];
}

void LiveRankPlanner::cover_missing(std::span<int32_t> phy2log) {
  count_.assign(sz(num_experts_), 0);
  for (int32_t e : phy2log) ++count_[sz(e)];
  size_t s = phy2log.size();
  for (int32_t e = 0; e < num_experts_; ++e) {
    if (count_[sz(e)] > 0) continue;
    // Live slots hold distinct experts whenever one is missing (< E live slots), so the
    // second copies that make room (num_slots >= E) lie on excluded slots.
    while (s-- > 0) {
      if (excluded_slot_[s] != 0 && count_[sz(phy2log[s])] > 1) break;
    }
    if (s == static_cast<size_t>(-1)) {
      throw Error("plan_layer: no excluded slot left to hold uncovered expert " +
                  std::to_string(e));
    }
    --count_[sz(phy2log[s])];
    phy2log[s] = e;
    ++count_[sz(e)];
  }
}

void summarize_uncovered(const std::vector<int>& layer_ids, PlanReport& report) {
  std::string text;
  for (size_t l = 0; l < report.layers.size(); ++l) {
    const std::vector<int32_t>& uncovered = report.layers[l].uncovered_experts;
    if (uncovered.empty()) continue;
    ++report.layers_uncovered;
    text += "; layer " + std::to_string(layer_ids[l]) + ": ";
    for (size_t i = 0; i < uncovered.size(); ++i) {
      if (i > 0) text += ',';
      text += std::to_string(uncovered[i]);
    }
  }
  if (report.layers_uncovered == 0) return;
  report.warnings.push_back(
      "experts without a slot on a live rank (their tokens are dropped) in " +
      std::to_string(report.layers_uncovered) + " of " + std::to_string(report.layers.size()) +
      " layers" + text);
}

}  // namespace eplb::planner
