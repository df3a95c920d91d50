// eplb::cuda::route_tokens against the CPU twin (eplb/token_router.h), bit for bit, on random
// worlds: 1..8 replicas per logical expert, empty slots, random routing weights with zero shares,
// every policy, k = 1..8, empty batches, invalid ids; plus the double-buffered table's
// stage/commit protocol, also under a captured CUDA graph.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "cuda/cuda_test_util.h"
#include "eplb/cuda/kernels.h"
#include "eplb/error.h"
#include "eplb/token_router.h"

namespace eplb::cuda {
namespace {

using testing::DeviceBuffer;

struct World {
  std::vector<int32_t> phy2log;
  std::vector<double> routing_weight;  // empty or [num_slots]
  int num_experts = 0;
  int slots_per_rank = 0;
  int num_ranks = 0;
};

// Every logical expert gets 1..max_replicas replicas; slots are shuffled and padded with empty
// (-1) slots up to a multiple of slots_per_rank.
World random_world(std::mt19937_64& rng, int num_experts, int max_replicas, bool weighted) {
  World world;
  world.num_experts = num_experts;
  std::uniform_int_distribution<int> replicas(1, max_replicas);
  for (int e = 0; e < num_experts; ++e) {
    const int r = replicas(rng);
    for (int i = 0; i < r; ++i) world.phy2log.push_back(e);
  }
  std::uniform_int_distribution<int> per_rank(1, 16);
  world.slots_per_rank = per_rank(rng);
  while (world.phy2log.size() % static_cast<size_t>(world.slots_per_rank) != 0) {
    world.phy2log.push_back(-1);
  }
  std::shuffle(world.phy2log.begin(), world.phy2log.end(), rng);
  world.num_ranks = static_cast<int>(world.phy2log.size()) / world.slots_per_rank;
  if (weighted) {
    // Shares in {0, 0.1 .. 1}; every expert keeps one positive share (its first slot).
    std::uniform_int_distribution<int> tenths(0, 10);
    std::vector<bool> seen(static_cast<size_t>(num_experts), false);
    for (int32_t e : world.phy2log) {
      double w = tenths(rng) / 10.0;
      if (e >= 0 && !seen[static_cast<size_t>(e)]) {
        seen[static_cast<size_t>(e)] = true;
        w = std::max(w, 0.05);
      }
      world.routing_weight.push_back(w);
    }
  }
  return world;
}

std::vector<int32_t> random_topk(std::mt19937_64& rng, int num_tokens, int k, int num_experts) {
  std::uniform_int_distribution<int32_t> id(-3, num_experts + 2);  // ~ a few percent invalid
  std::vector<int32_t> topk_ids(static_cast<size_t>(num_tokens) * static_cast<size_t>(k));
  for (auto& e : topk_ids) e = id(rng);
  if (!topk_ids.empty()) {
    topk_ids.front() = 2147483647;
    topk_ids.back() = -2147483647 - 1;
  }
  return topk_ids;
}

std::vector<int32_t> route_on_device(const std::vector<int32_t>& topk_ids, int num_tokens, int k,
                                     const DeviceReplicaTable& table, RoutePolicy policy,
                                     int local_rank, uint64_t seed) {
  DeviceBuffer<int32_t> d_ids(topk_ids);
  DeviceBuffer<int32_t> d_slots(std::vector<int32_t>(topk_ids.size(), -7));
  route_tokens(d_ids.get(), num_tokens, k, table, policy, local_rank, seed, d_slots.get(), nullptr);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  return d_slots.download();
}

TEST(CudaRouteTokens, MatchesHostTwinOnRandomWorlds) {
  EPLB_REQUIRE_CUDA_DEVICE();
  std::mt19937_64 rng(11);
  for (int num_experts : {1, 16, 256}) {
    for (int max_replicas = 1; max_replicas <= 8; ++max_replicas) {
      for (bool weighted : {false, true}) {
        const World world = random_world(rng, num_experts, max_replicas, weighted);
        const ReplicaTable table = build_replica_table(world.phy2log, num_experts,
                                                       world.slots_per_rank, world.routing_weight);
        DeviceReplicaTable d_table(num_experts, static_cast<int>(world.phy2log.size()));
        d_table.stage(table, nullptr);
        d_table.commit(nullptr);
        for (int k = 1; k <= 8; ++k) {
          for (int num_tokens : {0, 1, 33, 4096}) {
            const std::vector<int32_t> topk_ids = random_topk(rng, num_tokens, k, num_experts);
            for (RoutePolicy policy :
                 {RoutePolicy::kRoundRobin, RoutePolicy::kLocalFirst, RoutePolicy::kWeighted}) {
              const int local_rank = static_cast<int>(rng() % (world.num_ranks + 1)) - 1;
              const uint64_t seed = rng();
              SCOPED_TRACE(::testing::Message()
                           << "num_experts=" << num_experts << " max_replicas=" << max_replicas
                           << " weighted=" << weighted << " k=" << k << " num_tokens=" << num_tokens
                           << " policy=" << route_policy_name(policy)
                           << " local_rank=" << local_rank << " seed=" << seed);
              std::vector<int32_t> expected(topk_ids.size());
              eplb::route_tokens(topk_ids, k, table, policy, local_rank, seed, expected);
              ASSERT_EQ(route_on_device(topk_ids, num_tokens, k, d_table, policy, local_rank, seed),
                        expected);
            }
          }
        }
      }
    }
  }
}

// Toy world A: 2 ranks x 2 slots, 2 experts, phy2log [0, 1, 0, 1]; world B: [1, 1, 0, 0].
// Routing token 0 = [expert 0, expert 1] local-first from rank 1: A -> [2, 3]; B -> [2, 1]
// (expert 1 has no replica on rank 1 in B: round robin (0 + 1 + 0) mod 2 = replica 1, slot 1).
TEST(CudaDeviceReplicaTable, StageDoesNotChangeRoutingUntilCommit) {
  EPLB_REQUIRE_CUDA_DEVICE();
  const ReplicaTable a = build_replica_table(std::vector<int32_t>{0, 1, 0, 1}, 2, 2);
  const ReplicaTable b = build_replica_table(std::vector<int32_t>{1, 1, 0, 0}, 2, 2);
  const std::vector<int32_t> topk_ids = {0, 1};
  DeviceReplicaTable table(2, 4);
  const auto policy = RoutePolicy::kLocalFirst;
  EXPECT_EQ(route_on_device(topk_ids, 1, 2, table, policy, 1, 0),
            (std::vector<int32_t>{-1, -1}));  // nothing committed yet
  table.stage(a, nullptr);
  table.commit(nullptr);
  EXPECT_EQ(route_on_device(topk_ids, 1, 2, table, policy, 1, 0), (std::vector<int32_t>{2, 3}));
  table.stage(b, nullptr);
  EXPECT_EQ(route_on_device(topk_ids, 1, 2, table, policy, 1, 0), (std::vector<int32_t>{2, 3}));
  table.commit(nullptr);
  EXPECT_EQ(table.active_index(), 0);
  EXPECT_EQ(route_on_device(topk_ids, 1, 2, table, policy, 1, 0), (std::vector<int32_t>{2, 1}));
  table.commit(nullptr);  // a second commit without a stage keeps B
  EXPECT_EQ(route_on_device(topk_ids, 1, 2, table, policy, 1, 0), (std::vector<int32_t>{2, 1}));
}

TEST(CudaDeviceReplicaTable, CapturedGraphFollowsCommits) {
  EPLB_REQUIRE_CUDA_DEVICE();
  const ReplicaTable a = build_replica_table(std::vector<int32_t>{0, 1, 0, 1}, 2, 2);
  const ReplicaTable b = build_replica_table(std::vector<int32_t>{1, 1, 0, 0}, 2, 2);
  DeviceReplicaTable table(2, 4);
  cudaStream_t stream = nullptr;
  EPLB_ASSERT_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  table.stage(a, stream);
  table.commit(stream);
  DeviceBuffer<int32_t> d_ids(std::vector<int32_t>{0, 1});
  DeviceBuffer<int32_t> d_slots(2);

  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  EPLB_ASSERT_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  route_tokens(d_ids.get(), 1, 2, table, RoutePolicy::kLocalFirst, 1, 0, d_slots.get(), stream);
  EPLB_ASSERT_CUDA(cudaStreamEndCapture(stream, &graph));
  EPLB_ASSERT_CUDA(cudaGraphInstantiate(&exec, graph, 0));

  EPLB_ASSERT_CUDA(cudaGraphLaunch(exec, stream));
  EPLB_ASSERT_CUDA(cudaStreamSynchronize(stream));
  EXPECT_EQ(d_slots.download(), (std::vector<int32_t>{2, 3}));
  table.stage(b, stream);
  table.commit(stream);
  EPLB_ASSERT_CUDA(cudaGraphLaunch(exec, stream));
  EPLB_ASSERT_CUDA(cudaStreamSynchronize(stream));
  EXPECT_EQ(d_slots.download(), (std::vector<int32_t>{2, 1}));

  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaStreamDestroy(stream);
}

TEST(CudaDeviceReplicaTable, RejectsATableThatDoesNotFit) {
  EPLB_REQUIRE_CUDA_DEVICE();
  DeviceReplicaTable table(2, 2);
  EXPECT_THROW(table.stage(build_replica_table(std::vector<int32_t>{0, 1}, 3, 1), nullptr), Error);
  EXPECT_THROW(table.stage(build_replica_table(std::vector<int32_t>{0, 1, 0, 1}, 2, 2), nullptr),
               Error);
}

}  // namespace
}  // namespace eplb::cuda
