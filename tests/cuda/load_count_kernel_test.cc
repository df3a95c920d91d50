// eplb::cuda::count_expert_load[_decayed] against the CPU twins (eplb/load_counter.h) on random
// batches: every id range (valid, negative, past the end, beyond int32 for int64 ids), empty
// batches, k = 1..8, expert counts on both sides of the shared-memory histogram limit.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "cuda/cuda_test_util.h"
#include "eplb/cuda/kernels.h"
#include "eplb/load_counter.h"

namespace eplb::cuda {
namespace {

using testing::DeviceBuffer;

// Ids mostly in [0, num_experts), with a sprinkle of -1, other negatives and ids past the end.
template <typename Id>
std::vector<Id> random_ids(std::mt19937_64& rng, size_t num_ids, int num_experts) {
  std::uniform_int_distribution<int> kind(0, 19);
  std::uniform_int_distribution<int64_t> valid(0, num_experts > 0 ? num_experts - 1 : 0);
  std::uniform_int_distribution<int64_t> wide(-(int64_t{1} << 40), int64_t{1} << 40);
  std::vector<Id> ids(num_ids);
  for (Id& id : ids) {
    switch (kind(rng)) {
      case 0: id = -1; break;
      case 1: id = static_cast<Id>(num_experts); break;
      case 2:
        id = static_cast<Id>(sizeof(Id) == 8 ? wide(rng) : -static_cast<int64_t>(valid(rng)) - 2);
        break;
      default: id = num_experts > 0 ? static_cast<Id>(valid(rng)) : Id{0}; break;
    }
  }
  return ids;
}

template <typename Id>
void check_count(std::mt19937_64& rng, int num_tokens, int k, int num_experts) {
  SCOPED_TRACE(::testing::Message() << "num_tokens=" << num_tokens << " k=" << k << " num_experts="
                                    << num_experts << " id bytes=" << sizeof(Id));
  const size_t num_ids = static_cast<size_t>(num_tokens) * static_cast<size_t>(k);
  const std::vector<Id> ids = random_ids<Id>(rng, num_ids, num_experts);
  std::vector<int64_t> expected(static_cast<size_t>(num_experts), 3);  // accumulates onto 3
  const int64_t expected_invalid =
      eplb::count_expert_load(std::span<const Id>(ids), num_experts, std::span<int64_t>(expected));

  DeviceBuffer<Id> d_ids(ids);
  DeviceBuffer<int64_t> d_counts(std::vector<int64_t>(static_cast<size_t>(num_experts), 3));
  DeviceBuffer<int64_t> d_invalid(std::vector<int64_t>{5});
  count_expert_load(d_ids.get(), static_cast<int64_t>(num_ids), num_experts, d_counts.get(),
                    d_invalid.get(), nullptr);
  EPLB_ASSERT_CUDA(cudaDeviceSynchronize());
  EXPECT_EQ(d_counts.download(), expected);
  EXPECT_EQ(d_invalid.download()[0], 5 + expected_invalid);

  // Decayed, twice, so the decay of a non-trivial history is compared too.
  std::vector<double> expected_decayed(static_cast<size_t>(num_experts), 0.25);
  DeviceBuffer<double> d_decayed(expected_decayed);
  const std::vector<int64_t> zeros(static_cast<size_t>(num_experts) + 1, 0);
  DeviceBuffer<int64_t> d_workspace(zeros);
  for (double decay : {0.9, 0.3}) {
    eplb::count_expert_load_decayed(std::span<const Id>(ids), num_experts, decay,
                                    std::span<double>(expected_decayed));
    count_expert_load_decayed(d_ids.get(), static_cast<int64_t>(num_ids), num_experts, decay,
                              d_decayed.get(), d_workspace.get(), nullptr, nullptr);
  }
  EPLB_ASSERT_CUDA(cudaDeviceSynchronize());
  EXPECT_EQ(d_decayed.download(), expected_decayed);  // bit-identical
  EXPECT_EQ(d_workspace.download(), zeros);           // left ready for the next call
}

TEST(CudaCountExpertLoad, MatchesHostTwinInt32) {
  EPLB_REQUIRE_CUDA_DEVICE();
  std::mt19937_64 rng(1);
  for (int num_experts : {1, 7, 256, 12000, 12001, 20000}) {
    for (int k = 1; k <= 8; ++k) {
      for (int num_tokens : {0, 1, 33, 8192}) check_count<int32_t>(rng, num_tokens, k, num_experts);
    }
  }
}

TEST(CudaCountExpertLoad, MatchesHostTwinInt64) {
  EPLB_REQUIRE_CUDA_DEVICE();
  std::mt19937_64 rng(2);
  for (int num_experts : {1, 256, 20000}) {
    for (int k : {1, 3, 8}) {
      for (int num_tokens : {0, 1, 1000, 8192})
        check_count<int64_t>(rng, num_tokens, k, num_experts);
    }
  }
}

TEST(CudaCountExpertLoad, LargeBatchHotExpert) {
  EPLB_REQUIRE_CUDA_DEVICE();
  // 4M ids, 90% on one expert: heavy shared-memory atomic contention.
  std::mt19937_64 rng(3);
  std::vector<int32_t> ids(size_t{1} << 22);
  std::uniform_int_distribution<int> expert(0, 255);
  for (auto& id : ids) id = rng() % 10 == 0 ? expert(rng) : 17;
  std::vector<int64_t> expected(256, 0);
  eplb::count_expert_load(ids, 256, expected);  // the host twin
  DeviceBuffer<int32_t> d_ids(ids);
  DeviceBuffer<int64_t> d_counts(std::vector<int64_t>(256, 0));
  count_expert_load(d_ids.get(), static_cast<int64_t>(ids.size()), 256, d_counts.get(), nullptr,
                    nullptr);
  EPLB_ASSERT_CUDA(cudaDeviceSynchronize());
  EXPECT_EQ(d_counts.download(), expected);
}

TEST(CudaCountExpertLoad, NoExpertsCountsEverythingInvalid) {
  EPLB_REQUIRE_CUDA_DEVICE();
  DeviceBuffer<int32_t> d_ids(std::vector<int32_t>{0, -1, 3});
  DeviceBuffer<int64_t> d_invalid(std::vector<int64_t>{0});
  count_expert_load(d_ids.get(), 3, 0, nullptr, d_invalid.get(), nullptr);
  EPLB_ASSERT_CUDA(cudaDeviceSynchronize());
  EXPECT_EQ(d_invalid.download()[0], 3);
}

}  // namespace
}  // namespace eplb::cuda
