#include "planner/count_search.h"

#include <algorithm>
#include <limits>

#include "planner/duplicates.h"
#include "planner/rank_load.h"
#include "planner/refine.h"
#include "planner/replicate.h"

namespace eplb::planner {
namespace {

size_t sz(int32_t n) { return static_cast<size_t>(n); }

constexpr double kInfinity = std::numeric_limits<double>::infinity();
// Experts of the hottest rank tried per round (its heaviest replicas).
constexpr size_t kReceivers = 4;

}  // namespace

double CountSearch::quick_trial(std::span<const double> expert_loads, int32_t num_ranks,
                                int32_t num_slots, double slack) {
  runs_.resize(expert_loads.size());
  double largest = 0;
  double total = 0;
  for (size_t e = 0; e < expert_loads.size(); ++e) {
    const double weight = expert_loads[e] / count_[e];
    runs_[e] = {weight, static_cast<int32_t>(e), count_[e]};
    largest = std::max(largest, weight);
    total += expert_loads[e];
  }
  const int duplicates = deal_runs(runs_, num_ranks, num_slots / num_ranks, trial_, deal_);
  trial_target_ = std::max(largest, total / num_ranks) * (1 + slack);
  RefineLimits limits;
  limits.target = trial_target_;
  limits.max_swaps = kRefineSwapsPerSlot * num_slots;
  limits.max_pair_swaps = 0;
  limits.any_partner = false;
  trial_swaps_ = refine_to_target(trial_, limits, pair_swap_);
  // Refinement never adds a duplicate: only the dealing's need a look.
  if (duplicates > 0 && count_duplicates(trial_) > 0) return kInfinity;
  return *std::max_element(trial_.load.begin(), trial_.load.end());
}

double CountSearch::improve(std::span<const double> expert_loads, int32_t num_ranks, double slack,
                            int max_rounds, double hottest, std::span<int32_t> phy2log) {
  const size_t slots_per_rank = phy2log.size() / sz(num_ranks);
  const auto num_slots = static_cast<int32_t>(phy2log.size());
  for (int round = 0; round < max_rounds; ++round) {
    // The experts of the plan's hottest rank, heaviest replica first (counts in count_).
    max_rank_load(expert_loads, phy2log, num_ranks, count_, rank_load_);
    const auto h = static_cast<size_t>(std::max_element(rank_load_.begin(), rank_load_.end()) -
                                       rank_load_.begin());
    const auto first = phy2log.begin() + static_cast<ptrdiff_t>(h * slots_per_rank);
    receivers_.assign(first, first + static_cast<ptrdiff_t>(slots_per_rank));
    auto heavier = [&](int32_t a, int32_t b) {
      const double wa = expert_loads[sz(a)] / count_[sz(a)];
      const double wb = expert_loads[sz(b)] / count_[sz(b)];
      return wa > wb || (wa == wb && a < b);
    };
    std::sort(receivers_.begin(), receivers_.end(), heavier);
    receivers_.erase(std::unique(receivers_.begin(), receivers_.end()), receivers_.end());
    if (receivers_.size() > kReceivers) receivers_.resize(kReceivers);

    // Each move is tried with a quick refinement (the coldest rank as the only partner); the
    // best one, if cooler than the plan, is then refined in full.
    double best = hottest;
    bool found = false;
    for (int32_t b : receivers_) {
      if (count_[sz(b)] >= num_ranks) continue;  // one more would share a rank
      const int32_t a = cheapest_donor(expert_loads, count_, b);
      if (a < 0 || expert_loads[sz(a)] / (count_[sz(a)] - 1) >= best) continue;
      --count_[sz(a)];
      ++count_[sz(b)];
      const double trial = quick_trial(expert_loads, num_ranks, num_slots, slack);
      if (trial < best) {
        best = trial;
        found = true;
        best_ = trial_;
        best_target_ = trial_target_;
        best_swaps_ = trial_swaps_;
      }
      ++count_[sz(a)];
      --count_[sz(b)];
    }
    if (!found) break;
    // The kept trial refined as a plan would be, from where the quick refinement stopped, within
    // what is left of the same swap budget (never hotter; adds no duplicate).
    refine_to_target(
        best_, {best_target_, kRefineSwapsPerSlot * num_slots - best_swaps_, kRefinePairSwaps},
        pair_swap_);
    hottest = *std::max_element(best_.load.begin(), best_.load.end());
    std::copy(best_.key.begin(), best_.key.end(), phy2log.begin());
  }
  return hottest;
}

}  // namespace eplb::planner
