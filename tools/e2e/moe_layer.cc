#include "e2e/moe_layer.h"

#include <cstring>
#include <string>

#include "eplb/error.h"

namespace eplb::e2e {
namespace {

size_t sz(int64_t v) { return static_cast<size_t>(v); }

// Data-path tags: unique per (step, layer, phase) so that no message of one layer can match a
// receive of another.
int64_t tag_of(int64_t step, int layer_idx, int phase) {
  return ((step << 20) + layer_idx) * 2 + phase;
}

}  // namespace

ExpertParallelMoe::ExpertParallelMoe(Communicator& comm, const FfnShape& shape, int slots_per_rank,
                                     std::chrono::milliseconds timeout)
    : comm_(comm), shape_(shape), slots_per_rank_(slots_per_rank), timeout_(timeout) {
  const auto num_ranks = sz(comm.num_ranks());
  send_entries_.resize(num_ranks);
  dispatch_out_.resize(num_ranks);
  dispatch_in_.resize(num_ranks);
  results_out_.resize(num_ranks);
  results_in_.resize(num_ranks);
  weight_cache_.resize(sz(slots_per_rank) * shape.num_floats());
  weight_cached_.resize(sz(slots_per_rank));
}

void ExpertParallelMoe::wait_done(CommHandle& handle, const char* what, int64_t step,
                                  int layer_idx) const {
  const CommState state = handle.wait(timeout_);
  if (state != CommState::kDone) {
    throw Error(std::string("step ") + std::to_string(step) + ", layer " +
                std::to_string(layer_idx) + ": " + what + " " + comm_state_name(state) + ": " +
                handle.error());
  }
}

std::span<const float> ExpertParallelMoe::slot_weights(ExpertWeightStore& store, int layer_idx,
                                                       int local_slot_idx) {
  const size_t n = shape_.num_floats();
  const std::span<float> cached =
      std::span<float>(weight_cache_).subspan(sz(local_slot_idx) * n, n);
  if (weight_cached_[sz(local_slot_idx)] == 0) {
    // memcpy, not a cast: the slot holds bytes (written by memcpy, MPI or std::copy).
    const std::span<const std::byte> bytes = store.slot_bytes(layer_idx, local_slot_idx);
    std::memcpy(cached.data(), bytes.data(), shape_.num_bytes());
    weight_cached_[sz(local_slot_idx)] = 1;
  }
  return cached;
}

void ExpertParallelMoe::forward(int64_t step, int layer_idx, const MoeInput& in,
                                ExpertWeightStore& store, std::span<float> out,
                                std::span<double> rank_entries) {
  const int num_ranks = comm_.num_ranks();
  const int self = comm_.rank();
  const auto hidden = sz(shape_.hidden);
  const auto k = sz(in.top_k);
  const size_t entry_bytes = sizeof(int32_t) + hidden * sizeof(float);
  const int num_slots = num_ranks * slots_per_rank_;
  std::fill(weight_cached_.begin(), weight_cached_.end(), 0);

  // 1. Group the (token, k) entries by the rank owning their slot, in (token, k) order.
  for (auto& entries : send_entries_) entries.clear();
  for (size_t e = 0; e < sz(in.num_tokens) * k; ++e) {
    const int32_t slot_idx = in.topk_slots[e];
    if (slot_idx == -1) continue;  // dropped: no live replica
    if (slot_idx < 0 || slot_idx >= num_slots) {
      throw Error("step " + std::to_string(step) + ", layer " + std::to_string(layer_idx) +
                  ": token " + std::to_string(e / k) + " routed to slot " +
                  std::to_string(slot_idx) + ", outside [0, " + std::to_string(num_slots) + ")");
    }
    send_entries_[sz(slot_idx / slots_per_rank_)].push_back(static_cast<int32_t>(e));
  }

  // 2. Entry counts of every (source, destination) pair: [num_ranks, num_ranks].
  std::vector<double> local_counts(sz(num_ranks));
  std::vector<double> counts(sz(num_ranks) * sz(num_ranks));
  for (int d = 0; d < num_ranks; ++d) {
    local_counts[sz(d)] = static_cast<double>(send_entries_[sz(d)].size());
  }
  auto gather = comm_.all_gather(local_counts, counts);
  wait_done(*gather, "count all-gather", step, layer_idx);
  for (int d = 0; d < num_ranks; ++d) {
    double sum = 0;
    for (int s = 0; s < num_ranks; ++s) sum += counts[sz(s) * sz(num_ranks) + sz(d)];
    rank_entries[sz(d)] = sum;
  }

  // 3. Dispatch: entries {int32 local slot, float x[hidden]} to the slot owners.
  std::vector<SendOp> sends;
  std::vector<RecvOp> recvs;
  for (int d = 0; d < num_ranks; ++d) {
    const auto& entries = send_entries_[sz(d)];
    auto& buffer = dispatch_out_[sz(d)];
    buffer.resize(entries.size() * entry_bytes);
    for (size_t i = 0; i < entries.size(); ++i) {
      const auto e = sz(entries[i]);
      const int32_t local_slot = in.topk_slots[e] % slots_per_rank_;
      std::byte* p = buffer.data() + i * entry_bytes;
      std::memcpy(p, &local_slot, sizeof(local_slot));
      std::memcpy(p + sizeof(local_slot), in.x.data() + (e / k) * hidden, hidden * sizeof(float));
    }
    if (!entries.empty()) sends.push_back({d, tag_of(step, layer_idx, 0), buffer});
    const auto num_in = static_cast<size_t>(counts[sz(d) * sz(num_ranks) + sz(self)]);
    dispatch_in_[sz(d)].resize(num_in * entry_bytes);
    if (num_in > 0) recvs.push_back({d, tag_of(step, layer_idx, 0), dispatch_in_[sz(d)]});
  }
  auto dispatch = comm_.exchange(sends, recvs);
  wait_done(*dispatch, "dispatch", step, layer_idx);

  // 4. Run the experts on the weights in this rank's slots; send the results back.
  sends.clear();
  recvs.clear();
  std::vector<float> x(hidden);
  for (int s = 0; s < num_ranks; ++s) {
    const auto& buffer = dispatch_in_[sz(s)];
    const size_t num_in = buffer.size() / entry_bytes;
    auto& results = results_out_[sz(s)];
    results.resize(num_in * hidden);
    for (size_t i = 0; i < num_in; ++i) {
      int32_t local_slot = 0;
      std::memcpy(&local_slot, buffer.data() + i * entry_bytes, sizeof(local_slot));
      std::memcpy(x.data(), buffer.data() + i * entry_bytes + sizeof(local_slot),
                  hidden * sizeof(float));
      expert_forward(shape_, slot_weights(store, layer_idx, local_slot), x,
                     std::span<float>(results).subspan(i * hidden, hidden));
    }
    if (num_in > 0) {
      sends.push_back({s, tag_of(step, layer_idx, 1), std::as_bytes(std::span(results))});
    }
    const size_t num_back = send_entries_[sz(s)].size();
    results_in_[sz(s)].resize(num_back * hidden);
    if (num_back > 0) {
      recvs.push_back(
          {s, tag_of(step, layer_idx, 1), std::as_writable_bytes(std::span(results_in_[sz(s)]))});
    }
  }
  auto combine = comm_.exchange(sends, recvs);
  wait_done(*combine, "combine", step, layer_idx);

  // 5. Combine on the home rank: token t's k results in k order.
  std::vector<float> expert_out(sz(in.num_tokens) * k * hidden);
  for (int d = 0; d < num_ranks; ++d) {
    const auto& entries = send_entries_[sz(d)];
    for (size_t i = 0; i < entries.size(); ++i) {
      std::memcpy(expert_out.data() + sz(entries[i]) * hidden,
                  results_in_[sz(d)].data() + i * hidden, hidden * sizeof(float));
    }
  }
  for (size_t t = 0; t < sz(in.num_tokens); ++t) {
    combine_token(shape_.hidden, in.gates.subspan(t * k, k),
                  std::span<const float>(expert_out).subspan(t * k * hidden, k * hidden),
                  out.subspan(t * hidden, hidden));
  }
}

void reference_moe(const ExpertWeights& truth, int layer_idx, const MoeInput& in,
                   std::span<float> out) {
  const auto hidden = sz(truth.shape().hidden);
  const auto k = sz(in.top_k);
  std::vector<float> expert_out(k * hidden);
  for (size_t t = 0; t < sz(in.num_tokens); ++t) {
    for (size_t j = 0; j < k; ++j) {
      expert_forward(truth.shape(), truth.weights(layer_idx, in.topk_ids[t * k + j]),
                     in.x.subspan(t * hidden, hidden),
                     std::span<float>(expert_out).subspan(j * hidden, hidden));
    }
    combine_token(truth.shape().hidden, in.gates.subspan(t * k, k), expert_out,
                  out.subspan(t * hidden, hidden));
  }
}

}  // namespace eplb::e2e
