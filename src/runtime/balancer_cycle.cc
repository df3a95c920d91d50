// Balancer cycle: the load gather, the planner worker's results, the votes that make every
// rank take a plan (or give up a layer) at the same step, and the end of a cycle.
#include <algorithm>
#include <string>

#include "eplb/error.h"
#include "runtime/balancer_impl.h"

namespace eplb {

using runtime::Clock;
using runtime::InFlightLayer;
using runtime::kVoteFailed;
using runtime::kVoteHeader;
using runtime::kVotePending;
using runtime::kVoteReady;
using runtime::kVoteUnused;
using runtime::PlanResult;
using runtime::sz;
using runtime::vote_of;

void Balancer::Impl::poll_worker(int64_t step, bool in_after) {
  if (!worker) return;
  if (worker->records_ready()) {
    for (runtime::RecordOutcome& r : worker->take_records()) {
      if (r.ok) {
        emit(BalancerEventKind::kRecordWritten, step, in_after);
      } else {
        ++totals.record_failures;
        log(LogLevel::kError, r.message);
        emit(BalancerEventKind::kRecordFailed, step, in_after);
      }
    }
  }
  if (worker->results_ready()) {
    for (PlanResult& r : worker->take_results()) {
      const bool current = phase == BalancerPhase::kPlanning && r.cycle_idx == cycle_idx - 1;
      std::vector<double> buffer = std::move(r.gathered);
      gather_buffers.push_back(std::move(buffer));
      if (current) {
        result = std::move(r);
      }
      // else: a cycle that ended while this rank was still planning it; dropped.
    }
  }
}

void Balancer::Impl::poll_gather() {
  if (!gather_handle) return;
  const CommState state = gather_handle->poll();
  if (state == CommState::kPending) return;
  if (state == CommState::kDone) {
    runtime::PlanJob job;
    job.cycle_idx = cycle_idx - 1;
    job.gathered = std::move(gathering);
    job.current = &placement;
    job.excluded_ranks = cycle_excluded;
    worker->start_plan(std::move(job));
  } else {
    gather_error = "load all-gather failed: " + gather_handle->error();
    gather_buffers.push_back(std::move(gathering));
  }
  gather_handle.reset();
}

void Balancer::Impl::start_gather(int64_t step) {
  recorder.snapshot_into(gather_local);
  if (gather_buffers.empty()) gather_buffers.emplace_back(cells * sz(num_ranks), 0.0);
  gathering = std::move(gather_buffers.back());
  gather_buffers.pop_back();
  ++cycle_idx;
  phase = BalancerPhase::kPlanning;
  gather_step = step;
  first_plan_vote = true;
  cycle_mask_epoch = mask_epoch;
  cycle_excluded = masked_list();
  replan_soon = false;
  result.reset();
  gather_error.clear();
  next_layer = 0;
  any_posted = false;
  std::fill(committed.begin(), committed.end(), 0);
  cycle = CycleMetrics{};
  cycle.cycle_idx = cycle_idx - 1;
  cycle.gather_step = step;
  hook_timer.start_cycle();
  gather_handle = comm.all_gather(gather_local, gathering);
  emit(BalancerEventKind::kGatherStarted, step, true);
  poll_gather();
}

// --- votes ---

void Balancer::Impl::start_vote() {
  std::fill(vote_local.begin(), vote_local.end(), kVoteUnused);
  if (phase == BalancerPhase::kPlanning) {
    if (result) {
      vote_local[0] = result->failed ? kVoteFailed : kVoteReady;
      vote_local[1] = static_cast<double>(result->hash >> 32);
      vote_local[2] = static_cast<double>(result->hash & 0xffffffffULL);
    } else {
      vote_local[0] = gather_error.empty() ? kVotePending : kVoteFailed;
    }
  } else {
    for (size_t i = 0; i < in_flight.size(); ++i) {
      InFlightLayer& layer = in_flight[i];
      if (layer.handle && layer.state == CommState::kPending) layer.state = layer.handle->poll();
      vote_local[kVoteHeader + i] = layer.load_error.empty() ? vote_of(layer.state) : kVoteFailed;
    }
  }
  vote_handle = comm.all_gather(vote_local, vote_gathered);
}

void Balancer::Impl::consume_vote(int64_t step) {
  if (!vote_handle) return;
  CommState state = vote_handle->poll();
  if (state == CommState::kPending) state = vote_handle->wait(config.vote_timeout);
  if (state != CommState::kDone) {
    const std::string error = vote_handle->error();
    vote_handle.reset();
    throw Error("Balancer: rank " + std::to_string(rank) + ": step " + std::to_string(step) +
                ": vote " + comm_state_name(state) +
                (error.empty() ? std::string(" (a rank did not reach after_forward in time)")
                               : ": " + error));
  }
  vote_handle.reset();
  if (phase == BalancerPhase::kPlanning) {
    decide_plan(step, vote_gathered);
  } else if (phase == BalancerPhase::kMoving) {
    decide_layers(step, vote_gathered);
  }
}

void Balancer::Impl::decide_plan(int64_t step, std::span<const double> votes) {
  if (cycle_mask_epoch != mask_epoch) {
    discard_stale_plan(step);
    return;
  }
  bool all_ready = true;
  int failed_rank = -1;
  bool hash_mismatch = false;
  for (int r = 0; r < num_ranks; ++r) {
    const double* v = votes.data() + sz(r) * vote_size;
    if (v[0] == kVoteFailed && failed_rank < 0) failed_rank = r;
    if (v[0] != kVoteReady) all_ready = false;
    if (v[1] != votes[1] || v[2] != votes[2]) hash_mismatch = true;
  }
  if (failed_rank >= 0) {
    std::string why;
    if (failed_rank == rank || (result && result->failed) || !gather_error.empty()) {
      why = !gather_error.empty() ? gather_error : result ? result->error : "unknown";
    } else {
      why = "planner failed on rank " + std::to_string(failed_rank);
    }
    fail_plan(step, why);
    return;
  }
  if (all_ready && hash_mismatch) {
    fail_plan(step, "ranks planned different placements from the same loads");
    return;
  }
  if (all_ready) {
    take_plan(step);
    return;
  }
  if (first_plan_vote) {
    cycle.plan_late = true;
    ++totals.late_plans;
    emit(BalancerEventKind::kPlanLate, step, false);
  }
  first_plan_vote = false;
  if (config.planner_timeout_steps > 0 && step >= gather_step + config.planner_timeout_steps) {
    time_out_plan(step);
  }
}

void Balancer::Impl::decide_layers(int64_t step, std::span<const double> votes) {
  // Decide every voted layer first, then drop the decided ones (indices are the vote's).
  const size_t voted = in_flight.size();
  std::vector<char> decided(voted, 0);
  for (size_t i = 0; i < voted; ++i) {
    bool all_done = true;
    int failed_rank = -1;
    for (int r = 0; r < num_ranks; ++r) {
      const double v = votes[sz(r) * vote_size + kVoteHeader + i];
      if (v == kVoteFailed && failed_rank < 0) failed_rank = r;
      if (v != kVoteReady) all_done = false;
    }
    InFlightLayer& layer = in_flight[i];
    if (failed_rank >= 0) {
      std::string why = "transfer failed on rank " + std::to_string(failed_rank);
      if (failed_rank == rank && !layer.load_error.empty()) {
        why += ": " + layer.load_error;
      } else if (failed_rank == rank && layer.handle) {
        why += ": " + layer.handle->error();
      }
      give_up_layer(step, layer, why);
      decided[i] = 1;
    } else if (all_done) {
      commit_layer(step, layer);
      decided[i] = 1;
    } else if (config.transfer_timeout_steps > 0 &&
               step - layer.posted_step >= config.transfer_timeout_steps) {
      give_up_layer(step, layer,
                    "transfers not complete after " +
                        std::to_string(config.transfer_timeout_steps) + " steps");
      decided[i] = 1;
    }
  }
  size_t kept = 0;
  for (size_t i = 0; i < voted; ++i) {
    if (decided[i] == 0) {
      if (kept != i) in_flight[kept] = std::move(in_flight[i]);
      ++kept;
    }
  }
  in_flight.resize(kept);
}
// --- the cycle ---

void Balancer::Impl::fail_plan(int64_t step, const std::string& why) {
  ++totals.planner_failures;
  cycle.planner_failed = true;
  log(LogLevel::kError, "cycle " + std::to_string(cycle_idx - 1) +
                            ": planning failed, keeping the current placement: " + why);
  emit(BalancerEventKind::kPlanFailed, step, false);
  if (result) cycle.plan_ms = result->plan_ms;
  result.reset();
  end_cycle(step);
}

void Balancer::Impl::time_out_plan(int64_t step) {
  ++totals.planner_timeouts;
  cycle.planner_timed_out = true;
  log(LogLevel::kWarning, "cycle " + std::to_string(cycle_idx - 1) + ": plan not ready on " +
                              "every rank " + std::to_string(step - gather_step) +
                              " steps after the gather (planner_timeout_steps " +
                              std::to_string(config.planner_timeout_steps) +
                              "): abandoned, keeping the current placement");
  emit(BalancerEventKind::kPlanTimedOut, step, false);
  result.reset();  // a result that arrives later belongs to an ended cycle: dropped
  end_cycle(step);
}

void Balancer::Impl::discard_stale_plan(int64_t step) {
  log(LogLevel::kInfo, "cycle " + std::to_string(cycle_idx - 1) +
                           ": the masked ranks changed while planning: plan discarded, "
                           "re-planning over the live ranks");
  result.reset();
  end_cycle(step);
}

void Balancer::Impl::take_plan(int64_t step) {
  phase = BalancerPhase::kMoving;
  cycle.take_step = step;
  cycle.plan_ms = result->plan_ms;
  cycle.layers_changed = static_cast<int>(result->layers.size());
  next_layer = 0;
  emit(BalancerEventKind::kPlanTaken, step, false);
}

void Balancer::Impl::end_cycle(int64_t step) {
  if (gather_handle) {  // only when planning failed elsewhere before this rank's gather ended
    gather_handle->wait(config.vote_timeout);
    poll_gather();
  }
  cycle.end_step = step;
  if (any_posted) {
    cycle.transfer_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - first_post_time).count();
  }
  if (result) {
    double before_sum = 0, after_sum = 0;
    int with_data = 0;
    for (size_t l = 0; l < result->before.size(); ++l) {
      if (result->has_data[l] == 0) continue;
      const double after = committed[l] != 0 ? result->after[l] : result->before[l];
      ++with_data;
      before_sum += result->before[l];
      after_sum += after;
      cycle.imbalance_before_max = std::max(cycle.imbalance_before_max, result->before[l]);
      cycle.imbalance_after_max = std::max(cycle.imbalance_after_max, after);
    }
    if (with_data > 0) {
      cycle.imbalance_before_mean = before_sum / with_data;
      cycle.imbalance_after_mean = after_sum / with_data;
    }
  }
  const runtime::HookQuantiles q = hook_timer.cycle();
  cycle.hook_us_p50 = q.p50_us;
  cycle.hook_us_p99 = q.p99_us;
  cycle.hook_us_max = q.max_us;

  ++totals.cycles;
  if (cycle.layers_committed > 0) ++totals.rebalances;
  totals.moved_experts += cycle.moved_experts;
  totals.bytes_moved += cycle.bytes_moved;
  totals.last_cycle = cycle;

  if (!config.expert_map_record_path.empty() && !cycle.planner_failed) {
    worker->start_record(placement);
  }
  result.reset();
  phase = BalancerPhase::kCollecting;
  next_gather_step = std::max(gather_step + config.expert_heat_collection_interval, step);
  if (replan_soon) next_gather_step = step;  // the masked ranks changed during the cycle
  emit(BalancerEventKind::kCycleEnded, step, false);
}

}  // namespace eplb
