// Cost model of `eplb simulate`: an estimated MoE step time from per-rank token loads and the
// expert weights moved during the step. Deliberately simple, so a reader can check it by hand:
//
//   layer time      = fixed_us + token_us * (tokens on the hottest rank)   (the all-to-all
//                     makes every rank wait for the slowest one)
//   compute time    = sum over layers of the layer time
//   transfer time   = (slots re-filled on the rank that receives most) * expert_bytes / bandwidth
//                     (ranks receive in parallel, each over its own link)
//   stall           = max(0, transfer time - compute time)  (transfers overlap compute; only
//                     their excess delays the step)
//   step time       = compute time + stall
//
// Defaults describe a DeepSeek-V3-class model on H100-class GPUs; they are assumptions, not
// measurements — pass your own figures:
//   expert_bytes  44,040,192 B: one routed expert of DeepSeek-V3 is 3 matrices 7168 x 2048
//                 (gate, up, down) in FP8 = 3 * 7168 * 2048 bytes (scales ignored).
//   token_us      0.11 us per token-expert assignment: 2 * 3 * 7168 * 2048 = 88 MFLOP per token
//                 per expert; H100 SXM's dense FP8 peak is 1979 TFLOP/s, and grouped GEMMs reach
//                 roughly 40% of it (~800 TFLOP/s) -> 88e6 / 800e12 s = 0.11 us.
//   fixed_us      50 us per layer: dispatch + combine latency and kernel launches, the order of
//                 magnitude DeepEP reports for its kernels; independent of the load.
//   bandwidth_gbs 50 GB/s: one 400 Gb/s InfiniBand NIC per GPU (moves across nodes). Moves
//                 inside an NVLink node are several times faster: this errs towards stalls.
#pragma once

#include <cstdint>
#include <span>

namespace eplb::sim {

struct CostModel {
  double fixed_us = 50;            // per layer, per step
  double token_us = 0.11;          // per token-expert assignment on one rank
  double expert_bytes = 44040192;  // bytes of one expert's weights
  double bandwidth_gbs = 50;       // GB/s (1e9 bytes/s) into each rank
};

// Throws eplb::Error naming the flag for a negative cost, non-positive bandwidth or expert size.
void validate_cost_model(const CostModel& model);

// Time of one layer: fixed_us + token_us * max(rank_loads). `rank_loads` is [num_ranks] tokens.
double layer_time_us(const CostModel& model, std::span<const double> rank_loads);

// Microseconds to move `num_slots` experts into one rank.
double transfer_time_us(const CostModel& model, int64_t num_slots);

struct StepCost {
  double compute_us = 0;
  double transfer_us = 0;
  double stall_us = 0;  // max(0, transfer_us - compute_us)
  double total_us = 0;  // compute_us + stall_us
};

// One step: `compute_us` (sum of layer times) and `max_rank_moved_slots` (slots re-filled on
// the rank receiving most during the step).
StepCost step_cost(const CostModel& model, double compute_us, int64_t max_rank_moved_slots);

}  // namespace eplb::sim
