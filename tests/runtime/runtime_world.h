// Test harness of the runtime tests: N ranks as threads on an InProcessWorld, each with a
// Balancer over a HostWeightStore, stepping in lock-step.
//
// Toy world (kToyConfig): 3 layers, 8 logical experts, 4 redundant -> 12 slots; with 2 ranks
// 6 slots per rank, with 4 ranks 3. Loads: in layer l, expert 7 - l gets 100 tokens per step
// and every other expert 1, on every rank, so the default deployment (slot i holds expert
// i mod 8) is unbalanced in every layer and the first plan changes all three.
// Weights: expert e of layer l is kFloats floats, value i = l * 1000 + e + i / 64.0, so every
// slot's content names the expert it holds.
#pragma once

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "eplb/runtime/balancer.h"
#include "eplb/runtime/in_process_comm.h"

namespace eplb::testing {

constexpr int kFloats = 16;

inline BalancerConfig toy_config(int num_ranks) {
  BalancerConfig c;
  c.num_layers = 3;
  c.num_experts = 8;
  c.num_ranks = num_ranks;
  c.num_redundant_experts = 4;
  c.expert_heat_collection_interval = 4;
  c.algorithm_execution_interval = 2;
  c.layer_updates_per_iter = 1;
  return c;
}

inline float weight_value(int layer_idx, int expert_idx, int i) {
  return static_cast<float>(layer_idx * 1000 + expert_idx) + static_cast<float>(i) / 64.0f;
}

// Writes expert `expert_idx`'s weights into `bytes`.
inline void write_expert(std::span<std::byte> bytes, int layer_idx, int expert_idx) {
  for (int i = 0; i < kFloats; ++i) {
    const float v = weight_value(layer_idx, expert_idx, i);
    std::memcpy(bytes.data() + static_cast<size_t>(i) * sizeof(float), &v, sizeof v);
  }
}

// Number of this rank's slots whose weights are not those of the expert phy2log names.
inline int weight_mismatches(ExpertWeightStore& store, const Placement& p, int rank_idx) {
  int bad = 0;
  std::vector<std::byte> want(store.bytes_per_expert());
  const int spr = p.slots_per_rank();
  for (int l = 0; l < p.num_layers; ++l) {
    for (int i = 0; i < spr; ++i) {
      write_expert(want, l, p.layer_phy2log(l)[static_cast<size_t>(rank_idx * spr + i)]);
      const auto have = store.slot_bytes(l, i);
      if (std::memcmp(have.data(), want.data(), want.size()) != 0) ++bad;
    }
  }
  return bad;
}

// Forwards to an in-process communicator, losing the sends `drop` selects.
class LossyComm final : public Communicator {
 public:
  LossyComm(std::unique_ptr<Communicator> inner, std::function<bool(int, const SendOp&)> drop)
      : inner_(std::move(inner)), drop_(std::move(drop)) {}
  int rank() const override { return inner_->rank(); }
  int num_ranks() const override { return inner_->num_ranks(); }
  std::string backend_name() const override { return "lossy"; }
  std::unique_ptr<CommHandle> all_gather(std::span<const double> local,
                                         std::span<double> gathered) override {
    return inner_->all_gather(local, gathered);
  }
  std::unique_ptr<CommHandle> broadcast(std::span<std::byte> data, int root) override {
    return inner_->broadcast(data, root);
  }
  std::unique_ptr<CommHandle> exchange(std::span<const SendOp> sends,
                                       std::span<const RecvOp> recvs) override {
    std::vector<SendOp> kept;
    for (const SendOp& s : sends) {
      if (!drop_(rank(), s)) kept.push_back(s);
    }
    return inner_->exchange(kept, recvs);
  }
  void set_fault_injector(FaultInjector injector) override {
    inner_->set_fault_injector(std::move(injector));
  }

 private:
  std::unique_ptr<Communicator> inner_;
  std::function<bool(int, const SendOp&)> drop_;
};

struct RankOutcome {
  std::vector<BalancerEvent> events;
  std::vector<std::string> logs;
  BalancerMetrics metrics;
  Placement placement;
  int weight_mismatches = 0;  // summed over steps (checked after every before_forward)
  int64_t max_hook_ns = 0;    // longest single hook call
  std::string error;          // an exception out of the rank's thread
};

struct WorldOptions {
  int num_steps = 12;
  bool sync_planner = true;  // wait_planner_idle() before every after_forward
  int step_sleep_us = 0;     // simulated forward time
  // Per rank: a planner override and a fault injector (empty: none).
  std::function<LayerPlanFn(int rank_idx)> plan_fn;
  std::function<FaultInjector(int rank_idx)> injector;
  // Sends for which it returns true are silently lost (no error on either side).
  std::function<bool(int rank_idx, const SendOp&)> drop;
  // Loads of (rank, step, layer) as per-expert counts; default: the toy loads.
  std::function<std::vector<int64_t>(int rank_idx, int64_t step, int layer_idx)> loads;
  // Called on every rank's thread between before_forward(step) and after_forward(step)
  // (`serve`: route, check), and right after after_forward(step) (`between`: mask_ranks).
  std::function<void(int rank_idx, int64_t step, Balancer&)> serve;
  std::function<void(int rank_idx, int64_t step, Balancer&)> between;
  // Per rank: BalancerCallbacks::load_expert (empty: none).
  std::function<ExpertLoadFn(int rank_idx)> load_expert;
};

inline std::vector<int64_t> toy_loads(int num_experts, int layer_idx) {
  std::vector<int64_t> counts(static_cast<size_t>(num_experts), 1);
  counts[static_cast<size_t>(num_experts - 1 - layer_idx % num_experts)] = 100;
  return counts;
}

// Runs every rank to completion; returns one outcome per rank.
inline std::vector<RankOutcome> run_world(const BalancerConfig& config,
                                          const WorldOptions& options) {
  const int n = config.num_ranks;
  InProcessWorld world(n);
  std::vector<RankOutcome> out(static_cast<size_t>(n));
  std::barrier sync(n);
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      RankOutcome& o = out[static_cast<size_t>(r)];
      std::unique_ptr<Communicator> comm = world.communicator(r);
      if (options.drop) comm = std::make_unique<LossyComm>(std::move(comm), options.drop);
      if (options.injector) comm->set_fault_injector(options.injector(r));
      const int spr = config.resolved_slots_per_rank();
      HostWeightStore store(config.num_layers, spr, kFloats * sizeof(float), 2);
      BalancerCallbacks callbacks;
      callbacks.on_event = [&o](const BalancerEvent& e) { o.events.push_back(e); };
      callbacks.log = [&o](LogLevel, const std::string& m) { o.logs.push_back(m); };
      if (options.plan_fn) callbacks.plan_layer = options.plan_fn(r);
      if (options.load_expert) callbacks.load_expert = options.load_expert(r);
      bool failed = false;
      try {
        Balancer balancer(config, *comm, &store, callbacks);
        const Placement& p = balancer.placement();
        for (int l = 0; l < config.num_layers; ++l) {
          for (int i = 0; i < spr; ++i) {
            write_expert(store.slot_bytes(l, i), l,
                         p.layer_phy2log(l)[static_cast<size_t>(r * spr + i)]);
          }
        }
        for (int64_t step = 0; step < options.num_steps; ++step) {
          auto t0 = std::chrono::steady_clock::now();
          balancer.before_forward(step);
          auto t1 = std::chrono::steady_clock::now();
          o.max_hook_ns = std::max<int64_t>(o.max_hook_ns, (t1 - t0).count());
          o.weight_mismatches += weight_mismatches(store, balancer.placement(), r);
          for (int l = 0; l < config.num_layers; ++l) {
            const std::vector<int64_t> counts =
                options.loads ? options.loads(r, step, l) : toy_loads(config.num_experts, l);
            balancer.recorder().record_counts(l, counts);
          }
          sync.arrive_and_wait();  // every rank has posted this step's transfers
          if (options.serve) options.serve(r, step, balancer);
          if (options.step_sleep_us > 0) {
            std::this_thread::sleep_for(std::chrono::microseconds(options.step_sleep_us));
          }
          if (options.sync_planner) balancer.wait_planner_idle();
          t0 = std::chrono::steady_clock::now();
          balancer.after_forward(step);
          t1 = std::chrono::steady_clock::now();
          o.max_hook_ns = std::max<int64_t>(o.max_hook_ns, (t1 - t0).count());
          if (options.between) options.between(r, step, balancer);
          sync.arrive_and_wait();
        }
        o.metrics = balancer.metrics();
        o.placement = balancer.placement();
      } catch (const std::exception& e) {
        o.error = e.what();
        failed = true;
      }
      if (failed) sync.arrive_and_drop();
    });
  }
  for (std::thread& t : threads) t.join();
  return out;
}

// "kind@step" (and ":layer") of every event of one rank, for exact-step expectations.
inline std::vector<std::string> event_trace(const RankOutcome& o) {
  std::vector<std::string> trace;
  for (const BalancerEvent& e : o.events) {
    std::string s = balancer_event_name(e.kind);
    s += e.in_after_forward ? "@af" : "@bf";
    s += std::to_string(e.step);
    if (e.layer_idx >= 0) {
      s += ':';
      s += std::to_string(e.layer_idx);
    }
    trace.push_back(s);
  }
  return trace;
}

}  // namespace eplb::testing
