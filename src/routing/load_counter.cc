#include "eplb/load_counter.h"

#include <cmath>
#include <string>
#include <vector>

#include "eplb/error.h"

namespace eplb {
namespace {

template <typename Count>
void check_counts(const char* where, int num_experts, std::span<Count> counts) {
  if (num_experts < 0) {
    throw Error(std::string(where) + ": num_experts=" + std::to_string(num_experts) +
                " is negative");
  }
  if (counts.size() != static_cast<size_t>(num_experts)) {
    throw Error(std::string(where) + ": counts has " + std::to_string(counts.size()) +
                " entries, expected num_experts=" + std::to_string(num_experts));
  }
}

template <typename Id>
int64_t count_into(std::span<const Id> topk_ids, int num_experts, std::span<int64_t> counts) {
  int64_t num_invalid = 0;
  for (const Id expert_idx : topk_ids) {
    if (expert_idx >= 0 && expert_idx < static_cast<Id>(num_experts)) {
      ++counts[static_cast<size_t>(expert_idx)];
    } else {
      ++num_invalid;
    }
  }
  return num_invalid;
}

template <typename Id>
int64_t count_decayed(std::span<const Id> topk_ids, int num_experts, double decay,
                      std::span<double> counts) {
  check_counts("count_expert_load_decayed", num_experts, counts);
  if (!std::isfinite(decay) || decay < 0) {
    throw Error("count_expert_load_decayed: decay=" + std::to_string(decay) +
                " must be finite and >= 0");
  }
  std::vector<int64_t> batch(static_cast<size_t>(num_experts), 0);
  const int64_t num_invalid = count_into(topk_ids, num_experts, std::span<int64_t>(batch));
  for (size_t e = 0; e < batch.size(); ++e) {
    // Two separately rounded operations; the kernel uses __dmul_rn / __dadd_rn to match.
    const double kept = counts[e] * decay;
    counts[e] = kept + static_cast<double>(batch[e]);
  }
  return num_invalid;
}

}  // namespace

int64_t count_expert_load(std::span<const int32_t> topk_ids, int num_experts,
                          std::span<int64_t> counts) {
  check_counts("count_expert_load", num_experts, counts);
  return count_into(topk_ids, num_experts, counts);
}

int64_t count_expert_load(std::span<const int64_t> topk_ids, int num_experts,
                          std::span<int64_t> counts) {
  check_counts("count_expert_load", num_experts, counts);
  return count_into(topk_ids, num_experts, counts);
}

int64_t count_expert_load_decayed(std::span<const int32_t> topk_ids, int num_experts, double decay,
                                  std::span<double> counts) {
  return count_decayed(topk_ids, num_experts, decay, counts);
}

int64_t count_expert_load_decayed(std::span<const int64_t> topk_ids, int num_experts, double decay,
                                  std::span<double> counts) {
  return count_decayed(topk_ids, num_experts, decay, counts);
}

}  // namespace eplb
