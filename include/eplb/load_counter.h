// Per-expert load counting: how many routed (token, k) entries each logical expert received.
//
// The router's output `topk_ids` is [num_tokens, k] logical expert ids, row-major; counting
// ignores the token/k structure, so these take the flat view [num_tokens * k]. Entries outside
// [0, num_experts) (e.g. -1 for a dropped choice) are not counted and are reported instead.
// The CUDA twins (eplb/cuda/kernels.h) keep the same contracts on a stream.
#pragma once

#include <cstdint>
#include <span>

namespace eplb {

// Adds the number of occurrences of every logical expert in `topk_ids` [num_tokens * k] into
// `counts` [num_experts] (accumulates: zero it first for a fresh count). Returns how many ids
// lay outside [0, num_experts) and were ignored. Throws eplb::Error when num_experts < 0 or
// counts.size() != num_experts. Thread-safe for distinct `counts`.
int64_t count_expert_load(std::span<const int32_t> topk_ids, int num_experts,
                          std::span<int64_t> counts);
int64_t count_expert_load(std::span<const int64_t> topk_ids, int num_experts,
                          std::span<int64_t> counts);

// Exponentially decayed load: counts[e] = counts[e] * decay + n[e], where n[e] is the number
// of occurrences of logical expert e in this batch. With decay in [0, 1) the counts are a
// moving sum with an effective window of 1 / (1 - decay) batches (decay = 0 keeps only this
// batch, decay = 1 is a plain running total). The product and the sum are rounded separately
// (no fused multiply-add), so the CUDA twin matches bit for bit. Returns the ignored ids as
// above; throws eplb::Error on a size mismatch or a decay that is negative or not finite.
int64_t count_expert_load_decayed(std::span<const int32_t> topk_ids, int num_experts, double decay,
                                  std::span<double> counts);
int64_t count_expert_load_decayed(std::span<const int64_t> topk_ids, int num_experts, double decay,
                                  std::span<double> counts);

}  // namespace eplb
