// Synthetic traces: determinism, shape, the .npy encoding and the knobs' effects.
#include "eplb/sim/synth.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "eplb/error.h"
#include "eplb/file_util.h"
#include "eplb/sim/trace.h"
#include "support/test_support.h"

namespace eplb::sim {
namespace {

SynthOptions small() {
  SynthOptions o;
  o.num_steps = 20;
  o.num_layers = 3;
  o.num_experts = 16;
  o.top_k = 2;
  o.tokens = 500;
  o.skew = 1.2;
  o.num_groups = 4;
  o.drift = 0.05;
  o.regime_every = 10;
  o.seed = 7;
  return o;
}

std::string npy_of(const SynthOptions& o) {
  const std::vector<int64_t> v = synth_trace(o);
  const int64_t shape[] = {o.num_steps, o.num_layers, o.num_experts};
  return encode_npy_int64(v, shape);
}

TEST(Synth, SameSeedSameBytesOtherSeedOtherBytes) {
  const SynthOptions o = small();
  EXPECT_EQ(npy_of(o), npy_of(o));
  SynthOptions other = o;
  other.seed = 8;
  EXPECT_NE(npy_of(o), npy_of(other));
}

TEST(Synth, ShapeAndTotalsRoundTripThroughNpy) {
  const SynthOptions o = small();
  eplb::testing::ScratchDir dir;
  const std::string path = dir.path("t.npy");
  write_file_atomic(path, npy_of(o));
  const LoadTrace t = read_trace(path);
  ASSERT_EQ(t.num_steps, 20);
  ASSERT_EQ(t.num_layers, 3);
  ASSERT_EQ(t.num_experts, 16);
  const std::vector<int64_t> v = synth_trace(o);
  for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(t.values[i], static_cast<double>(v[i]));
  for (int s = 0; s < t.num_steps; ++s) {
    for (int l = 0; l < t.num_layers; ++l) {
      const auto row = t.at(s, l);
      const double total = std::accumulate(row.begin(), row.end(), 0.0);
      // tokens * top_k choices; the cap at `tokens` per expert may only remove some.
      EXPECT_LE(total, 1000);
      EXPECT_GE(total, 900);
      EXPECT_LE(*std::max_element(row.begin(), row.end()), 500);
    }
  }
}

// skew 0, one group, no drift: every expert expects tokens * top_k / experts.
TEST(Synth, ZeroSkewIsUniform) {
  SynthOptions o;
  o.num_steps = 50;
  o.num_layers = 1;
  o.num_experts = 8;
  o.top_k = 2;
  o.tokens = 4000;
  o.skew = 0;
  const std::vector<int64_t> v = synth_trace(o);
  std::vector<double> sum(8, 0);
  for (size_t i = 0; i < v.size(); ++i) sum[i % 8] += static_cast<double>(v[i]);
  for (double s : sum) EXPECT_NEAR(s / 50, 1000, 50);
}

// With a high skew one expert is much hotter than the median.
TEST(Synth, SkewMakesHotExperts) {
  SynthOptions o = small();
  o.drift = 0;
  o.regime_every = 0;
  o.num_groups = 1;
  o.skew = 1.5;
  const std::vector<int64_t> v = synth_trace(o);
  std::vector<int64_t> row(v.begin(), v.begin() + 16);
  std::sort(row.begin(), row.end());
  EXPECT_GT(row.back(), 4 * row[8]);
}

TEST(Synth, RejectsGroupsThatDoNotDivideExperts) {
  SynthOptions o = small();
  o.num_groups = 5;
  const std::string err = eplb::testing::error_of([&] { synth_trace(o); });
  EXPECT_NE(err.find("--groups 5"), std::string::npos) << err;
}

TEST(Trace, ReadRejectsTwoDimensionalArrays) {
  eplb::testing::ScratchDir dir;
  const std::vector<int64_t> v = {1, 2, 3, 4};
  const int64_t shape[] = {2, 2};
  write_file_atomic(dir.path("m.npy"), encode_npy_int64(v, shape));
  const std::string err = eplb::testing::error_of([&] { read_trace(dir.path("m.npy")); });
  EXPECT_NE(err.find("3-D"), std::string::npos) << err;
}

}  // namespace
}  // namespace eplb::sim
