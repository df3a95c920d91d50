// Online balancer benchmark: time of the two step hooks (before_forward + after_forward) of
// one rank while cycles run: collecting, the worker planning 58 layers in the background,
// layers moving and committing.
//
// Workload runtime/hooks-58x256-32r: DeepSeek-V3-like, 58 MoE layers x 256 experts on 288 slots
// (32 ranks x 9), balanced policy; 64 tokens x top-8 per layer per step, Zipf-like (s = 1.0)
// with the hot experts rotating every 200 steps so every cycle moves layers; cycle
// C = 100 steps, A = 10, U = 1; a 4 KiB host weight store. The rank is rank 0 of a mirror
// communicator whose 31 peers contribute the same values: every all-gather returns the local
// row in all 32 rows (the 3.8 MB load gather is copied by a helper thread, as a real backend's
// asynchronous gather is, so the hooks are timed rather than the stub), and every transfer
// completes at once, so the hooks run every path without 31 other threads.
// Counters: hook_us_p50/p99/max (per step, both hooks), record_us_p50 (feeding 58 layers to the
// recorder, not a hook), cycles, late_plans (plans not ready after A steps), plan_ms (last).
//
// Run: eplb_bench --benchmark_filter=runtime
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "eplb/comm.h"
#include "eplb/runtime/balancer.h"

namespace {

class DoneHandle final : public eplb::CommHandle {
 public:
  eplb::CommState poll() override { return eplb::CommState::kDone; }
  eplb::CommState wait(std::chrono::milliseconds) override { return eplb::CommState::kDone; }
};

// Completes when a helper thread has copied the local row into every row.
class CopyHandle final : public eplb::CommHandle {
 public:
  CopyHandle(std::span<const double> local, std::span<double> gathered, int num_ranks)
      : thread_([this, local, gathered, num_ranks] {
          for (int r = 0; r < num_ranks; ++r) {
            std::copy(local.begin(), local.end(),
                      gathered.begin() + static_cast<std::ptrdiff_t>(local.size()) * r);
          }
          done_.store(true, std::memory_order_release);
        }) {}
  ~CopyHandle() override { thread_.join(); }
  eplb::CommState poll() override {
    return done_.load(std::memory_order_acquire) ? eplb::CommState::kDone
                                                 : eplb::CommState::kPending;
  }
  eplb::CommState wait(std::chrono::milliseconds) override {
    thread_.join();
    thread_ = std::thread();
    return eplb::CommState::kDone;
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Rank 0 of `num_ranks` ranks that all contribute the same values.
class MirrorComm final : public eplb::Communicator {
 public:
  explicit MirrorComm(int num_ranks) : num_ranks_(num_ranks) {}
  int rank() const override { return 0; }
  int num_ranks() const override { return num_ranks_; }
  std::string backend_name() const override { return "mirror"; }
  std::unique_ptr<eplb::CommHandle> all_gather(std::span<const double> local,
                                               std::span<double> gathered) override {
    if (local.size() > 1024) return std::make_unique<CopyHandle>(local, gathered, num_ranks_);
    for (int r = 0; r < num_ranks_; ++r) {
      std::copy(local.begin(), local.end(),
                gathered.begin() + static_cast<std::ptrdiff_t>(local.size()) * r);
    }
    return std::make_unique<DoneHandle>();
  }
  std::unique_ptr<eplb::CommHandle> broadcast(std::span<std::byte>, int) override {
    return std::make_unique<DoneHandle>();
  }
  std::unique_ptr<eplb::CommHandle> exchange(std::span<const eplb::SendOp>,
                                             std::span<const eplb::RecvOp>) override {
    return std::make_unique<DoneHandle>();
  }
  void set_fault_injector(eplb::FaultInjector) override {}

 private:
  int num_ranks_;
};

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const auto k = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

void bm_runtime_hooks(benchmark::State& state) {
  constexpr int kLayers = 58, kExperts = 256, kRanks = 32, kTokens = 64, kTopk = 8;
  eplb::BalancerConfig config;
  config.num_layers = kLayers;
  config.num_experts = kExperts;
  config.num_ranks = kRanks;
  config.num_redundant_experts = 32;
  config.expert_heat_collection_interval = 100;
  config.algorithm_execution_interval = 10;
  config.layer_updates_per_iter = 1;
  MirrorComm comm(kRanks);
  eplb::HostWeightStore store(kLayers, config.resolved_slots_per_rank(), 4096, 2);
  eplb::Balancer balancer(config, comm, &store);

  // Zipf-like ids per layer (layer-specific shuffle), rotated per phase.
  std::mt19937_64 rng(7);
  std::vector<double> cdf(kExperts);
  double total = 0;
  for (int e = 0; e < kExperts; ++e) cdf[static_cast<size_t>(e)] = total += 1.0 / (e + 1.0);
  std::vector<std::vector<int32_t>> pool(kLayers);
  std::uniform_real_distribution<double> u(0.0, total);
  for (int l = 0; l < kLayers; ++l) {
    std::vector<int32_t> perm(kExperts);
    for (int e = 0; e < kExperts; ++e) perm[static_cast<size_t>(e)] = e;
    std::shuffle(perm.begin(), perm.end(), rng);
    auto& ids = pool[static_cast<size_t>(l)];
    ids.resize(kTokens * kTopk * 4);
    for (int32_t& id : ids) {
      const auto it = std::lower_bound(cdf.begin(), cdf.end(), u(rng));
      id = perm[static_cast<size_t>(std::min<std::ptrdiff_t>(it - cdf.begin(), kExperts - 1))];
    }
  }
  std::vector<int32_t> topk(kTokens * kTopk);
  std::vector<double> hook_us, record_us;
  hook_us.reserve(1 << 20);
  record_us.reserve(1 << 20);
  int64_t step = 0;
  using Clock = std::chrono::steady_clock;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    balancer.before_forward(step);
    const auto t1 = Clock::now();
    const int32_t shift = static_cast<int32_t>((step / 200) * 37);
    for (int l = 0; l < kLayers; ++l) {
      const auto& ids = pool[static_cast<size_t>(l)];
      const size_t offset = static_cast<size_t>(step % 4) * topk.size();
      for (size_t i = 0; i < topk.size(); ++i) topk[i] = (ids[offset + i] + shift) % kExperts;
      balancer.recorder().record_topk(l, topk);
    }
    const auto t2 = Clock::now();
    balancer.after_forward(step);
    const auto t3 = Clock::now();
    const double hook = std::chrono::duration<double>((t1 - t0) + (t3 - t2)).count();
    state.SetIterationTime(hook);
    hook_us.push_back(hook * 1e6);
    record_us.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
    ++step;
  }
  const eplb::BalancerMetrics m = balancer.metrics();
  state.counters["hook_us_p50"] = quantile(hook_us, 0.50);
  state.counters["hook_us_p99"] = quantile(hook_us, 0.99);
  state.counters["hook_us_max"] = quantile(hook_us, 1.0);
  state.counters["record_us_p50"] = quantile(record_us, 0.50);
  state.counters["cycles"] = static_cast<double>(m.cycles);
  state.counters["rebalances"] = static_cast<double>(m.rebalances);
  state.counters["late_plans"] = static_cast<double>(m.late_plans);
  state.counters["plan_ms"] = m.last_cycle.plan_ms;
  state.counters["moved_experts"] = static_cast<double>(m.moved_experts);
}

BENCHMARK(bm_runtime_hooks)
    ->Name("runtime/hooks-58x256-32r")
    ->UseManualTime()
    ->Iterations(20000)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
