#include "eplb/token_router.h"

#include <string>

#include "eplb/error.h"
#include "routing/route_rule.h"

namespace eplb {

void route_tokens(std::span<const int32_t> topk_ids, int k, const ReplicaTable& table,
                  RoutePolicy policy, int local_rank, uint64_t seed,
                  std::span<int32_t> topk_slots) {
  if (k <= 0 || topk_ids.size() % static_cast<size_t>(k) != 0) {
    throw Error("route_tokens: topk_ids has " + std::to_string(topk_ids.size()) +
                " entries, not a multiple of k=" + std::to_string(k));
  }
  if (topk_slots.size() != topk_ids.size()) {
    throw Error("route_tokens: topk_slots has " + std::to_string(topk_slots.size()) +
                " entries, expected " + std::to_string(topk_ids.size()));
  }
  if (table.offset.size() != static_cast<size_t>(table.num_experts) + 1) {
    throw Error("route_tokens: replica table has " + std::to_string(table.offset.size()) +
                " offsets, expected num_experts + 1 = " + std::to_string(table.num_experts + 1));
  }
  if (table.slots_per_rank <= 0) {
    throw Error("route_tokens: replica table has slots_per_rank=" +
                std::to_string(table.slots_per_rank) + ", expected > 0");
  }
  const detail::ReplicaTableView view{table.offset.data(), table.slot.data(),
                                      table.cum_weight.data(), table.num_experts,
                                      table.slots_per_rank};
  const size_t width = static_cast<size_t>(k);
  for (size_t i = 0; i < topk_ids.size(); ++i) {
    topk_slots[i] =
        detail::pick_slot(view, topk_ids[i], policy, local_rank, seed, i / width, i % width);
  }
}

const char* route_policy_name(RoutePolicy policy) {
  switch (policy) {
    case RoutePolicy::kRoundRobin: return "round_robin";
    case RoutePolicy::kLocalFirst: return "local_first";
    case RoutePolicy::kWeighted: return "weighted";
  }
  return "unknown";
}

}  // namespace eplb
