// Balancer: construction, the two step hooks and the public API (the state machine's pieces
// are in balancer_cycle.cc and balancer_moves.cc; the steps are documented in
// eplb/runtime/balancer.h).
#include "eplb/runtime/balancer.h"

#include <algorithm>
#include <string>

#include "eplb/error.h"
#include "eplb/token_router.h"
#include "runtime/balancer_impl.h"

namespace eplb {

using runtime::Clock;
using runtime::kVoteHeader;
using runtime::kVoteUnused;
using runtime::sz;

const char* balancer_phase_name(BalancerPhase phase) {
  switch (phase) {
    case BalancerPhase::kStatic: return "static";
    case BalancerPhase::kCollecting: return "collecting";
    case BalancerPhase::kPlanning: return "planning";
    case BalancerPhase::kMoving: return "moving";
  }
  return "unknown";
}

const char* balancer_event_name(BalancerEventKind kind) {
  switch (kind) {
    case BalancerEventKind::kGatherStarted: return "gather_started";
    case BalancerEventKind::kPlanTaken: return "plan_taken";
    case BalancerEventKind::kPlanLate: return "plan_late";
    case BalancerEventKind::kPlanFailed: return "plan_failed";
    case BalancerEventKind::kPlanTimedOut: return "plan_timed_out";
    case BalancerEventKind::kLayerPosted: return "layer_posted";
    case BalancerEventKind::kLayerCommitted: return "layer_committed";
    case BalancerEventKind::kLayerFailed: return "layer_failed";
    case BalancerEventKind::kCycleEnded: return "cycle_ended";
    case BalancerEventKind::kRecordWritten: return "record_written";
    case BalancerEventKind::kRecordFailed: return "record_failed";
  }
  return "unknown";
}

Balancer::Impl::Impl(BalancerConfig c, Communicator& comm_ref, ExpertWeightStore* store_ptr,
                     BalancerCallbacks cb)
    : config(std::move(c)),
      comm(comm_ref),
      store(store_ptr),
      callbacks(std::move(cb)),
      rank(comm_ref.rank()),
      num_ranks(comm_ref.num_ranks()),
      slots_per_rank(config.resolved_slots_per_rank()),
      num_slots(config.num_slots()),
      cells(sz(config.num_layers) * sz(config.num_experts)),
      placement(initial_placement(config)),
      recorder(
          config.num_layers, config.num_experts,
          RecorderOptions{config.recorder.mode,
                          config.recorder.window_steps > 0 ? config.recorder.window_steps
                                                           : config.expert_heat_collection_interval,
                          config.recorder.decay}) {
  if (num_ranks != config.num_ranks) {
    throw Error("Balancer: the communicator has " + std::to_string(num_ranks) +
                " ranks but num_ranks is " + std::to_string(config.num_ranks));
  }
  int num_areas = config.layer_updates_per_iter;
  if (store != nullptr) {
    num_areas = store->num_staging_areas();
    if (num_areas < config.layer_updates_per_iter) {
      throw Error("Balancer: the weight store has " + std::to_string(num_areas) +
                  " staging areas, fewer than layer_updates_per_iter " +
                  std::to_string(config.layer_updates_per_iter));
    }
  }
  if (config.lost_expert_policy == LostExpertPolicy::kRestore && store != nullptr &&
      store->bytes_per_expert() > 0 && !callbacks.load_expert) {
    throw Error("Balancer: lost_expert_policy restore needs BalancerCallbacks::load_expert (the "
                "weights of experts whose every replica is on a masked rank)");
  }
  masked.assign(sz(num_ranks), 0);
  lost.resize(sz(config.num_layers));
  tables.resize(sz(config.num_layers));
  for (int l = 0; l < config.num_layers; ++l) rebuild_table(l);
  for (int a = num_areas - 1; a >= 0; --a) free_areas.push_back(a);
  vote_size = kVoteHeader + sz(num_areas);
  vote_local.assign(vote_size, kVoteUnused);
  vote_gathered.assign(vote_size * sz(num_ranks), 0.0);
  if (!config.dynamic_eplb) {
    phase = BalancerPhase::kStatic;
    return;
  }
  gather_local.assign(cells, 0.0);
  gather_buffers.reserve(4);
  gather_buffers.emplace_back(cells * sz(num_ranks), 0.0);
  committed.assign(sz(config.num_layers), 0);
  in_flight.reserve(sz(num_areas));
  next_gather_step =
      static_cast<int64_t>(config.warmup_steps) + config.expert_heat_collection_interval - 1;
  worker = std::make_unique<runtime::PlannerWorker>(config, callbacks.plan_layer);
}

void Balancer::Impl::emit(BalancerEventKind kind, int64_t step, bool in_after,
                          int layer_idx) const {
  if (!callbacks.on_event) return;
  BalancerEvent event{kind, step, in_after, layer_idx, cycle_idx - 1};
  callbacks.on_event(event);
}

void Balancer::Impl::log(LogLevel level, const std::string& message) const {
  if (callbacks.log)
    callbacks.log(level, "eplb balancer rank " + std::to_string(rank) + ": " + message);
}

bool Balancer::Impl::vote_needed(int64_t step) const {
  if (phase == BalancerPhase::kPlanning) {
    return step >= gather_step + config.algorithm_execution_interval - 1;
  }
  return phase == BalancerPhase::kMoving && !in_flight.empty();
}

// --- hooks ---

void Balancer::Impl::before_forward(int64_t step) {
  if (in_step || (started && step <= last_step)) {
    throw Error("Balancer::before_forward(" + std::to_string(step) + "): " +
                (in_step ? "after_forward(" + std::to_string(last_step) + ") was not called"
                         : "steps must increase (last was " + std::to_string(last_step) + ")"));
  }
  const Clock::time_point start = Clock::now();
  in_step = true;
  started = true;
  last_step = step;
  if (phase != BalancerPhase::kStatic) {
    poll_worker(step, false);
    poll_gather();
    consume_vote(step);
    if (phase == BalancerPhase::kMoving) {
      post_layers(step);
      if (in_flight.empty() && next_layer >= result->layers.size()) end_cycle(step);
    }
  }
  step_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
}

void Balancer::Impl::after_forward(int64_t step) {
  if (!in_step || step != last_step) {
    throw Error("Balancer::after_forward(" + std::to_string(step) + "): " +
                (in_step ? "expected step " + std::to_string(last_step)
                         : std::string("before_forward was not called")));
  }
  const Clock::time_point start = Clock::now();
  in_step = false;
  if (phase != BalancerPhase::kStatic) {
    poll_worker(step, true);
    poll_gather();
    if (phase == BalancerPhase::kCollecting && step >= next_gather_step) start_gather(step);
  }
  recorder.end_step();
  if (phase != BalancerPhase::kStatic && vote_needed(step)) {
    poll_worker(step, true);  // a result that arrived since the start of this hook
    start_vote();
  }
  ++totals.steps;
  const int64_t ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
  hook_timer.add(step_ns + ns);
}

// --- public ---

Balancer::Balancer(BalancerConfig config, Communicator& comm, ExpertWeightStore* store,
                   BalancerCallbacks callbacks)
    : impl_(std::make_unique<Impl>(std::move(config), comm, store, std::move(callbacks))) {}

Balancer::~Balancer() {
  if (!impl_) return;
  impl_->worker.reset();  // joins: the worker may read the placement
  impl_->in_flight.clear();
  impl_->gather_handle.reset();
  impl_->vote_handle.reset();
}

void Balancer::before_forward(int64_t step) { impl_->before_forward(step); }
void Balancer::after_forward(int64_t step) { impl_->after_forward(step); }
LoadRecorder& Balancer::recorder() { return impl_->recorder; }

void Balancer::route(int layer_idx, std::span<const int32_t> topk_ids, int k,
                     std::span<int32_t> topk_slots, uint64_t seed) const {
  route_tokens(topk_ids, k, replica_table(layer_idx), impl_->config.route_policy, impl_->rank, seed,
               topk_slots);
  if (impl_->num_lost > 0) impl_->count_dropped(layer_idx, topk_ids, topk_slots);
}

const Placement& Balancer::placement() const { return impl_->placement; }

const ReplicaTable& Balancer::replica_table(int layer_idx) const {
  if (layer_idx < 0 || layer_idx >= impl_->config.num_layers) {
    throw Error("Balancer: layer " + std::to_string(layer_idx) + " out of range [0, " +
                std::to_string(impl_->config.num_layers) + ")");
  }
  return impl_->tables[sz(layer_idx)];
}

const BalancerConfig& Balancer::config() const { return impl_->config; }
int Balancer::rank() const { return impl_->rank; }
BalancerPhase Balancer::phase() const { return impl_->phase; }
int64_t Balancer::cycle_idx() const { return impl_->cycle_idx; }

BalancerMetrics Balancer::metrics() const {
  BalancerMetrics m = impl_->totals;
  const runtime::HookQuantiles q = impl_->hook_timer.total();
  m.hook_us_p50 = q.p50_us;
  m.hook_us_p99 = q.p99_us;
  m.hook_us_max = q.max_us;
  m.dropped_tokens = impl_->dropped_tokens;
  m.masked_ranks = static_cast<int>(impl_->masked_list().size());
  m.lost_experts = impl_->num_lost;
  return m;
}

std::string Balancer::prometheus_text() const { return format_prometheus(metrics(), rank()); }

void Balancer::wait_planner_idle() {
  if (impl_->worker) impl_->worker->wait_idle();
}

}  // namespace eplb
