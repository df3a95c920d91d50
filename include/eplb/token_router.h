// log2phy routing: rewrites the router's logical expert ids to physical slot ids, spreading the
// tokens of a replicated logical expert over its replicas.
//
// Every choice is a pure function of (token_idx, k_idx, table, policy, local_rank, seed): no
// state carries between calls or entries, so the CUDA twin (eplb/cuda/kernels.h) and any
// re-run give the same slots bit for bit. The rules (r = replica_count of the expert, replicas
// in ascending slot order, see ReplicaTable):
//   kRoundRobin: replica (token_idx + k_idx + seed) mod r. Consecutive tokens that pick the same
//     expert at the same position rotate through all r replicas, so any r such tokens are spread
//     exactly evenly over the whole batch. (Not (token_idx * k + k_idx) mod r: when r divides k
//     that depends only on k_idx, and experts that sit at one top-k position would never rotate.)
//   kLocalFirst: the lowest-slot replica on `local_rank` if the expert has one there, else the
//     kRoundRobin replica. Saves the dispatch traffic of the local share of tokens.
//   kWeighted: u = route_uniform(route_hash(seed, token_idx, k_idx)) in [0, 1) (24-bit float,
//     splitmix64 hashing, see route_rule.h), replica = the first with cum_weight > u, so replica
//     i receives its routing-weight share of the expert's tokens in expectation.
// Ids outside [0, num_experts), and experts with no replica, map to slot -1.
#pragma once

#include <cstdint>
#include <span>

#include "eplb/replica_table.h"

namespace eplb {

enum class RoutePolicy : int32_t { kRoundRobin = 0, kLocalFirst = 1, kWeighted = 2 };

// Writes `topk_slots` [num_tokens, k] physical slot ids for `topk_ids` [num_tokens, k] logical
// expert ids (row-major; token_idx = row, k_idx = column). `local_rank` is only read by
// kLocalFirst (any value with no slots, e.g. -1, means "no local replicas"). Throws eplb::Error
// when k <= 0, topk_ids.size() is not a multiple of k, or topk_slots.size() != topk_ids.size().
void route_tokens(std::span<const int32_t> topk_ids, int k, const ReplicaTable& table,
                  RoutePolicy policy, int local_rank, uint64_t seed, std::span<int32_t> topk_slots);

// "round_robin", "local_first", "weighted".
const char* route_policy_name(RoutePolicy policy);

}  // namespace eplb
