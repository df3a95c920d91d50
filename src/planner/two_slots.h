// Two slots per rank: a rank is a pair of replicas. For given replica counts, pairing the
// heaviest replica with the lightest, the second heaviest with the second lightest and so on is
// optimal, and DeepSeek's packing does exactly that; so the balance is decided by the counts.
// Water-filling minimises the largest replica, not the largest pair: moving a replica from an
// expert that can spare one (it then carries least per replica) to an expert of the hottest
// pair lowers it (1.2867 -> 1.2814 mean max/mean on DeepSeek-V3-like loads, 288 slots on 144
// ranks).
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace eplb::planner {

// Scratch of improve_pairs(), reused between calls.
struct PairScratch {
  std::vector<int32_t> count;                        // [num_experts] replicas
  std::vector<std::pair<double, int32_t>> replicas;  // (tokens, expert) ascending
  std::vector<std::pair<double, int32_t>> trial;
  std::vector<std::pair<double, int32_t>> added;
  std::vector<int32_t> donors;
};

// `phy2log` [num_slots] with two slots per rank: up to `max_rounds` times, gives one replica of
// the expert that can spare one at least cost (among the 4 cheapest) to an expert of the
// hottest pair, whichever pairing of the new counts is coolest; rewrites `phy2log` with that
// pairing (rank r: the r-th lightest and r-th heaviest replicas) only if its hottest rank is
// below the current one and no rank holds two replicas of one expert. Returns whether it did.
bool improve_pairs(std::span<const double> expert_loads, std::span<int32_t> phy2log, int max_rounds,
                   PairScratch& scratch);

// The least tokens that any placement of the replicas of `phy2log` [num_slots] on num_slots / 2
// ranks of two slots can put on its hottest rank, `replica_load` [num_experts] tokens per
// replica: the largest sum of the pairs of sorted replicas taken from both ends (which DeepSeek's
// packing makes). `weights` is scratch.
double paired_floor(std::span<const int32_t> phy2log, std::span<const double> replica_load,
                    std::vector<double>& weights);

}  // namespace eplb::planner
