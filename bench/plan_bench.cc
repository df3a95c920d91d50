// Planner benchmark: time of one full plan() and the balance it reaches, per named workload,
// deployment and policy.
//
// Workloads (<workloads> is the environment's EPLB_WORKLOADS_DIR, else the build's
// shared/workloads; a missing file skips its cases):
//   zipf-58x256        seeded Zipf-like loads (s = 1.0, experts shuffled per layer)
//   deepseek-v3        <workloads>/synthetic/deepseek-v3-static-s101.npy [58, 256]
//   qwen3-235b         <workloads>/synthetic/qwen3-235b-static-s103.npy [94, 128]
//   kimi-k2-60x384     seeded Zipf-like loads, Kimi-K2's shape (60 layers x 384 experts)
//   deepseek-v3-trace  <workloads>/synthetic/deepseek-v3-trace-s105.npy, steps 100-109: the
//                      re-plan case starts from the plan of steps 90-99 (--current)
// Deployments: "<slots>s-<ranks>r" (global) or "-<nodes>n<groups>g" (hierarchical). Variants:
// "/weighted" plans routing weights too; "/replan" plans from the previous window's placement.
// Counters: peak_to_avg = mean over layers of max/mean rank load (routing weights honoured);
// worst = the worst layer's; moved = slots moved per layer (re-plan).
//
// Run: eplb_bench --benchmark_min_time=0.2 [--benchmark_filter=balanced]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <optional>
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
// `tokens` token-expert assignments per layer, times a uniform factor in [1 - noise, 1 + noise],
// rounded.
eplb::LoadMatrix zipf_loads(int num_layers, int num_experts, double s, double tokens, uint64_t seed,
                            double noise = 0) {
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
      const double factor =
          noise > 0 ? std::uniform_real_distribution<double>(1 - noise, 1 + noise)(rng) : 1.0;
      row[static_cast<size_t>(order[static_cast<size_t>(k)])] =
          std::round(tokens / std::pow(k + 1.0, s) / norm * factor);
    }
  }
  return loads;
}

struct Deployment {
  int num_slots;
  int num_ranks;
  int num_nodes = 1;
  int num_groups = 1;
  std::string name() const {
    std::string n = std::to_string(num_slots);
    n.append("s-").append(std::to_string(num_ranks)).append("r");
    if (num_nodes > 1) {
      n.append("-").append(std::to_string(num_nodes)).append("n");
      n.append(std::to_string(num_groups)).append("g");
    }
    return n;
  }
};

struct Workload {
  std::string name;
  eplb::LoadMatrix loads;
  std::vector<Deployment> deployments;
  std::optional<eplb::LoadMatrix> previous;  // loads the deployed placement was planned from
};

void bm_plan(benchmark::State& state, const Workload* workload, eplb::PlanOptions options) {
  std::optional<eplb::Placement> current;
  if (workload->previous) current = eplb::plan(*workload->previous, options);
  eplb::Placement placement;
  for (auto _ : state) {
    placement = eplb::plan(workload->loads, options, current ? &*current : nullptr);
    benchmark::DoNotOptimize(placement.phy2log.data());
  }
  const eplb::BalanceReport report =
      eplb::balance_report(workload->loads, &placement, options.num_ranks);
  state.counters["peak_to_avg"] = report.average.peak_to_avg;
  state.counters["worst"] = report.max_peak_to_avg;
  state.counters["layers"] = workload->loads.num_layers;
  if (current) {
    state.counters["moved"] = static_cast<double>(eplb::count_moved_slots(*current, placement)) /
                              workload->loads.num_layers;
  }
}

std::optional<eplb::LoadMatrix> read_workload(const std::string& file,
                                              const eplb::LoadReadOptions& read = {}) {
  const char* dir = std::getenv("EPLB_WORKLOADS_DIR");
  const std::string path = std::string(dir != nullptr ? dir : EPLB_WORKLOADS_DIR) + "/" + file;
  try {
    return eplb::read_loads(path, read);
  } catch (const eplb::Error& e) {
    std::fprintf(stderr, "skipping workload %s: %s\n", file.c_str(), e.what());
    return std::nullopt;
  }
}

std::vector<Workload> workloads() {
  std::vector<Workload> w;
  const std::vector<Deployment> v3 = {{288, 32}, {288, 32, 4, 8}, {288, 32, 8, 8}, {288, 144}};
  w.push_back({"zipf-58x256", zipf_loads(58, 256, 1.0, 8192.0 * 8 * 100, 101), {{288, 32}}, {}});
  if (auto loads = read_workload("synthetic/deepseek-v3-static-s101.npy")) {
    w.push_back({"deepseek-v3", std::move(*loads), v3, {}});
  }
  if (auto loads = read_workload("synthetic/qwen3-235b-static-s103.npy")) {
    w.push_back({"qwen3-235b", std::move(*loads), {{144, 16}}, {}});
  }
  w.push_back({"kimi-k2-60x384", zipf_loads(60, 384, 1.0, 8192.0 * 8 * 100, 103), {{416, 32}}, {}});
  // Scale: 4 layers of 4000 experts on 2048 ranks x 2 slots (many replicas of each hot expert).
  w.push_back(
      {"zipf-4x4000", zipf_loads(4, 4000, 0.8, 8192.0 * 8 * 100, 107, 0.2), {{4096, 2048}}, {}});
  // Re-plans of window [to, to + 10) from the plan of [from, from + 10): steps 90-99 -> 100-109
  // cross a change of the trace's mix (a hard case: ~18% of slots move), 110-119 -> 120-129
  // are consecutive windows of one mix (the usual online case). Global, and 4 nodes x 8 groups.
  auto replan_case = [&w](const std::string& name, int from, int to) {
    eplb::LoadReadOptions before;
    before.window = eplb::IndexRange{from, from + 10};
    eplb::LoadReadOptions after;
    after.window = eplb::IndexRange{to, to + 10};
    auto previous = read_workload("synthetic/deepseek-v3-trace-s105.npy", before);
    auto next = read_workload("synthetic/deepseek-v3-trace-s105.npy", after);
    if (previous && next) {
      w.push_back({name, std::move(*next), {{288, 32}, {288, 32, 4, 8}}, std::move(previous)});
    }
  };
  replan_case("deepseek-v3-trace", 90, 100);
  replan_case("deepseek-v3-trace-steady", 110, 120);
  return w;
}

}  // namespace

int main(int argc, char** argv) {
  static const std::vector<Workload> all = workloads();
  const eplb::Policy policies[] = {eplb::Policy::kDeepSeek, eplb::Policy::kGreedy,
                                   eplb::Policy::kBalanced};
  for (const Workload& workload : all) {
    for (const Deployment& d : workload.deployments) {
      for (eplb::Policy policy : policies) {
        for (eplb::Routing routing : {eplb::Routing::kEven, eplb::Routing::kWeighted}) {
          // Weighted routing and re-plans: policy balanced.
          if (routing == eplb::Routing::kWeighted && policy != eplb::Policy::kBalanced) continue;
          if (workload.previous && policy != eplb::Policy::kBalanced) continue;
          eplb::PlanOptions options;
          options.num_ranks = d.num_ranks;
          options.num_slots = d.num_slots;
          options.num_nodes = d.num_nodes;
          options.num_groups = d.num_groups;
          options.policy = policy;
          options.routing = routing;
          std::string name = "plan/";
          name.append(workload.name).append("/").append(d.name()).append("/");
          name.append(eplb::policy_name(policy));
          if (routing == eplb::Routing::kWeighted) name.append("/weighted");
          if (workload.previous) name.append("/replan");
          benchmark::RegisterBenchmark(name.c_str(), bm_plan, &workload, options)
              ->Unit(benchmark::kMicrosecond);
        }
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
