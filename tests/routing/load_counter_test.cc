// Toy batch: 3 tokens x k = 2 over 4 logical experts, one dropped choice (-1) and one id past
// the end (9): topk_ids = [[0, 2], [2, -1], [9, 3]] -> counts [1, 0, 2, 1], 2 ignored.
#include "eplb/load_counter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "eplb/error.h"

namespace eplb {
namespace {

TEST(CountExpertLoad, CountsValidIdsAndReportsTheRest) {
  const std::vector<int32_t> topk_ids = {0, 2, 2, -1, 9, 3};
  std::vector<int64_t> counts(4, 0);
  EXPECT_EQ(count_expert_load(topk_ids, 4, counts), 2);
  EXPECT_EQ(counts, (std::vector<int64_t>{1, 0, 2, 1}));
}

TEST(CountExpertLoad, AccumulatesIntoExistingCounts) {
  const std::vector<int32_t> topk_ids = {1, 1, 3};
  std::vector<int64_t> counts = {5, 5, 5, 5};
  EXPECT_EQ(count_expert_load(topk_ids, 4, counts), 0);
  EXPECT_EQ(counts, (std::vector<int64_t>{5, 7, 5, 6}));
}

TEST(CountExpertLoad, Int64IdsBeyondInt32AreIgnoredNotTruncated) {
  // 2^32 + 1 would alias expert 1 if narrowed to 32 bits.
  const std::vector<int64_t> topk_ids = {1, (int64_t{1} << 32) + 1, -(int64_t{1} << 40), 0};
  std::vector<int64_t> counts(2, 0);
  EXPECT_EQ(count_expert_load(topk_ids, 2, counts), 2);
  EXPECT_EQ(counts, (std::vector<int64_t>{1, 1}));
}

TEST(CountExpertLoad, EmptyBatchAndNoExperts) {
  std::vector<int64_t> counts(3, 7);
  EXPECT_EQ(count_expert_load(std::span<const int32_t>{}, 3, counts), 0);
  EXPECT_EQ(counts, (std::vector<int64_t>{7, 7, 7}));
  const std::vector<int32_t> topk_ids = {0, -1};
  std::vector<int64_t> none;
  EXPECT_EQ(count_expert_load(topk_ids, 0, none), 2);
}

TEST(CountExpertLoad, RejectsCountsOfTheWrongSize) {
  const std::vector<int32_t> topk_ids = {0};
  std::vector<int64_t> counts(3, 0);
  EXPECT_THROW(count_expert_load(topk_ids, 4, counts), Error);
  EXPECT_THROW(count_expert_load(topk_ids, -1, counts), Error);
}

TEST(CountExpertLoadDecayed, DecaysThenAddsThisBatch) {
  const std::vector<int32_t> topk_ids = {0, 2, 2, 5};
  std::vector<double> counts = {10, 0, 4};
  EXPECT_EQ(count_expert_load_decayed(topk_ids, 3, 0.5, counts), 1);
  EXPECT_EQ(counts, (std::vector<double>{6, 0, 4}));
}

TEST(CountExpertLoadDecayed, DecayZeroKeepsOnlyThisBatchAndOneIsARunningTotal) {
  const std::vector<int64_t> topk_ids = {1, 1};
  std::vector<double> counts = {3, 3};
  count_expert_load_decayed(topk_ids, 2, 0.0, counts);
  EXPECT_EQ(counts, (std::vector<double>{0, 2}));
  count_expert_load_decayed(topk_ids, 2, 1.0, counts);
  EXPECT_EQ(counts, (std::vector<double>{0, 4}));
}

TEST(CountExpertLoadDecayed, SteadyLoadConvergesToLoadOverOneMinusDecay) {
  const std::vector<int32_t> topk_ids = {0, 0, 0, 0};  // 4 tokens per batch to expert 0
  std::vector<double> counts = {0};
  for (int batch = 0; batch < 200; ++batch) count_expert_load_decayed(topk_ids, 1, 0.9, counts);
  EXPECT_NEAR(counts[0], 4 / (1 - 0.9), 1e-6);
}

TEST(CountExpertLoadDecayed, RejectsNegativeOrNonFiniteDecay) {
  const std::vector<int32_t> topk_ids = {0};
  std::vector<double> counts = {0};
  EXPECT_THROW(count_expert_load_decayed(topk_ids, 1, -0.1, counts), Error);
  EXPECT_THROW(
      count_expert_load_decayed(topk_ids, 1, std::numeric_limits<double>::quiet_NaN(), counts),
      Error);
  EXPECT_THROW(
      count_expert_load_decayed(topk_ids, 1, std::numeric_limits<double>::infinity(), counts),
      Error);
}

}  // namespace
}  // namespace eplb
