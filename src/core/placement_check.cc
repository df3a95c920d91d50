// Structural and consistency checks of a placement (what `eplb validate` reports).
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "eplb/error.h"
#include "eplb/placement.h"

namespace eplb {
namespace {

std::string at(const char* field, size_t i) {
  return std::string(field) + "[" + std::to_string(i) + "]";
}

std::string at(const char* field, size_t i, size_t j) {
  return at(field, i) + "[" + std::to_string(j) + "]";
}

// Routing weights: finite, >= 0, and each expert's shares summing to 1.
void check_routing_weight(const Placement& p, std::vector<std::string>& problems) {
  if (p.routing_weight.empty()) return;
  const size_t expected = static_cast<size_t>(p.num_layers) * static_cast<size_t>(p.num_slots);
  if (p.routing_weight.size() != expected) {
    problems.push_back("routing_weight: has " + std::to_string(p.routing_weight.size()) +
                       " values, expected num_layers x num_slots = " + std::to_string(expected));
    return;
  }
  // Shares are summed per expert only when num_experts <= num_slots (else already a problem):
  // num_experts may be a claim (max expert id + 1) far larger than the file.
  const bool sum_shares = p.num_experts <= p.num_slots;
  for (int l = 0; l < p.num_layers; ++l) {
    auto experts = p.layer_phy2log(l);
    auto weights = p.layer_routing_weight(l);
    std::vector<double> sum(sum_shares ? static_cast<size_t>(p.num_experts) : 0, 0.0);
    for (size_t s = 0; s < weights.size(); ++s) {
      const double w = weights[s];
      if (!std::isfinite(w) || w < 0) {
        problems.push_back(at("routing_weight", static_cast<size_t>(l), s) + ": share " +
                           std::to_string(w) + " is not a finite non-negative number");
        continue;
      }
      const int32_t e = experts[s];
      if (sum_shares && e >= 0 && e < p.num_experts) sum[static_cast<size_t>(e)] += w;
    }
    for (int e = 0; e < static_cast<int>(sum.size()); ++e) {
      const double total = sum[static_cast<size_t>(e)];
      if (total > 0 && std::fabs(total - 1.0) > 1e-6) {
        problems.push_back("routing_weight[" + std::to_string(l) + "]: shares of expert " +
                           std::to_string(e) + " sum to " + std::to_string(total) + ", not 1");
      }
    }
  }
}

}  // namespace

std::vector<std::string> check_placement(const Placement& p) {
  std::vector<std::string> problems;
  if (p.num_layers <= 0)
    problems.push_back("num_layers: " + std::to_string(p.num_layers) + " must be > 0");
  if (p.num_experts <= 0)
    problems.push_back("num_experts: " + std::to_string(p.num_experts) + " must be > 0");
  if (p.num_slots <= 0)
    problems.push_back("num_slots: " + std::to_string(p.num_slots) + " must be > 0");
  if (p.num_ranks < 0)
    problems.push_back("num_ranks: " + std::to_string(p.num_ranks) + " must be > 0");
  if (!problems.empty()) return problems;
  if (p.num_ranks > 0 && p.num_slots % p.num_ranks != 0) {
    problems.push_back("num_slots: " + std::to_string(p.num_slots) +
                       " slots cannot be split equally over " + std::to_string(p.num_ranks) +
                       " ranks");
  }
  if (p.num_slots < p.num_experts) {
    problems.push_back("num_slots: " + std::to_string(p.num_slots) + " slots cannot hold " +
                       std::to_string(p.num_experts) + " experts");
  }
  if (p.layer_ids.size() != static_cast<size_t>(p.num_layers)) {
    problems.push_back("layer_ids: has " + std::to_string(p.layer_ids.size()) +
                       " entries, expected num_layers = " + std::to_string(p.num_layers));
  } else {
    std::set<int> seen;
    for (size_t i = 0; i < p.layer_ids.size(); ++i) {
      if (p.layer_ids[i] < 0) {
        problems.push_back(at("layer_ids", i) + ": layer id " + std::to_string(p.layer_ids[i]) +
                           " is negative");
      }
      if (!seen.insert(p.layer_ids[i]).second) {
        problems.push_back(at("layer_ids", i) + ": layer id " + std::to_string(p.layer_ids[i]) +
                           " appears twice");
      }
    }
  }
  const size_t expected = static_cast<size_t>(p.num_layers) * static_cast<size_t>(p.num_slots);
  if (p.phy2log.size() != expected) {
    problems.push_back("phy2log: has " + std::to_string(p.phy2log.size()) +
                       " slots, expected num_layers x num_slots = " + std::to_string(expected));
    return problems;
  }
  // With fewer slots than experts (reported above) every layer misses at least
  // num_experts - num_slots experts: they are not listed one by one, and nothing is sized by
  // num_experts, which a file can inflate (an expert id of 10^9 in a 6-slot vllm-ascend map made
  // this list 10^9 messages; found by fuzz/fuzz_ascend_json).
  const bool list_missing = p.num_experts <= p.num_slots;
  // [num_experts] the last layer holding each expert (-1: none yet)
  std::vector<int> seen_in(list_missing ? static_cast<size_t>(p.num_experts) : 0, -1);
  for (int l = 0; l < p.num_layers; ++l) {
    auto row = p.layer_phy2log(l);
    // The common case first, without the reporting path in the loop.
    bool in_range = true;
    for (const int32_t e : row) in_range &= e >= 0 && e < p.num_experts;
    if (in_range && list_missing) {
      for (const int32_t e : row) seen_in[static_cast<size_t>(e)] = l;
    }
    for (size_t s = 0; s < row.size() && !in_range; ++s) {
      const int32_t e = row[s];
      if (e < 0 || e >= p.num_experts) {
        problems.push_back(at("phy2log", static_cast<size_t>(l), s) + ": expert " +
                           std::to_string(e) + " out of range [0, " +
                           std::to_string(p.num_experts) + ")");
      } else if (list_missing) {
        seen_in[static_cast<size_t>(e)] = l;
      }
    }
    for (int e = 0; e < static_cast<int>(seen_in.size()); ++e) {
      if (seen_in[static_cast<size_t>(e)] != l) {
        const std::string layer = l < static_cast<int>(p.layer_ids.size())
                                      ? std::to_string(p.layer_ids[static_cast<size_t>(l)])
                                      : std::to_string(l);
        problems.push_back(at("phy2log", static_cast<size_t>(l)) + " (layer " + layer +
                           "): expert " + std::to_string(e) + " has no replica");
      }
    }
  }
  check_routing_weight(p, problems);
  return problems;
}

void validate_placement(const Placement& placement, const std::string& where) {
  const std::vector<std::string> problems = check_placement(placement);
  if (problems.empty()) return;
  std::string message = where + ": " + problems.front();
  if (problems.size() > 1) message += " (and " + std::to_string(problems.size() - 1) + " more)";
  throw Error(message);
}

}  // namespace eplb
