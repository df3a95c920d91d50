// Planner benchmark: time of one full plan() and the balance it reaches, per named workload,
// deployment and policy.
//
// Workloads:
//   zipf-58x256                 seeded Zipf-like loads (s = 1.0, experts shuffled per layer)
//   deepseek-v3-static-s101     <workloads>/synthetic/deepseek-v3-static-s101.npy ([58, 256]
//                               int64; skipped when missing). <workloads> is the environment's
//                               EPLB_WORKLOADS_DIR, else the build's (shared/workloads).
// Deployments (256 experts -> 288 slots):
//   global-32r                  32 ranks x 9 slots
//   hier-4n8g-32r               32 ranks on 4 nodes, 8 expert groups
//   global-144r                 144 ranks x 2 slots
// Counters: peak_to_avg = mean over layers of max/mean rank load; worst = the worst layer's.
//
// Run: eplb_bench --benchmark_min_time=0.2 [--benchmark_filter=balanced]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "eplb/balance.h"
#include "eplb/error.h"
#include "eplb/load_matrix.h"
#include "eplb/load_reader.h"
#include "eplb/planner.h"

namespace {

// Zipf-like: expert of rank k (random order per layer) gets weight 1 / (k + 1)^s, scaled to
// `tokens` token-expert assignments per layer and rounded.
eplb::LoadMatrix zipf_loads(int num_layers, int num_experts, double s, double tokens,
                            uint64_t seed) {
  eplb::LoadMatrix loads = eplb::LoadMatrix::zeros(num_layers, num_experts);
  std::mt19937_64 rng(seed);
  std::vector<int> order(static_cast<size_t>(num_experts));
  double norm = 0;
  for (int k = 0; k < num_experts; ++k) norm += 1.0 / std::pow(k + 1.0, s);
  for (int l = 0; l < num_layers; ++l) {
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    auto row = loads.layer(l);
    for (int k = 0; k < num_experts; ++k) {
      row[static_cast<size_t>(order[static_cast<size_t>(k)])] =
          std::round(tokens / std::pow(k + 1.0, s) / norm);
    }
  }
  return loads;
}

struct Deployment {
  const char* name;
  int num_ranks;
  int num_nodes;
  int num_groups;
};

void bm_plan(benchmark::State& state, const eplb::LoadMatrix* loads, eplb::PlanOptions options) {
  eplb::Placement placement;
  for (auto _ : state) {
    placement = eplb::plan(*loads, options);
    benchmark::DoNotOptimize(placement.phy2log.data());
  }
  const eplb::BalanceReport report = eplb::balance_report(*loads, &placement, options.num_ranks);
  state.counters["peak_to_avg"] = report.average.peak_to_avg;
  state.counters["worst"] = report.max_peak_to_avg;
  state.counters["layers"] = loads->num_layers;
}

}  // namespace

int main(int argc, char** argv) {
  static const std::vector<std::pair<std::string, eplb::LoadMatrix>> workloads = [] {
    std::vector<std::pair<std::string, eplb::LoadMatrix>> w;
    w.emplace_back("zipf-58x256", zipf_loads(58, 256, 1.0, 8192.0 * 8 * 100, 101));
    const char* dir = std::getenv("EPLB_WORKLOADS_DIR");
    const std::string path = std::string(dir != nullptr ? dir : EPLB_WORKLOADS_DIR) +
                             "/synthetic/deepseek-v3-static-s101.npy";
    try {
      w.emplace_back("deepseek-v3-static-s101", eplb::read_loads(path));
    } catch (const eplb::Error& e) {
      std::fprintf(stderr, "skipping workload deepseek-v3-static-s101: %s\n", e.what());
    }
    return w;
  }();
  const Deployment deployments[] = {
      {"global-32r", 32, 1, 1}, {"hier-4n8g-32r", 32, 4, 8}, {"global-144r", 144, 1, 1}};
  const eplb::Policy policies[] = {eplb::Policy::kDeepSeek, eplb::Policy::kGreedy,
                                   eplb::Policy::kBalanced};
  for (const auto& [workload, loads] : workloads) {
    for (const Deployment& d : deployments) {
      for (eplb::Policy policy : policies) {
        eplb::PlanOptions options;
        options.num_ranks = d.num_ranks;
        options.num_slots = 288;
        options.num_nodes = d.num_nodes;
        options.num_groups = d.num_groups;
        options.policy = policy;
        const std::string name =
            "plan/" + workload + "/" + d.name + "/" + eplb::policy_name(policy);
        benchmark::RegisterBenchmark(name.c_str(), bm_plan, &loads, options)
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
