// One MoE layer's forward on one rank, computed two ways that must agree bit for bit:
//   ExpertParallelMoe  the expert-parallel data path: every (token, k) entry is dispatched to
//                      the rank that owns its physical slot (exchange), that rank runs the
//                      expert FFN on the weights currently in the slot (ExpertWeightStore),
//                      the result comes back (exchange) and the token's home rank combines its
//                      k results in k order.
//   reference_moe      no expert parallelism: the true weights of every logical expert, local.
// Both call the same expert_forward and combine_token (e2e/expert_ffn.h), so any difference
// comes from routing a token to a slot that does not hold its expert's exact weights.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "e2e/expert_ffn.h"
#include "eplb/comm.h"
#include "eplb/runtime/weight_store.h"

namespace eplb::e2e {

struct MoeInput {
  int num_tokens = 0;
  int top_k = 0;
  std::span<const float> x;             // [num_tokens, hidden] activations
  std::span<const int32_t> topk_ids;    // [num_tokens, top_k] logical experts (reference)
  std::span<const int32_t> topk_slots;  // [num_tokens, top_k] physical slots (EP path)
  std::span<const float> gates;         // [num_tokens, top_k] combine weights
};

class ExpertParallelMoe {
 public:
  // `comm`: the data-path communicator, a different one from the balancer's so that token
  // messages and weight transfers never match each other. `timeout` bounds each exchange.
  ExpertParallelMoe(Communicator& comm, const FfnShape& shape, int slots_per_rank,
                    std::chrono::milliseconds timeout);

  // Writes `out` [num_tokens, hidden] and `rank_entries` [num_ranks]: the (token, k) entries
  // every rank computed for this layer (over all ranks' tokens, from the count all-gather).
  // Collective over the data-path communicator. An entry routed to slot -1 (its expert has no
  // live replica: Balancer::mask_ranks) is dropped: its expert output counts as zero. Throws
  // eplb::Error for another slot out of range or an exchange that fails or times out.
  void forward(int64_t step, int layer_idx, const MoeInput& in, ExpertWeightStore& store,
               std::span<float> out, std::span<double> rank_entries);

 private:
  void wait_done(CommHandle& handle, const char* what, int64_t step, int layer_idx) const;
  // [num_floats] weights of local slot `local_slot_idx`, copied out of the store once per layer.
  std::span<const float> slot_weights(ExpertWeightStore& store, int layer_idx, int local_slot_idx);

  Communicator& comm_;
  FfnShape shape_;
  int slots_per_rank_;
  std::chrono::milliseconds timeout_;
  // Scratch, reused across calls.
  std::vector<std::vector<int32_t>> send_entries_;  // [num_ranks] flat (token, k) indices
  std::vector<std::vector<std::byte>> dispatch_out_;
  std::vector<std::vector<std::byte>> dispatch_in_;
  std::vector<std::vector<float>> results_out_;  // [num_ranks][entries, hidden]
  std::vector<std::vector<float>> results_in_;
  std::vector<float> weight_cache_;  // [slots_per_rank, num_floats]
  std::vector<char> weight_cached_;  // [slots_per_rank]
};

void reference_moe(const ExpertWeights& truth, int layer_idx, const MoeInput& in,
                   std::span<float> out);

}  // namespace eplb::e2e
