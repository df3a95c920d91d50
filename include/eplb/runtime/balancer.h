// The online balancer: one instance per rank, called twice per forward step by the serving
// thread. It records live expert loads, re-plans in a background worker thread, moves expert
// weights layer by layer through staging buffers, and switches a layer's weights and routing
// map together, without ever making the step wait for the planner.
//
// Usage (one rank; the same code runs on every rank with its own communicator and store):
//
//   eplb::BalancerConfig config;
//   config.num_layers = 58; config.num_experts = 256; config.num_ranks = 32;
//   config.num_redundant_experts = 32;            // 288 slots, 9 per rank
//   config.expert_heat_collection_interval = 400; config.algorithm_execution_interval = 30;
//   eplb::HostWeightStore store(58, config.resolved_slots_per_rank(), bytes_per_expert);
//   eplb::Balancer balancer(config, comm, &store);  // comm: this rank's eplb::Communicator
//   // load the weights of balancer.placement() into the store's slots, then serve:
//   for (int64_t step = 0; serving; ++step) {
//     balancer.before_forward(step);
//     for (int layer = 0; layer < 58; ++layer) {
//       balancer.recorder().record_topk(layer, topk_ids);          // [tokens, k] logical ids
//       balancer.route(layer, topk_ids, k, topk_slots);             // -> physical slots
//       ... dispatch to topk_slots, run the experts in store.slot_bytes(layer, i) ...
//     }
//     balancer.after_forward(step);
//   }
//
// Cycle, for collection interval C, algorithm interval A, layer_updates_per_iter U, warm-up W
// (steps are the `step` arguments; "bf(t)"/"af(t)" = before_forward/after_forward of step t):
//   af(g)      g = W + C - 1 for the first cycle, then the first step >= previous g + C at
//              which no cycle is running: snapshot the recorder, start the all-gather of loads.
//   any hook   once the gather is complete, hand the summed loads to the planner worker.
//   af(t)      for every t >= g + A - 1 until the plan is taken: vote "plan ready/pending/failed"
//              (a tiny all-gather) ...
//   bf(t + 1)  ... consumed here: all ranks ready and planned the same placement -> plan taken
//              at step T = t + 1 (>= g + A; a later T is a late plan, counted); any rank failed
//              -> the cycle ends, placement kept, failure logged and counted, the next cycle
//              retries. Pending -> keep serving the old placement, vote again.
//   bf(p)      from T on, up to U changed layers are posted per step (fewer when the store's
//              staging areas are all in use): local copies into staging at once, remote ones by
//              exchange() into staging.
//   af(p)      vote each in-flight layer's transfer status ...
//   bf(p + 1)  ... committed here when every rank's transfers completed (staging -> slots, then
//              the layer's phy2log and replica table switch): forward(p + 1) uses the new
//              placement. Any rank failed, or transfer_timeout_steps passed: the layer keeps
//              its old weights and map, counted, retried by the next cycle.
//   bf(e)      the cycle ends in the hook where its last layer commits or fails; metrics are
//              final; expert_map_record_path is written by the worker.
// With C = 4, A = 2, U = 1, W = 0 and three changed layers (planner done within a step):
// gather af(3), plan taken bf(5), layer 0 posted bf(5) committed bf(6), layer 1 posted bf(6)
// committed bf(7), layer 2 posted bf(7) committed bf(8), cycle ended bf(8), next gather af(8).
// Unchanged layers are skipped; with config.routing weighted a layer whose shares alone changed
// is posted and committed like the others, with no transfer. Every rank computes the same plan from
// the same gathered loads and every switch is voted, so all ranks switch a layer at the same step.
//
// Threading: hooks, recorder(), route(), placement() and metrics() belong to the serving
// thread; callbacks (log, on_event) are called on it, from inside the hooks. The planner
// callback runs on the worker thread. The hooks do not allocate on the step path except when a
// plan is taken or a layer is posted/committed, and never wait for the planner; they wait only
// for a vote (normally already complete: ranks step together) up to vote_timeout.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "eplb/comm.h"
#include "eplb/placement.h"
#include "eplb/replica_table.h"
#include "eplb/runtime/balancer_config.h"
#include "eplb/runtime/metrics.h"
#include "eplb/runtime/recorder.h"
#include "eplb/runtime/weight_store.h"

namespace eplb {

enum class BalancerPhase {
  kStatic,      // dynamic_eplb false: the placement never moves
  kCollecting,  // recording loads until the next gather
  kPlanning,    // loads gathered (or gathering), the worker plans, waiting for the vote
  kMoving,      // plan taken, layers moving
};

const char* balancer_phase_name(BalancerPhase phase);

enum class BalancerEventKind {
  kGatherStarted,   // af(g)
  kPlanTaken,       // bf(T)
  kPlanLate,        // bf(g + A): not every rank's plan was ready
  kPlanFailed,      // the planner threw, or ranks planned differently: cycle ends
  kPlanTimedOut,    // not ready by planner_timeout_steps: abandoned, cycle ends
  kLayerPosted,     // layer_idx: transfers posted
  kLayerCommitted,  // layer_idx: weights and map switched
  kLayerFailed,     // layer_idx: given up, old weights and map kept
  kCycleEnded,
  kRecordWritten,  // expert_map_record_path written (reported at the next hook)
  kRecordFailed,
};

const char* balancer_event_name(BalancerEventKind kind);

struct BalancerEvent {
  BalancerEventKind kind;
  int64_t step = 0;               // the hook's step
  bool in_after_forward = false;  // false: before_forward
  int layer_idx = -1;             // layer events only
  int64_t cycle_idx = 0;
};

enum class LogLevel { kInfo, kWarning, kError };

// What a custom planner (LayerPlanFn) is given for one layer; the spans live for the call.
struct LayerPlanInput {
  int layer_idx = 0;
  std::span<const double> expert_loads;      // [num_experts] tokens, summed over ranks
  std::span<const int32_t> current_phy2log;  // [num_slots] the deployed row
  std::span<const int> masked_ranks;         // ascending; their slots keep their expert
};

// Replaces eplb::plan_layer (tests, custom algorithms): writes `phy2log` [num_slots], the new
// row for `input`. Plan around input.masked_ranks (e.g. PlanOptions::excluded_ranks): whatever
// it writes into their slots is replaced by the current expert, and a row that leaves an expert
// without a slot on a live rank (when there are enough live slots) is a planner failure. Runs
// on the worker thread; may throw (counted as a planner failure).
using LayerPlanFn = std::function<void(const LayerPlanInput& input, std::span<int32_t> phy2log)>;

// Writes the weights of logical expert `expert_idx` of layer `layer_idx` into `dst`
// [bytes_per_expert] (e.g. from the checkpoint or a host-memory copy). Called on the serving
// thread when a re-plan places an expert whose every replica sits on a masked rank; may throw
// (the layer then fails like a failed transfer and is retried next cycle).
using ExpertLoadFn = std::function<void(int layer_idx, int expert_idx, std::span<std::byte> dst)>;

struct BalancerCallbacks {
  std::function<void(LogLevel, const std::string&)> log;  // none: messages are dropped
  std::function<void(const BalancerEvent&)> on_event;
  // none: eplb::plan_layer with config.plan_options() and the masked ranks excluded.
  LayerPlanFn plan_layer;
  // Required with lost_expert_policy restore and a store with bytes_per_expert > 0.
  ExpertLoadFn load_expert;
};

class Balancer {
 public:
  // `comm` (this rank's communicator, num_ranks() == config.num_ranks) and `store` (this
  // rank's weights; nullptr: move placements only, no weights) must outlive the balancer.
  // Validates the config and reads expert_map_path (eplb::Error on any problem), checks the
  // store (slots per rank as configured, >= layer_updates_per_iter staging areas) and starts
  // the worker thread (none when dynamic_eplb is false).
  Balancer(BalancerConfig config, Communicator& comm, ExpertWeightStore* store,
           BalancerCallbacks callbacks = {});
  // Joins the worker (it finishes the plan it is running and a pending
  // expert_map_record_path write) and cancels transfers in flight.
  ~Balancer();
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  // Call before and after every forward step, alternately, with increasing steps. Throw
  // eplb::Error on misuse (out of order) or when a vote times out; never for planner or
  // transfer failures (those are logged and counted).
  void before_forward(int64_t step);
  void after_forward(int64_t step);

  // Loads of the serving traffic: feed it (record_topk / record_counts) between the hooks.
  // The balancer closes each step in after_forward; do not call end_step() or reset() on it.
  LoadRecorder& recorder();

  // Routes `topk_ids` [num_tokens, k] logical expert ids of layer `layer_idx` to physical
  // slots `topk_slots` [num_tokens, k] under the committed placement, with
  // config.route_policy and this rank as the local rank (see eplb/token_router.h).
  void route(int layer_idx, std::span<const int32_t> topk_ids, int k, std::span<int32_t> topk_slots,
             uint64_t seed = 0) const;

  // The committed placement (all layers) and one layer's replica table; they change only
  // inside before_forward. With config.routing weighted the placement carries the planned
  // routing_weight and the tables route by it (renormalised over the live replicas).
  const Placement& placement() const;
  const ReplicaTable& replica_table(int layer_idx) const;

  const BalancerConfig& config() const;
  int rank() const;
  BalancerPhase phase() const;
  int64_t cycle_idx() const;  // cycles started so far

  // Running totals and the last ended cycle; hook-time quantiles over recent steps.
  BalancerMetrics metrics() const;
  std::string prometheus_text() const;  // format_prometheus(metrics(), rank())

  // Lost ranks. mask_ranks takes `ranks` out of service on top of those already masked;
  // unmask_ranks returns them. Call both on the serving thread of EVERY rank with the same
  // arguments between the same two hooks (e.g. right after after_forward(t)): the ranks then
  // agree on routing and on every later plan. Masked ranks must keep calling the hooks (their
  // collectives and transfers still run; they only get no tokens). Effective at once for
  // route(): no token goes to a slot on a masked rank, each expert's tokens are split evenly
  // over its live replicas (with routing weighted: by their planned shares, renormalised). A plan
  // in progress is discarded (in-flight layers given up, not counted as transfer failures) and
  // every later re-plan plans over the live ranks only (PlanOptions::excluded_ranks); experts that
  // end up without a live replica are routed to slot -1 and counted in
  // BalancerMetrics::dropped_tokens. Experts whose last live replica is masked are handled by
  // config.lost_expert_policy: refuse throws eplb::Error naming them
  // ("layer 0: 5,6") and changes nothing; restore accepts. Every mask change starts a new
  // cycle (re-plan) as soon as the running one ends, at the next after_forward when none runs.
  // unmask_ranks assumes the rank's slots still hold their weights.
  // Both throw eplb::Error for ranks out of range; mask_ranks also when every rank would be
  // masked.
  void mask_ranks(const std::vector<int>& ranks);
  void unmask_ranks(const std::vector<int>& ranks);
  std::vector<int> masked_ranks() const;  // ascending
  // [num_layers] logical experts without a replica on a live rank, ascending.
  const std::vector<std::vector<int32_t>>& lost_experts() const;

  // Blocks until the worker has no job (tests and simulators that want the planner never to
  // be late). Never call it from a serving loop that must not wait.
  void wait_planner_idle();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace eplb
