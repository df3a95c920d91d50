#include "eplb/replica_table.h"

#include <cmath>
#include <string>

#include "eplb/error.h"

namespace eplb {
namespace {

[[noreturn]] void fail(const std::string& what) { throw Error("build_replica_table: " + what); }

}  // namespace

ReplicaTable build_replica_table(std::span<const int32_t> phy2log, int num_experts,
                                 int slots_per_rank, std::span<const double> routing_weight) {
  const size_t num_slots = phy2log.size();
  if (num_experts < 0) fail("num_experts=" + std::to_string(num_experts) + " is negative");
  if (slots_per_rank <= 0 || num_slots % static_cast<size_t>(slots_per_rank) != 0) {
    fail("num_slots=" + std::to_string(num_slots) +
         " is not a multiple of slots_per_rank=" + std::to_string(slots_per_rank));
  }
  if (!routing_weight.empty() && routing_weight.size() != num_slots) {
    fail("routing_weight has " + std::to_string(routing_weight.size()) +
         " entries, expected num_slots=" + std::to_string(num_slots));
  }

  ReplicaTable table;
  table.num_experts = num_experts;
  table.num_slots = static_cast<int>(num_slots);
  table.slots_per_rank = slots_per_rank;
  table.offset.assign(static_cast<size_t>(num_experts) + 1, 0);
  // A slot with share 0 takes no tokens under any route policy (e.g. a slot on an excluded
  // or masked rank), so it is left out like an empty one.
  auto served = [&](size_t s) {
    return phy2log[s] != -1 && (routing_weight.empty() || routing_weight[s] != 0.0);
  };
  for (size_t s = 0; s < num_slots; ++s) {
    const int32_t expert_idx = phy2log[s];
    if (expert_idx == -1) continue;
    if (expert_idx < -1 || expert_idx >= num_experts) {
      fail("phy2log[" + std::to_string(s) + "]: expert " + std::to_string(expert_idx) +
           " out of range [0, " + std::to_string(num_experts) + ")");
    }
    if (!routing_weight.empty() && !(std::isfinite(routing_weight[s]) && routing_weight[s] >= 0)) {
      fail("routing_weight[" + std::to_string(s) + "]: " + std::to_string(routing_weight[s]) +
           " is not a finite share >= 0");
    }
    if (!served(s)) continue;
    ++table.offset[static_cast<size_t>(expert_idx) + 1];
  }
  for (size_t e = 0; e < static_cast<size_t>(num_experts); ++e)
    table.offset[e + 1] += table.offset[e];

  // Counting sort by expert; scanning slots in order keeps every row ascending.
  const size_t num_filled = static_cast<size_t>(table.offset.back());
  table.slot.resize(num_filled);
  std::vector<int32_t> next(table.offset.begin(), table.offset.end() - 1);
  for (size_t s = 0; s < num_slots; ++s) {
    if (!served(s)) continue;
    table.slot[static_cast<size_t>(next[static_cast<size_t>(phy2log[s])]++)] =
        static_cast<int32_t>(s);
  }

  // Prefix sums in double, rounded to float once; rounding is monotonic, so rows stay
  // non-decreasing, and the last entry is set to exactly 1 so a draw u < 1 always lands.
  table.cum_weight.resize(num_filled);
  for (size_t e = 0; e < static_cast<size_t>(num_experts); ++e) {
    const size_t begin = static_cast<size_t>(table.offset[e]);
    const size_t end = static_cast<size_t>(table.offset[e + 1]);
    if (begin == end) continue;
    double total = 0;
    for (size_t r = begin; r < end; ++r) {
      total += routing_weight.empty() ? 1.0 : routing_weight[static_cast<size_t>(table.slot[r])];
    }
    double running = 0;
    for (size_t r = begin; r < end; ++r) {
      running += routing_weight.empty() ? 1.0 : routing_weight[static_cast<size_t>(table.slot[r])];
      table.cum_weight[r] = static_cast<float>(running / total);
    }
    table.cum_weight[end - 1] = 1.0f;
  }
  return table;
}

}  // namespace eplb
