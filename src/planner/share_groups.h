// Two slots per rank, weighted routing: a placement designed for the shares.
//
// Ranks linked by replicated experts form groups. A group of n experts on n - 1 ranks (a tree:
// n - 2 extra replicas) can be laid out as a star: its heaviest expert (the hub) on every one of
// its ranks, one other expert (a leaf) beside it on each. With shares free the hub tops up its
// ranks like water, so the group's hottest rank is
//
//   max(group tokens / group ranks, heaviest leaf)
//
// and no layout of those experts on those ranks does better. The even-split planner's groups
// are mostly such stars already (a hot expert with the lightest experts beside it, everything
// else in pairs), but chosen for even shares: e.g. two experts just under the mean rank load
// cannot pair with anything light enough, yet share two ranks well with one light expert as the
// hub. So, starting from the groups of a given placement: while the hottest group can be
// lowered, take the split of its experts and one other group's (every split into two groups on
// the same number of ranks, or one group where the two had a rank to spare, e.g. two experts
// replicated on the same two ranks) whose hotter half is coolest, until no split lowers it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace eplb::planner {

// Reuses its buffers between calls; not thread-safe.
class ShareGroupSearch {
 public:
  // Two groups are re-split only when they hold at most this many experts together (a split
  // tries 2^(kMaxExperts-1) ways).
  static constexpr int kMaxExperts = 14;
  // Splits (and groups scanned) tried per layer before the search stops with what it has: a
  // bound on the time of large deployments (DeepSeek-V3 at 288 slots on 144 ranks needs at
  // most ~120k; 2048 ranks with many hot experts would take minutes unbounded).
  static constexpr size_t kMaxWork = size_t{1} << 19;

  // `expert_loads` [num_experts] tokens, `phy2log` [num_slots] with two slots per rank, whose
  // hottest rank under its best shares carries `hottest` tokens. Rewrites `phy2log` with the
  // stars of the searched groups (no rank holds an expert twice; every expert of `phy2log`
  // keeps at least one slot) and returns true when their hottest rank is below `hottest`;
  // otherwise leaves it as it is and returns false.
  bool improve(std::span<const double> expert_loads, std::span<int32_t> phy2log, double hottest);

 private:
  struct Group {
    std::vector<int32_t> experts;  // heaviest first
    int32_t ranks = 0;
    double tokens = 0;
    double hottest = 0;  // the star's hottest rank (tokens)
  };
  // The best split of groups a and b, if it lowers the hotter of the two below `bound`.
  struct Split {
    uint32_t mask = 0;   // bit i - 1 set: union_[i] goes with union_[0] (i >= 1); all: merged
    int32_t ranks = 0;   // ranks of union_[0]'s half
    double hotter = 0;   // the hotter half's hottest rank
    double squares = 0;  // sum of both halves' squared hottest ranks (ties: the more even)
  };

  void collect_groups(std::span<const double> expert_loads, std::span<const int32_t> phy2log);
  // Best split of groups_[a] and groups_[b] whose hotter half is below `bound`, into `best`
  // (only if better than it; union_ then holds the experts its mask refers to). Returns
  // whether it found one.
  bool best_split(std::span<const double> expert_loads, size_t a, size_t b, double bound,
                  Split& best);
  // groups_[a] and groups_[b] <- the halves of best_union_ by `split`.
  void apply_split(std::span<const double> expert_loads, size_t a, size_t b, const Split& split);
  void write_stars(std::span<int32_t> phy2log) const;

  size_t work_ = 0;  // splits and groups tried in this improve() call
  std::vector<Group> groups_;
  std::vector<int32_t> parent_;      // [num_ranks] union-find over ranks
  std::vector<int32_t> first_rank_;  // [num_experts] first rank seen holding the expert, -1
  std::vector<int32_t> group_of_;    // [num_ranks] root rank -> group index, -1
  std::vector<int32_t> union_;       // experts of the two groups being split, heaviest first
  std::vector<double> union_load_;   // their tokens
  std::vector<int32_t> best_union_;  // union_ of the pair with the best split so far
};

}  // namespace eplb::planner
