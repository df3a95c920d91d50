// eplb_cuda_bench: times the CUDA kernels of eplb with CUDA events and prints one JSON object.
//   eplb_cuda_bench [--iters N]   (default 200 timed launches per workload after 20 warm-ups)
// Workloads (named like db_bench's): empty_kernel (the launch floor), count_* and route_* on a
// decode-sized batch of 8192 tokens x k = 8 over 256 logical experts (288 slots on 8 ranks, the
// 32 hottest experts replicated twice), and slot update bandwidth against cudaMemcpyAsync D2D.
// Each workload is `iters` back-to-back launches on one stream between two events, repeated 5
// times; "us" is the median of the 5 means per launch. "gb_per_s" counts bytes copied once (the
// DRAM traffic is twice that). A ~0.2 s copy loop first brings the clocks up.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "eplb/cuda/kernels.h"
#include "eplb/replica_table.h"

namespace {

#define BENCH_CHECK(call)                                                \
  do {                                                                   \
    const cudaError_t status_ = (call);                                  \
    if (status_ != cudaSuccess) {                                        \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, \
                   cudaGetErrorString(status_));                         \
      std::exit(1);                                                      \
    }                                                                    \
  } while (0)

__global__ void empty_kernel() {}

constexpr int kNumTokens = 8192;
constexpr int kTopK = 8;
constexpr int kNumExperts = 256;
constexpr int kNumRanks = 8;
constexpr int kNumSlots = 288;

// Median over 5 repeats of the mean microseconds per call of `launch` over `iters` calls.
double time_us(cudaStream_t stream, int iters, const std::function<void()>& launch) {
  for (int i = 0; i < 20; ++i) launch();
  cudaEvent_t start, stop;
  BENCH_CHECK(cudaEventCreate(&start));
  BENCH_CHECK(cudaEventCreate(&stop));
  std::vector<double> means;
  for (int repeat = 0; repeat < 5; ++repeat) {
    BENCH_CHECK(cudaEventRecord(start, stream));
    for (int i = 0; i < iters; ++i) launch();
    BENCH_CHECK(cudaEventRecord(stop, stream));
    BENCH_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    BENCH_CHECK(cudaEventElapsedTime(&ms, start, stop));
    means.push_back(1000.0 * ms / iters);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(means.begin(), means.end());
  return means[means.size() / 2];
}

template <typename T>
T* to_device(const std::vector<T>& host) {
  T* device = nullptr;
  BENCH_CHECK(cudaMalloc(&device, sizeof(T) * host.size()));
  BENCH_CHECK(cudaMemcpy(device, host.data(), sizeof(T) * host.size(), cudaMemcpyHostToDevice));
  return device;
}

struct Row {
  std::string name;
  double us;
  double gb_per_s;  // 0 when not a copy
};

}  // namespace

int main(int argc, char** argv) {
  int iters = 200;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--iters") == 0 && i + 1 < argc) {
      iters = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--iters N]\n", argv[0]);
      return 2;
    }
  }
  int device_count = 0;
  if (cudaGetDeviceCount(&device_count) != cudaSuccess || device_count == 0) {
    std::fprintf(stderr, "eplb_cuda_bench: no CUDA device\n");
    return 1;
  }
  cudaDeviceProp prop{};
  BENCH_CHECK(cudaGetDeviceProperties(&prop, 0));
  cudaStream_t stream, side;
  BENCH_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  BENCH_CHECK(cudaStreamCreateWithFlags(&side, cudaStreamNonBlocking));
  std::vector<Row> rows;

  constexpr size_t kBytes = size_t{256} << 20;
  void *d_src = nullptr, *d_dst = nullptr;
  BENCH_CHECK(cudaMalloc(&d_src, kBytes));
  BENCH_CHECK(cudaMalloc(&d_dst, kBytes));
  BENCH_CHECK(cudaMemset(d_src, 1, kBytes));
  for (int i = 0; i < 1000; ++i) {  // warm-up: ~0.2 s of copies
    BENCH_CHECK(cudaMemcpyAsync(d_dst, d_src, kBytes, cudaMemcpyDeviceToDevice, stream));
  }
  BENCH_CHECK(cudaStreamSynchronize(stream));

  rows.push_back(
      {"empty_kernel", time_us(stream, iters, [&] { empty_kernel<<<1, 32, 0, stream>>>(); }), 0});

  // Skewed router output: expert e drawn with weight 1 / (e + 1) (Zipf-like), 1% dropped (-1).
  std::mt19937_64 rng(1);
  std::vector<double> popularity(kNumExperts);
  for (int e = 0; e < kNumExperts; ++e) popularity[e] = 1.0 / (e + 1);
  std::discrete_distribution<int> pick(popularity.begin(), popularity.end());
  std::vector<int32_t> ids32(static_cast<size_t>(kNumTokens) * kTopK);
  for (auto& id : ids32) id = rng() % 100 == 0 ? -1 : pick(rng);
  const std::vector<int64_t> ids64(ids32.begin(), ids32.end());
  int32_t* d_ids32 = to_device(ids32);
  int64_t* d_ids64 = to_device(ids64);
  int64_t* d_counts = to_device(std::vector<int64_t>(kNumExperts, 0));
  int64_t* d_workspace = to_device(std::vector<int64_t>(kNumExperts + 1, 0));
  int64_t* d_invalid = to_device(std::vector<int64_t>(1, 0));
  double* d_decayed = to_device(std::vector<double>(kNumExperts, 0));
  const int64_t num_ids = static_cast<int64_t>(ids32.size());

  rows.push_back({"count_i32",
                  time_us(stream, iters,
                          [&] {
                            eplb::cuda::count_expert_load(d_ids32, num_ids, kNumExperts, d_counts,
                                                          d_invalid, stream);
                          }),
                  0});
  rows.push_back({"count_i64",
                  time_us(stream, iters,
                          [&] {
                            eplb::cuda::count_expert_load(d_ids64, num_ids, kNumExperts, d_counts,
                                                          d_invalid, stream);
                          }),
                  0});
  rows.push_back({"count_decayed_i32",
                  time_us(stream, iters,
                          [&] {
                            eplb::cuda::count_expert_load_decayed(d_ids32, num_ids, kNumExperts,
                                                                  0.9, d_decayed, d_workspace,
                                                                  d_invalid, stream);
                          }),
                  0});

  // 288 slots on 8 ranks: every expert once, the 32 most popular twice, shuffled; shares even.
  std::vector<int32_t> phy2log(kNumSlots);
  for (int s = 0; s < kNumSlots; ++s) phy2log[s] = s < kNumExperts ? s : s - kNumExperts;
  std::shuffle(phy2log.begin(), phy2log.end(), rng);
  const eplb::ReplicaTable table =
      eplb::build_replica_table(phy2log, kNumExperts, kNumSlots / kNumRanks);
  eplb::cuda::DeviceReplicaTable d_table(kNumExperts, kNumSlots);
  d_table.stage(table, stream);
  d_table.commit(stream);
  int32_t* d_slots = to_device(std::vector<int32_t>(ids32.size(), 0));
  for (auto [name, policy] : {std::pair{"route_round_robin", eplb::RoutePolicy::kRoundRobin},
                              std::pair{"route_local_first", eplb::RoutePolicy::kLocalFirst},
                              std::pair{"route_weighted", eplb::RoutePolicy::kWeighted}}) {
    rows.push_back({name,
                    time_us(stream, iters,
                            [&] {
                              eplb::cuda::route_tokens(d_ids32, kNumTokens, kTopK, d_table, policy,
                                                       3, 42, d_slots, stream);
                            }),
                    0});
  }

  // Slot update: one 256 MiB copy, and 64 copies of 4 MiB (one launch), vs cudaMemcpyAsync.
  cudaEvent_t done;
  BENCH_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  const int copy_iters = iters / 10 > 0 ? iters / 10 : 1;
  auto gbps = [](size_t bytes, double us) { return bytes / (us * 1e3); };
  const eplb::cuda::SlotCopy whole{d_dst, d_src, kBytes};
  double us = time_us(side, copy_iters, [&] {
    eplb::cuda::update_slots({&whole, 1}, side, side, nullptr, done);
  });
  rows.push_back({"slot_update_256MiB", us, gbps(kBytes, us)});
  std::vector<eplb::cuda::SlotCopy> pieces(64);
  for (size_t c = 0; c < pieces.size(); ++c) {
    pieces[c] = {static_cast<char*>(d_dst) + c * (kBytes / 64),
                 static_cast<const char*>(d_src) + c * (kBytes / 64), kBytes / 64};
  }
  us = time_us(side, copy_iters,
               [&] { eplb::cuda::update_slots(pieces, side, side, nullptr, done); });
  rows.push_back({"slot_update_64x4MiB", us, gbps(kBytes, us)});
  us = time_us(side, copy_iters, [&] {
    BENCH_CHECK(cudaMemcpyAsync(d_dst, d_src, kBytes, cudaMemcpyDeviceToDevice, side));
  });
  rows.push_back({"memcpy_async_d2d_256MiB", us, gbps(kBytes, us)});
  BENCH_CHECK(cudaDeviceSynchronize());

  std::printf("{\n  \"device\": \"%s\",\n  \"sm_count\": %d,\n  \"iters\": %d,\n", prop.name,
              prop.multiProcessorCount, iters);
  std::printf(
      "  \"batch\": {\"num_tokens\": %d, \"k\": %d, \"num_experts\": %d, "
      "\"num_slots\": %d, \"num_ranks\": %d},\n  \"results\": [\n",
      kNumTokens, kTopK, kNumExperts, kNumSlots, kNumRanks);
  for (size_t i = 0; i < rows.size(); ++i) {
    std::printf("    {\"name\": \"%s\", \"us\": %.3f", rows[i].name.c_str(), rows[i].us);
    if (rows[i].gb_per_s > 0) std::printf(", \"gb_per_s\": %.1f", rows[i].gb_per_s);
    std::printf("}%s\n", i + 1 < rows.size() ? "," : "");
  }
  std::printf("  ]\n}\n");
  return 0;
}
