// Balance metrics: how evenly a placement spreads a layer's tokens over ranks.
//
// Definitions match what operators already read:
//   imbalance   = max/mean - 1 over ranks (TensorRT-LLM's report_load_statistics.py)
//   peak_to_avg = max/mean over ranks     (vllm-ascend's logged balance ratio)
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "eplb/load_matrix.h"
#include "eplb/placement.h"

namespace eplb {

// [num_ranks] tokens each rank receives in one layer. `expert_loads` is [num_experts],
// `phy2log` is [num_slots]; a replica receives routing_weight[slot] of its expert's tokens,
// or an even share when `routing_weight` is empty.
std::vector<double> rank_loads(std::span<const double> expert_loads,
                               std::span<const int32_t> phy2log,
                               std::span<const double> routing_weight, int num_ranks);

// [num_ranks] loads when experts sit contiguously on ranks without replicas (expert e on rank
// e * num_ranks / num_experts): the deployment a plain expert-parallel engine starts from.
std::vector<double> contiguous_rank_loads(std::span<const double> expert_loads, int num_ranks);

struct LayerBalance {
  bool has_data = false;  // false: all loads zero; the other fields are 0 and not averaged
  double mean = 0;        // mean tokens per rank
  double std = 0;         // population standard deviation over ranks
  double max = 0;         // tokens on the hottest rank
  double imbalance = 0;   // max/mean - 1
  double peak_to_avg = 0; // max/mean
};

LayerBalance layer_balance(std::span<const double> rank_loads);

// Per-layer figures and their averages over the layers that have data.
struct BalanceReport {
  std::vector<LayerBalance> layers;  // [num_layers]
  int num_layers_with_data = 0;
  LayerBalance average;      // field-wise mean over layers with data (has_data when any)
  double max_peak_to_avg = 0;  // worst layer
};

BalanceReport summarize(std::vector<LayerBalance> layers);

// Report of `loads` under `placement` (same layers, same experts), or, when `placement` is
// null, under the contiguous deployment on `num_ranks` ranks.
BalanceReport balance_report(const LoadMatrix& loads, const Placement* placement, int num_ranks);

}  // namespace eplb
