#include "eplb/balance.h"

#include <algorithm>
#include <cmath>

#include "eplb/error.h"

namespace eplb {

std::vector<double> rank_loads(std::span<const double> expert_loads,
                               std::span<const int32_t> phy2log,
                               std::span<const double> routing_weight, int num_ranks) {
  const size_t num_slots = phy2log.size();
  if (num_ranks <= 0 || num_slots % static_cast<size_t>(num_ranks) != 0) {
    throw Error("rank_loads: " + std::to_string(num_slots) + " slots cannot be split over " +
                std::to_string(num_ranks) + " ranks");
  }
  const size_t slots_per_rank = num_slots / static_cast<size_t>(num_ranks);
  std::vector<double> loads(static_cast<size_t>(num_ranks), 0.0);
  std::vector<int> replicas;
  if (routing_weight.empty()) {
    replicas.assign(expert_loads.size(), 0);
    for (int32_t e : phy2log) ++replicas[static_cast<size_t>(e)];
  }
  for (size_t s = 0; s < num_slots; ++s) {
    const auto e = static_cast<size_t>(phy2log[s]);
    const double share = routing_weight.empty() ? 1.0 / replicas[e] : routing_weight[s];
    loads[s / slots_per_rank] += expert_loads[e] * share;
  }
  return loads;
}

std::vector<double> contiguous_rank_loads(std::span<const double> expert_loads, int num_ranks) {
  std::vector<double> loads(static_cast<size_t>(num_ranks), 0.0);
  const size_t num_experts = expert_loads.size();
  for (size_t e = 0; e < num_experts; ++e) {
    loads[e * static_cast<size_t>(num_ranks) / num_experts] += expert_loads[e];
  }
  return loads;
}

LayerBalance layer_balance(std::span<const double> rank_loads) {
  LayerBalance b;
  if (rank_loads.empty()) return b;
  double sum = 0;
  double max = 0;
  for (double v : rank_loads) {
    sum += v;
    max = std::max(max, v);
  }
  if (sum <= 0) return b;
  b.has_data = true;
  b.mean = sum / static_cast<double>(rank_loads.size());
  double squares = 0;
  for (double v : rank_loads) squares += (v - b.mean) * (v - b.mean);
  b.std = std::sqrt(squares / static_cast<double>(rank_loads.size()));
  b.max = max;
  b.peak_to_avg = max / b.mean;
  b.imbalance = b.peak_to_avg - 1.0;
  return b;
}

BalanceReport summarize(std::vector<LayerBalance> layers) {
  BalanceReport r;
  r.layers = std::move(layers);
  for (const LayerBalance& b : r.layers) {
    if (!b.has_data) continue;
    ++r.num_layers_with_data;
    r.average.mean += b.mean;
    r.average.std += b.std;
    r.average.max += b.max;
    r.average.imbalance += b.imbalance;
    r.average.peak_to_avg += b.peak_to_avg;
    r.max_peak_to_avg = std::max(r.max_peak_to_avg, b.peak_to_avg);
  }
  if (r.num_layers_with_data > 0) {
    const double n = r.num_layers_with_data;
    r.average.has_data = true;
    r.average.mean /= n;
    r.average.std /= n;
    r.average.max /= n;
    r.average.imbalance /= n;
    r.average.peak_to_avg /= n;
  }
  return r;
}

BalanceReport balance_report(const LoadMatrix& loads, const Placement* placement, int num_ranks) {
  if (placement != nullptr) {
    if (placement->num_layers != loads.num_layers || placement->num_experts != loads.num_experts) {
      throw Error("placement has " + std::to_string(placement->num_layers) + " layers x " +
                  std::to_string(placement->num_experts) + " experts but the loads have " +
                  std::to_string(loads.num_layers) + " x " + std::to_string(loads.num_experts));
    }
    num_ranks = placement->num_ranks;
  }
  if (num_ranks <= 0) throw Error("--ranks " + std::to_string(num_ranks) + " must be > 0");
  std::vector<LayerBalance> layers;
  layers.reserve(static_cast<size_t>(loads.num_layers));
  for (int l = 0; l < loads.num_layers; ++l) {
    const std::vector<double> per_rank =
        placement != nullptr ? rank_loads(loads.layer(l), placement->layer_phy2log(l),
                                          placement->layer_routing_weight(l), num_ranks)
                             : contiguous_rank_loads(loads.layer(l), num_ranks);
    layers.push_back(layer_balance(per_rank));
  }
  return summarize(std::move(layers));
}

}  // namespace eplb
