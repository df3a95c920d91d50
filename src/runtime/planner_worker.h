// The balancer's background thread: plans a cycle from the gathered loads, and writes
// expert_map_record_path. Internal to src/runtime.
//
// Jobs run in FIFO order. The serving thread hands a job over and later collects its result
// without ever waiting (results_ready() is one atomic load); only wait_idle() and the
// destructor block.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "eplb/placement.h"
#include "eplb/runtime/balancer.h"
#include "eplb/runtime/transfer_plan.h"

namespace eplb::runtime {

struct PlanJob {
  int64_t cycle_idx = 0;
  // [num_ranks, num_layers, num_experts] gathered loads; owned by the job while it runs and
  // handed back in the result, so the serving thread can reuse the buffer.
  std::vector<double> gathered;
  // The committed placement. Read by the worker; the serving thread does not change it before
  // it has collected this job's result (layers move only after a plan of a later-or-equal
  // cycle is taken, and jobs complete in order).
  const Placement* current = nullptr;
  // Masked ranks: planned around (PlanOptions::excluded_ranks), never transfer sources; their
  // slots keep their experts.
  std::vector<int> excluded_ranks;
};

struct PlanResult {
  int64_t cycle_idx = 0;
  bool failed = false;
  std::string error;             // when failed
  std::vector<double> gathered;  // the job's buffer, handed back
  std::vector<int32_t> phy2log;  // [num_layers, num_slots] planned placement
  // [num_layers, num_slots] planned shares with routing weighted, else empty. The built-in
  // planner gives masked slots 0; a custom planner's layers split evenly, and routing
  // renormalises over the live replicas either way.
  std::vector<double> routing_weight;
  // Changed layers (placement or, with routing weighted, shares), ascending layer_idx; a layer
  // whose shares alone changed has no copies.
  std::vector<LayerTransferPlan> layers;
  // [num_layers] max/mean rank load under the current / planned placement; 0 without data.
  std::vector<double> before;
  std::vector<double> after;
  std::vector<char> has_data;  // [num_layers]
  uint64_t hash = 0;           // of phy2log and routing_weight (ranks compare it)
  double plan_ms = 0;
};

struct RecordOutcome {
  bool ok = true;
  std::string message;  // error when !ok
};

class PlannerWorker {
 public:
  PlannerWorker(const BalancerConfig& config, LayerPlanFn plan_fn);
  ~PlannerWorker();  // finishes the running job and queued records, drops queued plans

  void start_plan(PlanJob job);
  void start_record(Placement placement);

  // Cheap check, then the results collected so far (FIFO).
  bool results_ready() const { return num_results_.load(std::memory_order_acquire) > 0; }
  std::vector<PlanResult> take_results();
  bool records_ready() const { return num_records_.load(std::memory_order_acquire) > 0; }
  std::vector<RecordOutcome> take_records();

  void wait_idle();

 private:
  struct Job {
    bool is_record = false;
    PlanJob plan;
    Placement record;
  };

  void run();
  PlanResult plan(PlanJob job) const;

  BalancerConfig config_;
  LayerPlanFn plan_fn_;  // empty: eplb::plan_layer over the job's live ranks
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Job> jobs_;
  bool busy_ = false;
  bool stop_ = false;
  std::vector<PlanResult> results_;
  std::vector<RecordOutcome> records_;
  std::atomic<int> num_results_{0};
  std::atomic<int> num_records_{0};
  std::thread thread_;
};

// FNV-1a over the values (the shares' bit patterns): the fingerprint ranks compare before
// taking a plan.
uint64_t placement_hash(std::span<const int32_t> phy2log,
                        std::span<const double> routing_weight = {});

}  // namespace eplb::runtime
