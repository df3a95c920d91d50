// Masked ranks (Balancer::mask_ranks): which slots take no tokens, and which logical experts
// are left without a live replica. Internal to src/runtime; pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace eplb::runtime {

// [num_slots] routing share of each slot of `phy2log` [num_slots] with the ranks marked in
// `masked` [num_ranks] out of service, 0 on masked slots. Without `planned` shares: 1 / (live
// replicas of its expert) on live slots, and empty when no rank is masked (routing then splits
// evenly). With `planned` [num_slots] (the planner's routing_weight): the planned shares of the
// live slots, normalised per expert; an expert whose live slots all have planned share 0 splits
// evenly over them (a live replica never leaves its expert unserved).
std::vector<double> live_shares(std::span<const int32_t> phy2log, std::span<const char> masked,
                                int slots_per_rank, int num_experts,
                                std::span<const double> planned = {});

// Logical experts of `phy2log` [num_slots] with no slot on a rank outside `masked`, ascending.
std::vector<int32_t> lost_experts(std::span<const int32_t> phy2log, std::span<const char> masked,
                                  int slots_per_rank, int num_experts);

// "layer 0: 5,6; layer 2: 1" for the non-empty rows of `lost` [num_layers][experts].
std::string describe_lost(const std::vector<std::vector<int32_t>>& lost);

// "3,7".
std::string join_ranks(std::span<const int> ranks);

}  // namespace eplb::runtime
