// Weighted routing: each replica's share of its expert's tokens, for a given placement.
//
// With shares free, the hottest rank of a placement is a min-max flow problem: expert e sends
// its tokens to the ranks holding it, in any proportions. The set of achievable rank-load
// vectors is the base polytope of a polymatroid, so the flow that minimises the sum of squared
// rank loads also minimises the hottest rank (Fujishige's lexicographically optimal base). We
// approach it by coordinate descent: one expert at a time pours its tokens onto its ranks like
// water, filling the least loaded first (every other expert fixed), heaviest experts first,
// until a sweep changes no part by more than a relative 1e-9, or kFlatSweeps sweeps in a row
// leave the hottest rank where it was (the parts may still drift, the objective does not:
// about 5 sweeps instead of 24-32 on the workloads), or after kMaxSweeps. A pour never
// raises the hottest of its ranks, so the result is never worse than even shares; on the
// workloads of docs/planner.md it is within 1e-5 of the exact optimum (checked against a
// max-flow bisection) after 10-20 sweeps. Experts with one replica have nothing to choose.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace eplb::planner {

// Reuses its buffers between calls; not thread-safe.
class ShareSolver {
 public:
  // Upper bound on the sweeps over the replicated experts.
  static constexpr int kMaxSweeps = 32;
  // Sweeps in a row that lower the hottest rank by at most a relative 1e-9 end the descent.
  static constexpr int kFlatSweeps = 2;

  // `expert_loads` [num_experts] tokens, `phy2log` [num_slots] on `num_ranks` ranks (slot s on
  // rank s / (num_slots / num_ranks)) -> `routing_weight` [num_slots]: each slot's share of its
  // expert's tokens, >= 0 and summing to 1 per expert (even shares for an expert without
  // tokens; replicas of one expert on one rank share its part evenly). Returns the hottest
  // rank's tokens under those shares.
  double solve(std::span<const double> expert_loads, std::span<const int32_t> phy2log,
               int32_t num_ranks, std::span<double> routing_weight);

 private:
  // Pours `load` onto the ranks rank_[first, last) given their loads without it; writes the
  // tokens each receives into part_[first, last).
  void pour(double load, size_t first, size_t last);

  std::vector<int32_t> replica_count_;  // [num_experts]
  std::vector<int32_t> expert_first_;   // [num_experts + 1] CSR over the replicated experts
  std::vector<int32_t> rank_;           // [entries] distinct ranks of each replicated expert
  std::vector<int32_t> copies_;         // [entries] its slots on that rank
  std::vector<double> part_;            // [entries] tokens it sends to that rank
  std::vector<int32_t> replicated_;     // replicated experts with tokens, heaviest first
  std::vector<double> rank_load_;       // [num_ranks]
  std::vector<double> level_;           // scratch of pour(): base loads, sorted
  std::vector<double> old_;             // scratch: an expert's parts before pouring
  std::vector<int32_t> stamp_;          // [num_experts] scratch
};

}  // namespace eplb::planner
