#include "runtime/planner_worker.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <exception>
#include <string>

#include "eplb/balance.h"
#include "eplb/error.h"
#include "eplb/placement_io.h"
#include "runtime/rank_mask.h"

namespace eplb::runtime {
namespace {

size_t sz(int64_t v) { return static_cast<size_t>(v); }

// A planner's row must have every id in range and name every logical expert at least once;
// with masked ranks (`masked` [num_ranks]), once on a live rank, unless there are fewer live
// slots than experts (some are then necessarily uncovered).
void check_planned_row(int layer_idx, std::span<const int32_t> row, int num_experts,
                       std::span<const char> masked, std::vector<char>& seen) {
  const size_t slots_per_rank = row.size() / masked.size();
  size_t live_slots = 0;
  seen.assign(sz(num_experts), 0);
  for (size_t s = 0; s < row.size(); ++s) {
    if (row[s] < 0 || row[s] >= num_experts) {
      throw Error("layer " + std::to_string(layer_idx) + ": planned phy2log[" + std::to_string(s) +
                  "] = " + std::to_string(row[s]) + " out of range [0, " +
                  std::to_string(num_experts) + ")");
    }
    const bool live = masked[s / slots_per_rank] == 0;
    live_slots += live;
    if (live) seen[sz(row[s])] = 1;
  }
  if (live_slots < seen.size()) return;
  for (size_t e = 0; e < seen.size(); ++e) {
    if (seen[e] == 0) {
      throw Error("layer " + std::to_string(layer_idx) + ": planned placement has no slot for " +
                  "expert " + std::to_string(e) + " on a live rank");
    }
  }
}

}  // namespace

uint64_t placement_hash(std::span<const int32_t> phy2log, std::span<const double> routing_weight) {
  uint64_t h = 1469598103934665603ULL;
  for (const int32_t v : phy2log) {
    h ^= static_cast<uint32_t>(v);
    h *= 1099511628211ULL;
  }
  for (const double w : routing_weight) {
    h ^= std::bit_cast<uint64_t>(w);
    h *= 1099511628211ULL;
  }
  return h;
}

PlannerWorker::PlannerWorker(const BalancerConfig& config, LayerPlanFn plan_fn)
    : config_(config), plan_fn_(std::move(plan_fn)) {
  thread_ = std::thread([this] { run(); });
}

PlannerWorker::~PlannerWorker() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    // Queued plans are dropped; queued records are still written (the file is the point of
    // shutting down cleanly).
    std::erase_if(jobs_, [](const Job& job) { return !job.is_record; });
  }
  wake_.notify_all();
  thread_.join();
}

void PlannerWorker::start_plan(PlanJob job) {
  {
    std::lock_guard lock(mu_);
    Job j;
    j.plan = std::move(job);
    jobs_.push_back(std::move(j));
  }
  wake_.notify_one();
}

void PlannerWorker::start_record(Placement placement) {
  {
    std::lock_guard lock(mu_);
    Job j;
    j.is_record = true;
    j.record = std::move(placement);
    jobs_.push_back(std::move(j));
  }
  wake_.notify_one();
}

std::vector<PlanResult> PlannerWorker::take_results() {
  std::lock_guard lock(mu_);
  std::vector<PlanResult> out;
  out.swap(results_);
  num_results_.store(0, std::memory_order_release);
  return out;
}

std::vector<RecordOutcome> PlannerWorker::take_records() {
  std::lock_guard lock(mu_);
  std::vector<RecordOutcome> out;
  out.swap(records_);
  num_records_.store(0, std::memory_order_release);
  return out;
}

void PlannerWorker::wait_idle() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [&] { return jobs_.empty() && !busy_; });
}

void PlannerWorker::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopped
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    busy_ = true;
    lock.unlock();
    if (job.is_record) {
      RecordOutcome outcome;
      try {
        write_placement(config_.expert_map_record_path, job.record, PlacementFormat::kAscend);
      } catch (const std::exception& e) {
        outcome.ok = false;
        outcome.message = std::string("expert_map_record_path: ") + e.what();
      }
      lock.lock();
      records_.push_back(std::move(outcome));
      num_records_.store(static_cast<int>(records_.size()), std::memory_order_release);
    } else {
      PlanResult result = plan(std::move(job.plan));
      lock.lock();
      results_.push_back(std::move(result));
      num_results_.store(static_cast<int>(results_.size()), std::memory_order_release);
    }
    busy_ = false;
    if (jobs_.empty()) idle_.notify_all();
  }
}

PlanResult PlannerWorker::plan(PlanJob job) const {
  const auto start = std::chrono::steady_clock::now();
  const int num_layers = config_.num_layers;
  const int num_experts = config_.num_experts;
  const int num_ranks = config_.num_ranks;
  const int num_slots = config_.num_slots();
  const size_t cells = sz(num_layers) * sz(num_experts);

  PlanResult r;
  r.cycle_idx = job.cycle_idx;
  r.before.assign(sz(num_layers), 0.0);
  r.after.assign(sz(num_layers), 0.0);
  r.has_data.assign(sz(num_layers), 0);
  try {
    // Sum over ranks in rank order: every rank gets the same doubles.
    std::vector<double> loads(cells, 0.0);
    for (size_t rank = 0; rank < sz(num_ranks); ++rank) {
      const double* row = job.gathered.data() + rank * cells;
      for (size_t i = 0; i < cells; ++i) loads[i] += row[i];
    }
    const Placement& current = *job.current;
    r.phy2log = current.phy2log;
    const bool weighted = config_.routing == Routing::kWeighted;
    if (weighted) r.routing_weight = current.routing_weight;
    std::vector<char> seen;
    std::vector<char> masked(sz(num_ranks), 0);
    for (int rank_idx : job.excluded_ranks) masked[sz(rank_idx)] = 1;
    const size_t slots_per_rank = sz(num_slots / num_ranks);
    PlanOptions options = config_.plan_options();
    options.excluded_ranks = job.excluded_ranks;
    std::vector<double> shares(sz(num_slots));  // the planner's (used with routing weighted)
    std::vector<int32_t> replica_count;         // scratch of even_routing_weight
    const TransferPlanOptions transfer{num_ranks, config_.num_nodes};
    // Under restore, an expert may have no usable holder (masked, or none left): reloaded.
    const TransferSources sources{job.excluded_ranks,
                                  config_.lost_expert_policy == LostExpertPolicy::kRestore};
    for (int l = 0; l < num_layers; ++l) {
      const std::span<const double> layer_loads(loads.data() + sz(l) * sz(num_experts),
                                                sz(num_experts));
      bool has_data = false;
      for (const double v : layer_loads) has_data = has_data || v > 0;
      const auto old_row = current.layer_phy2log(l);
      const std::span<int32_t> new_row(r.phy2log.data() + sz(l) * sz(num_slots), sz(num_slots));
      const auto old_shares = current.layer_routing_weight(l);  // empty: even routing
      const std::span<double> new_shares =
          weighted
              ? std::span<double>(r.routing_weight).subspan(sz(l) * sz(num_slots), sz(num_slots))
              : std::span<double>();
      if (!has_data) continue;  // keeps the current row and shares
      r.has_data[sz(l)] = 1;
      try {
        if (plan_fn_) {
          plan_fn_({l, layer_loads, old_row, job.excluded_ranks}, new_row);
        } else {
          plan_layer(layer_loads, options, old_row, new_row, shares, nullptr);
        }
        // Masked slots keep their experts: nothing is ever sent to a masked rank.
        for (size_t s = 0; s < new_row.size(); ++s) {
          if (masked[s / slots_per_rank] != 0) new_row[s] = old_row[s];
        }
        check_planned_row(l, new_row, num_experts, masked, seen);
        if (weighted && plan_fn_) {  // a custom planner plans no shares: an even split
          even_routing_weight(new_row, num_experts, new_shares, replica_count);
        } else if (weighted) {
          std::copy(shares.begin(), shares.end(), new_shares.begin());
        }
      } catch (const std::exception& e) {
        throw Error("planner: layer " + std::to_string(l) + ": " + e.what());
      }
      // Masked ranks take no tokens: each expert's load is split over its live replicas, and
      // max/mean is over the live ranks.
      auto peak_to_avg = [&](std::span<const int32_t> row, std::span<const double> planned) {
        const std::vector<double> share =
            live_shares(row, masked, static_cast<int>(slots_per_rank), num_experts, planned);
        std::vector<double> load = rank_loads(layer_loads, row, share, num_ranks);
        size_t kept = 0;
        for (size_t rank = 0; rank < load.size(); ++rank) {
          if (masked[rank] == 0) load[kept++] = load[rank];
        }
        load.resize(kept);
        return layer_balance(load).peak_to_avg;
      };
      r.before[sz(l)] = peak_to_avg(old_row, old_shares);
      r.after[sz(l)] = peak_to_avg(new_row, new_shares);
      if (!std::equal(old_row.begin(), old_row.end(), new_row.begin()) ||
          !std::equal(old_shares.begin(), old_shares.end(), new_shares.begin(), new_shares.end())) {
        r.layers.push_back(plan_layer_transfers(l, old_row, new_row, transfer, sources));
      }
    }
    r.hash = placement_hash(r.phy2log, r.routing_weight);
  } catch (const std::exception& e) {
    r.failed = true;
    r.error = e.what();
  } catch (...) {
    r.failed = true;
    r.error = "planner: unknown exception";
  }
  r.gathered = std::move(job.gathered);
  r.plan_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace eplb::runtime
