#include "planner/deepseek.h"

#include <algorithm>
#include <bit>

#include "planner/replicate.h"
#include "planner/small_argmin.h"

namespace eplb::planner {
namespace {

// eplb.py's shortcut when every pack takes one item: item i -> pack i. True when it applied.
bool one_item_per_pack(int32_t num_items, int num_packs, std::span<int32_t> pack_index,
                       std::span<int32_t> rank_in_pack) {
  if (num_items / num_packs != 1) return false;
  for (int32_t i = 0; i < num_items; ++i) {
    pack_index[static_cast<size_t>(i)] = i;
    rank_in_pack[static_cast<size_t>(i)] = 0;
  }
  return true;
}

}  // namespace

void balanced_packing(std::span<const float> weight, int num_packs, std::span<int32_t> pack_index,
                      std::span<int32_t> rank_in_pack, PackingScratch& scratch) {
  const auto num_items = static_cast<int32_t>(weight.size());
  if (one_item_per_pack(num_items, num_packs, pack_index, rank_in_pack)) return;
  auto& key = scratch.key;
  auto& order = scratch.order;
  key.resize(static_cast<size_t>(num_items));
  order.resize(static_cast<size_t>(num_items));
  for (int32_t i = 0; i < num_items; ++i) {
    key[static_cast<size_t>(i)] = order_bits(weight[static_cast<size_t>(i)]);
  }
  radix_sort_descending(key, order, scratch.radix);  // weight descending, then index
  pack_in_order(weight, order, num_packs, pack_index, rank_in_pack, scratch);
}

void pack_in_order(std::span<const float> weight, std::span<const int32_t> order, int num_packs,
                   std::span<int32_t> pack_index, std::span<int32_t> rank_in_pack,
                   PackingScratch& scratch) {
  const auto num_items = static_cast<int32_t>(weight.size());
  if (one_item_per_pack(num_items, num_packs, pack_index, rank_in_pack)) return;
  const int32_t per_pack = num_items / num_packs;
  auto& pack_items = scratch.pack_items;
  auto& pack_weight = scratch.pack_weight;
  pack_items.assign(static_cast<size_t>(num_packs), 0);
  pack_weight.assign(static_cast<size_t>(num_packs), 0.0f);
  // `min(..., key=pack_weights.__getitem__)` over packs with room: the first of least weight.
  auto place = [&](size_t item, int32_t pack) {
    const auto up = static_cast<size_t>(pack);
    pack_index[item] = pack;
    rank_in_pack[item] = pack_items[up];
    pack_weight[up] += weight[item];  // float32, as eplb.py's tensor sums
    return ++pack_items[up] < per_pack;
  };
  if (num_packs <= SmallArgmin::kMaxKeys) {
    // The least key carries its pack's weight: the next weight needs no load.
    auto& packs = scratch.small_packs;
    int64_t least = packs.reset(num_packs);
    for (int32_t i : order) {
      const auto item = static_cast<size_t>(i);
      const int32_t pack = argmin_index(least);
      const auto up = static_cast<size_t>(pack);
      const float sum = std::bit_cast<float>(argmin_value_bits(least)) + weight[item];
      pack_index[item] = pack;
      rank_in_pack[item] = pack_items[up];
      pack_weight[up] = sum;  // float32, as eplb.py's tensor sums
      const bool room = ++pack_items[up] < per_pack;
      least = packs.set(pack, room ? argmin_key(order_bits(sum), pack) : SmallArgmin::kOut);
    }
    return;
  }
  auto& packs = scratch.packs;
  packs.build(static_cast<size_t>(num_packs), 0.0f);
  for (int32_t i : order) {
    const int32_t pack = packs.top();
    if (place(static_cast<size_t>(i), pack)) {
      packs.update(pack, pack_weight[static_cast<size_t>(pack)]);
    } else {
      packs.remove(pack);
    }
  }
}

void DeepSeekPlanner::plan(std::span<const double> expert_loads, const PlanOptions& options,
                           std::span<int32_t> phy2log) {
  const auto num_experts = static_cast<int32_t>(expert_loads.size());
  int num_groups = options.num_groups;
  int num_nodes = options.num_nodes;
  if (num_groups % num_nodes != 0) {  // eplb.py falls back to the global policy
    num_groups = 1;
    num_nodes = 1;
  }
  const int32_t group_size = num_experts / num_groups;
  const int32_t groups_per_node = num_groups / num_nodes;
  const int32_t ranks_per_node = options.num_ranks / num_nodes;
  const int32_t slots_per_rank = options.num_slots / options.num_ranks;
  const int32_t experts_per_node = num_experts / num_nodes;
  const int32_t slots_per_node = options.num_slots / num_nodes;
  const auto sz = [](int32_t n) { return static_cast<size_t>(n); };

  weight_.resize(sz(num_experts));
  for (int32_t e = 0; e < num_experts; ++e) {
    weight_[sz(e)] = static_cast<float>(expert_loads[sz(e)]);
  }

  // Step 1: pack groups onto nodes; mlog ("meta-logical") numbers experts node-major.
  group_weight_.resize(sz(num_groups));
  for (int32_t g = 0; g < num_groups; ++g) {
    double sum = 0;  // rounded to float32 once, below
    for (int32_t j = 0; j < group_size; ++j) sum += weight_[sz(g * group_size + j)];
    group_weight_[sz(g)] = static_cast<float>(sum);
  }
  group_pack_.resize(sz(num_groups));
  group_rank_.resize(sz(num_groups));
  balanced_packing(group_weight_, num_nodes, group_pack_, group_rank_, packing_);
  mlog2log_.resize(sz(num_experts));
  for (int32_t g = 0; g < num_groups; ++g) {
    const int32_t first_mlog =
        (group_pack_[sz(g)] * groups_per_node + group_rank_[sz(g)]) * group_size;
    for (int32_t j = 0; j < group_size; ++j) mlog2log_[sz(first_mlog + j)] = g * group_size + j;
  }

  node_weight_.resize(sz(experts_per_node));
  mlog_count_.resize(sz(experts_per_node));
  phy2mlog_.resize(sz(slots_per_node));
  phy_weight_.resize(sz(slots_per_node));
  pack_index_.resize(sz(slots_per_node));
  rank_in_pack_.resize(sz(slots_per_node));
  for (int32_t node = 0; node < num_nodes; ++node) {
    const int32_t* node_mlog2log = mlog2log_.data() + sz(node * experts_per_node);
    for (int32_t m = 0; m < experts_per_node; ++m) {
      node_weight_[sz(m)] = weight_[sz(node_mlog2log[m])];
    }
    // Step 2: replicas within the node; the first experts_per_node slots are the identity.
    // The sort of step 3 comes with them (replicate_in_order()).
    for (int32_t m = 0; m < experts_per_node; ++m) phy2mlog_[sz(m)] = m;
    phy_order_.resize(sz(slots_per_node));
    replicate_in_order(node_weight_, mlog_count_,
                       std::span<int32_t>(phy2mlog_).subspan(sz(experts_per_node)), phy_order_,
                       replicas_);
    // Step 3: pack the node's replicas onto its ranks.
    for (int32_t p = 0; p < slots_per_node; ++p) {
      const auto m = sz(phy2mlog_[sz(p)]);
      phy_weight_[sz(p)] = node_weight_[m] / static_cast<float>(mlog_count_[m]);
    }
    pack_in_order(phy_weight_, phy_order_, ranks_per_node, pack_index_, rank_in_pack_,
                  packing_);
    int32_t* node_phy2log = phy2log.data() + sz(node * slots_per_node);
    for (int32_t p = 0; p < slots_per_node; ++p) {
      node_phy2log[pack_index_[sz(p)] * slots_per_rank + rank_in_pack_[sz(p)]] =
          node_mlog2log[phy2mlog_[sz(p)]];
    }
  }
}

}  // namespace eplb::planner
