#include "runtime/rank_mask.h"

namespace eplb::runtime {
namespace {

size_t sz(int64_t v) { return static_cast<size_t>(v); }

bool any_masked(std::span<const char> masked) {
  for (char m : masked) {
    if (m != 0) return true;
  }
  return false;
}

}  // namespace

std::vector<double> live_shares(std::span<const int32_t> phy2log, std::span<const char> masked,
                                int slots_per_rank, int num_experts,
                                std::span<const double> planned) {
  if (planned.empty() && !any_masked(masked)) return {};
  auto is_live = [&](size_t s) { return masked[s / sz(slots_per_rank)] == 0 && phy2log[s] >= 0; };
  std::vector<int32_t> live(sz(num_experts), 0);
  std::vector<double> planned_sum(sz(num_experts), 0.0);
  for (size_t s = 0; s < phy2log.size(); ++s) {
    if (!is_live(s)) continue;
    ++live[sz(phy2log[s])];
    if (!planned.empty()) planned_sum[sz(phy2log[s])] += planned[s];
  }
  std::vector<double> share(phy2log.size(), 0.0);
  for (size_t s = 0; s < phy2log.size(); ++s) {
    if (!is_live(s)) continue;
    const auto e = sz(phy2log[s]);
    share[s] = planned_sum[e] > 0 ? planned[s] / planned_sum[e] : 1.0 / live[e];
  }
  return share;
}

std::vector<int32_t> lost_experts(std::span<const int32_t> phy2log, std::span<const char> masked,
                                  int slots_per_rank, int num_experts) {
  std::vector<char> live(sz(num_experts), 0);
  for (size_t s = 0; s < phy2log.size(); ++s) {
    if (masked[s / sz(slots_per_rank)] == 0 && phy2log[s] >= 0) live[sz(phy2log[s])] = 1;
  }
  std::vector<int32_t> lost;
  for (int32_t e = 0; e < num_experts; ++e) {
    if (live[sz(e)] == 0) lost.push_back(e);
  }
  return lost;
}

std::string describe_lost(const std::vector<std::vector<int32_t>>& lost) {
  std::string text;
  for (size_t l = 0; l < lost.size(); ++l) {
    if (lost[l].empty()) continue;
    if (!text.empty()) text += "; ";
    text += "layer " + std::to_string(l) + ": ";
    for (size_t i = 0; i < lost[l].size(); ++i) {
      if (i > 0) text += ',';
      text += std::to_string(lost[l][i]);
    }
  }
  return text;
}

std::string join_ranks(std::span<const int> ranks) {
  std::string text;
  for (size_t i = 0; i < ranks.size(); ++i) {
    if (i > 0) text += ',';
    text += std::to_string(ranks[i]);
  }
  return text;
}

}  // namespace eplb::runtime
