// LoadRecorder on a toy model: 2 layers x 4 logical experts.
#include "eplb/runtime/recorder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "eplb/error.h"

namespace eplb {
namespace {

std::vector<double> snap(const LoadRecorder& r) {
  std::vector<double> out(static_cast<size_t>(r.num_layers() * r.num_experts()));
  r.snapshot_into(out);
  return out;
}

TEST(LoadRecorder, CountsTopkIdsAndIgnoresInvalidOnes) {
  LoadRecorder r(2, 4, {RecorderMode::kWindowed, 1, 0});
  const std::vector<int32_t> topk = {0, 1, 1, 3, -1, 4, 3, 3};  // [4 tokens, k = 2]
  EXPECT_EQ(r.record_topk(1, topk), 2);
  const std::vector<int64_t> topk64 = {2, 2, 7};
  EXPECT_EQ(r.record_topk(0, topk64), 1);
  EXPECT_EQ(snap(r), (std::vector<double>{0, 0, 2, 0, 1, 2, 0, 3}));
  const LoadMatrix m = r.snapshot();
  EXPECT_EQ(m.num_layers, 2);
  EXPECT_EQ(m.layer_ids, (std::vector<int>{0, 1}));
  EXPECT_EQ(m.values, snap(r));
}

TEST(LoadRecorder, WindowSumsTheLastSteps) {
  LoadRecorder r(2, 4, {RecorderMode::kWindowed, 3, 0});
  // Step s adds s + 1 tokens to expert s % 4 of layer 0, and 1 token to expert 0 of layer 1
  // only on even steps (layer 1 is skipped on odd steps: lazy aging must still expire it).
  for (int s = 0; s < 7; ++s) {
    const std::vector<int64_t> counts0 = {s % 4 == 0 ? s + 1 : 0, s % 4 == 1 ? s + 1 : 0,
                                          s % 4 == 2 ? s + 1 : 0, s % 4 == 3 ? s + 1 : 0};
    r.record_counts(0, counts0);
    if (s % 2 == 0) r.record_counts(1, std::vector<int64_t>{1, 0, 0, 0});
    r.end_step();
  }
  // Open step 7, window {5, 6, 7}: layer 0 has steps 5 (expert 1: 6) and 6 (expert 2: 7);
  // layer 1 has step 6 (1 token).
  EXPECT_EQ(snap(r), (std::vector<double>{0, 6, 7, 0, 1, 0, 0, 0}));
  r.end_step();
  r.end_step();
  // Window {7, 8, 9}: nothing recorded.
  EXPECT_EQ(snap(r), std::vector<double>(8, 0.0));
  r.record_counts(1, std::vector<int64_t>{0, 0, 5, 0});
  EXPECT_EQ(snap(r), (std::vector<double>{0, 0, 0, 0, 0, 0, 5, 0}));
}

TEST(LoadRecorder, WindowMatchesANaiveReference) {
  std::mt19937 rng(7);
  const int layers = 3, experts = 5, window = 4;
  LoadRecorder r(layers, experts, {RecorderMode::kWindowed, window, 0});
  std::vector<std::vector<double>> history;  // per step [layers * experts]
  for (int s = 0; s < 40; ++s) {
    std::vector<double> step(static_cast<size_t>(layers * experts), 0.0);
    for (int l = 0; l < layers; ++l) {
      if (rng() % 3 == 0) continue;  // layer not fed this step
      std::vector<int32_t> topk(rng() % 9);
      for (int32_t& id : topk) {
        id = static_cast<int32_t>(rng() % (experts + 1)) - (rng() % 5 == 0 ? 1 : 0);
        if (id >= 0 && id < experts) step[static_cast<size_t>(l * experts + id)] += 1;
      }
      r.record_topk(l, topk);
    }
    history.push_back(step);
    std::vector<double> want(step.size(), 0.0);
    for (int q = std::max(0, s - window + 1); q <= s; ++q) {
      for (size_t i = 0; i < want.size(); ++i) want[i] += history[static_cast<size_t>(q)][i];
    }
    ASSERT_EQ(snap(r), want) << "step " << s;
    r.end_step();
  }
}

TEST(LoadRecorder, DecayedIsAnExponentialMovingSum) {
  LoadRecorder r(1, 2, {RecorderMode::kDecayed, 1, 0.5});
  r.record_counts(0, std::vector<int64_t>{8, 0});
  r.end_step();
  r.record_counts(0, std::vector<int64_t>{0, 4});
  r.end_step();  // open step 2 has no tokens: the older ones still decay
  // 8 * 0.5^2 = 2, 4 * 0.5 = 2.
  EXPECT_EQ(snap(r), (std::vector<double>{2, 2}));
  r.record_topk(0, std::vector<int32_t>{1, 1});
  EXPECT_EQ(snap(r), (std::vector<double>{2, 4}));
  r.reset();
  EXPECT_EQ(snap(r), (std::vector<double>{0, 0}));
  EXPECT_EQ(r.num_closed_steps(), 0);
}

TEST(LoadRecorder, RejectsBadArguments) {
  EXPECT_THROW(LoadRecorder(0, 4), Error);
  EXPECT_THROW(LoadRecorder(1, 4, {RecorderMode::kWindowed, 0, 0}), Error);
  EXPECT_THROW(LoadRecorder(1, 4, {RecorderMode::kDecayed, 1, 1.5}), Error);
  LoadRecorder r(2, 4);
  EXPECT_THROW(r.record_topk(2, std::vector<int32_t>{0}), Error);
  EXPECT_THROW(r.record_counts(0, std::vector<int64_t>{1, 2}), Error);
  EXPECT_THROW(r.record_counts(0, std::vector<int64_t>{1, 2, -1, 0}), Error);
  std::vector<double> small(3);
  EXPECT_THROW(r.snapshot_into(small), Error);
}

}  // namespace
}  // namespace eplb
