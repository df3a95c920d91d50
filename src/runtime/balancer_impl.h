// Balancer::Impl, the per-rank state of the online balancer, shared by balancer.cc (hooks,
// public API), balancer_cycle.cc (gather, votes, plan, cycle end) and balancer_moves.cc (layer
// transfers and commits). Internal to src/runtime; everything here belongs to the serving
// thread except what PlannerWorker documents.
//
// Ranks agree on every switch through a vote: a small all-gather started in after_forward(t)
// and consumed in before_forward(t + 1), laid out as
//   [0] plan status (0 pending, 1 ready, 2 failed), [1], [2] plan hash (high, low 32 bits),
//   [3 + i] status of in-flight layer i (0 pending, 1 done, 2 failed; -1 unused).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eplb/runtime/balancer.h"
#include "eplb/runtime/transfer_plan.h"
#include "runtime/hook_timer.h"
#include "runtime/planner_worker.h"

namespace eplb {
namespace runtime {

using Clock = std::chrono::steady_clock;

inline size_t sz(int64_t v) { return static_cast<size_t>(v); }

inline constexpr double kVotePending = 0, kVoteReady = 1, kVoteFailed = 2, kVoteUnused = -1;
inline constexpr size_t kVoteHeader = 3;

inline double vote_of(CommState state) {
  switch (state) {
    case CommState::kDone: return kVoteReady;
    case CommState::kFailed: return kVoteFailed;
    default: return kVotePending;
  }
}

// A layer whose transfers are posted and that is neither committed nor given up yet.
struct InFlightLayer {
  size_t plan_idx = 0;  // into PlanResult::layers
  int area_idx = 0;     // staging area
  int64_t posted_step = 0;
  std::vector<SendOp> sends;
  std::vector<RecvOp> recvs;
  std::unique_ptr<CommHandle> handle;  // null: nothing remote for this rank
  CommState state = CommState::kDone;
  std::string load_error;  // a load_expert call failed: this rank votes the layer failed
};

}  // namespace runtime

struct Balancer::Impl {
  Impl(BalancerConfig c, Communicator& comm_ref, ExpertWeightStore* store_ptr,
       BalancerCallbacks cb);

  // --- hooks ---
  void before_forward(int64_t step);
  void after_forward(int64_t step);

  // --- pieces ---
  void poll_worker(int64_t step, bool in_after);
  void poll_gather();
  void start_gather(int64_t step);
  void start_vote();
  void consume_vote(int64_t step);
  void decide_plan(int64_t step, std::span<const double> votes);
  void decide_layers(int64_t step, std::span<const double> votes);
  void take_plan(int64_t step);
  void post_layers(int64_t step);
  void commit_layer(int64_t step, runtime::InFlightLayer& layer);
  void give_up_layer(int64_t step, runtime::InFlightLayer& layer, const std::string& why);
  void end_cycle(int64_t step);
  void fail_plan(int64_t step, const std::string& why);
  void time_out_plan(int64_t step);
  // Ends the cycle's plan without counting a failure: the ranks' mask changed under it.
  void discard_stale_plan(int64_t step);

  // --- masked ranks (balancer_mask.cc) ---
  void set_mask(std::vector<char> new_masked);
  // Rebuilds tables[l] from the placement under the mask and refreshes lost[l].
  void rebuild_table(int l);
  std::vector<int> masked_list() const;
  void count_dropped(int layer_idx, std::span<const int32_t> topk_ids,
                     std::span<const int32_t> topk_slots) const;

  void emit(BalancerEventKind kind, int64_t step, bool in_after, int layer_idx = -1) const;
  void log(LogLevel level, const std::string& message) const;
  int local_slot(int32_t slot) const { return slot - rank * slots_per_rank; }
  bool vote_needed(int64_t step) const;

  BalancerConfig config;
  Communicator& comm;
  ExpertWeightStore* store;
  BalancerCallbacks callbacks;
  int rank;
  int num_ranks;
  int slots_per_rank;
  int num_slots;
  size_t cells;  // num_layers * num_experts

  Placement placement;
  std::vector<ReplicaTable> tables;  // [num_layers]
  LoadRecorder recorder;
  std::unique_ptr<runtime::PlannerWorker> worker;

  // Masked ranks: [num_ranks] 1 when masked; the epoch counts mask changes (a plan gathered
  // under another epoch is stale); lost [num_layers] experts without a live replica.
  std::vector<char> masked;
  int64_t mask_epoch = 0;
  std::vector<std::vector<int32_t>> lost;
  int num_lost = 0;
  mutable int64_t dropped_tokens = 0;  // route() is const; serving thread only
  bool replan_soon = false;            // gather at the next after_forward

  BalancerPhase phase = BalancerPhase::kCollecting;
  int64_t cycle_idx = 0;  // cycles started
  int64_t next_gather_step = 0;
  bool in_step = false;
  bool started = false;
  int64_t last_step = 0;

  // Cycle state.
  int64_t gather_step = -1;
  std::vector<double> gather_local;                 // [cells]
  std::vector<std::vector<double>> gather_buffers;  // free [num_ranks * cells] buffers
  std::vector<double> gathering;                    // the buffer of the gather in flight
  std::unique_ptr<CommHandle> gather_handle;
  bool first_plan_vote = true;
  int64_t cycle_mask_epoch = 0;     // mask_epoch at this cycle's gather
  std::vector<int> cycle_excluded;  // masked ranks at this cycle's gather (planned around)
  std::optional<runtime::PlanResult> result;  // this cycle's, once the worker returned it
  std::string gather_error;                   // local failure before the worker (the gather failed)
  size_t next_layer = 0;                      // into result->layers
  std::vector<runtime::InFlightLayer> in_flight;  // posting order
  std::vector<int> free_areas;
  std::vector<char> committed;  // [num_layers] this cycle
  runtime::Clock::time_point first_post_time{};
  bool any_posted = false;
  CycleMetrics cycle;

  // Vote.
  size_t vote_size;
  std::vector<double> vote_local;
  std::vector<double> vote_gathered;
  std::unique_ptr<CommHandle> vote_handle;

  // Metrics.
  BalancerMetrics totals;
  runtime::HookTimer hook_timer;
  int64_t step_ns = 0;  // before_forward's share of the current step
};

}  // namespace eplb
