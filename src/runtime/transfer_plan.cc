#include "eplb/runtime/transfer_plan.h"

#include <algorithm>
#include <string>

#include "eplb/error.h"

namespace eplb {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

[[noreturn]] void fail(int layer_idx, const std::string& what) {
  throw Error("plan_layer_transfers: layer " + str(layer_idx) + ": " + what);
}

}  // namespace

int64_t LayerTransferPlan::num_remote_copies() const {
  int64_t n = 0;
  for (const SlotCopy& c : copies) n += c.is_remote() ? 1 : 0;
  return n;
}

int64_t LayerTransferPlan::num_loads() const {
  int64_t n = 0;
  for (const SlotCopy& c : copies) n += c.is_load() ? 1 : 0;
  return n;
}

LayerTransferPlan plan_layer_transfers(int layer_idx, std::span<const int32_t> old_phy2log,
                                       std::span<const int32_t> new_phy2log,
                                       const TransferPlanOptions& options,
                                       const TransferSources& sources) {
  const auto num_slots = static_cast<int32_t>(old_phy2log.size());
  const int num_ranks = options.num_ranks;
  if (new_phy2log.size() != old_phy2log.size()) {
    fail(layer_idx, "old placement has " + str(num_slots) + " slots, new has " +
                        str(static_cast<int64_t>(new_phy2log.size())));
  }
  if (num_ranks <= 0 || num_slots % num_ranks != 0) {
    fail(layer_idx, str(num_slots) + " slots cannot be split over num_ranks " + str(num_ranks));
  }
  if (options.num_nodes <= 0 || num_ranks % options.num_nodes != 0) {
    fail(layer_idx, "num_ranks " + str(num_ranks) + " is not divisible by num_nodes " +
                        str(options.num_nodes));
  }
  const int32_t slots_per_rank = num_slots / num_ranks;
  const int ranks_per_node = num_ranks / options.num_nodes;
  std::vector<char> excluded(static_cast<size_t>(num_ranks), 0);
  for (int r : sources.excluded_ranks) {
    if (r < 0 || r >= num_ranks) fail(layer_idx, "excluded rank " + str(r) + " out of range");
    excluded[static_cast<size_t>(r)] = 1;
  }

  // Holders of each expert in the old placement, as a CSR over experts (ascending slots).
  int32_t num_experts = 0;
  for (int32_t s = 0; s < num_slots; ++s) {
    if (old_phy2log[static_cast<size_t>(s)] < 0) {
      fail(layer_idx, "old phy2log[" + str(s) + "]: expert " +
                          str(old_phy2log[static_cast<size_t>(s)]) + " is negative");
    }
    num_experts = std::max(num_experts, old_phy2log[static_cast<size_t>(s)] + 1);
  }
  std::vector<int32_t> offset(static_cast<size_t>(num_experts) + 1, 0);
  for (const int32_t e : old_phy2log) ++offset[static_cast<size_t>(e) + 1];
  for (size_t e = 0; e < static_cast<size_t>(num_experts); ++e) offset[e + 1] += offset[e];
  std::vector<int32_t> holders(static_cast<size_t>(num_slots));
  {
    std::vector<int32_t> fill(offset.begin(), offset.end() - 1);
    for (int32_t s = 0; s < num_slots; ++s) {
      int32_t& next = fill[static_cast<size_t>(old_phy2log[static_cast<size_t>(s)])];
      holders[static_cast<size_t>(next++)] = s;
    }
  }

  LayerTransferPlan plan;
  plan.layer_idx = layer_idx;
  plan.num_ranks = num_ranks;
  plan.sends.resize(static_cast<size_t>(num_ranks));
  plan.recvs.resize(static_cast<size_t>(num_ranks));
  plan.locals.resize(static_cast<size_t>(num_ranks));
  plan.loads.resize(static_cast<size_t>(num_ranks));
  std::vector<int64_t> send_count(static_cast<size_t>(num_ranks), 0);

  for (int32_t d = 0; d < num_slots; ++d) {
    const int32_t e = new_phy2log[static_cast<size_t>(d)];
    if (e == -1 || e == old_phy2log[static_cast<size_t>(d)]) continue;
    if (e < -1) fail(layer_idx, "new phy2log[" + str(d) + "]: expert " + str(e) + " is negative");
    const int32_t dst_rank = d / slots_per_rank;
    const bool held =
        e < num_experts && offset[static_cast<size_t>(e)] != offset[static_cast<size_t>(e) + 1];
    const int dst_node = dst_rank / ranks_per_node;
    // Tier (0 local, 1 same node, 2 elsewhere), then send count, then slot: lowest wins.
    int32_t best = -1;
    int best_tier = 3;
    int64_t best_count = 0;
    const int32_t end = held ? offset[static_cast<size_t>(e) + 1] : 0;
    for (int32_t i = held ? offset[static_cast<size_t>(e)] : 0; i < end; ++i) {
      const int32_t s = holders[static_cast<size_t>(i)];
      const int32_t r = s / slots_per_rank;
      if (excluded[static_cast<size_t>(r)] != 0) continue;
      const int tier = r == dst_rank ? 0 : (r / ranks_per_node == dst_node ? 1 : 2);
      const int64_t count = tier == 0 ? 0 : send_count[static_cast<size_t>(r)];
      if (tier < best_tier || (tier == best_tier && count < best_count)) {
        best = s;
        best_tier = tier;
        best_count = count;
      }
    }
    if (best < 0 && !sources.load_missing) {
      fail(layer_idx, "new phy2log[" + str(d) + "]: expert " + str(e) +
                          (held ? " is held only on excluded ranks" : " is in no slot of the old placement") +
                          " (no source to copy from)");
    }
    SlotCopy copy;
    copy.expert_idx = e;
    copy.src_slot = best;
    copy.dst_slot = d;
    copy.src_rank = best < 0 ? -1 : best / slots_per_rank;
    copy.dst_rank = dst_rank;
    const auto index = static_cast<int32_t>(plan.copies.size());
    plan.copies.push_back(copy);
    if (copy.is_load()) {
      plan.loads[static_cast<size_t>(dst_rank)].push_back(index);
    } else if (copy.is_local()) {
      plan.locals[static_cast<size_t>(dst_rank)].push_back(index);
    } else {
      ++send_count[static_cast<size_t>(copy.src_rank)];
      plan.sends[static_cast<size_t>(copy.src_rank)].push_back(index);
      plan.recvs[static_cast<size_t>(dst_rank)].push_back(index);
    }
  }
  return plan;
}

}  // namespace eplb
