// HostExpertCopy: the host-memory copy of every expert that restores experts lost with a
// masked rank. Unit checks, then the toy world of runtime_world.h (4 ranks as threads, 3
// layers x 8 experts, 12 slots) restoring experts 4 and 5 (only on rank 1) from the copy.
#include "eplb/runtime/host_expert_copy.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "eplb/error.h"
#include "runtime/runtime_world.h"
#include "support/test_support.h"

namespace eplb {
namespace {

TEST(HostExpertCopy, LoaderCopiesTheExpertsBytes) {
  HostExpertCopy copy(2, 3, 8);
  for (int l = 0; l < 2; ++l) {
    for (int e = 0; e < 3; ++e) {
      auto bytes = copy.expert_bytes(l, e);
      ASSERT_EQ(bytes.size(), 8u);
      for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = std::byte(l * 100 + e * 10 + i);
    }
  }
  const ExpertLoadFn load = copy.loader();
  std::vector<std::byte> dst(8);
  load(1, 2, dst);
  for (size_t i = 0; i < dst.size(); ++i) EXPECT_EQ(dst[i], std::byte(120 + i)) << i;
}

TEST(HostExpertCopy, BadShapesIndicesAndDestinationsAreErrors) {
  EXPECT_EQ(testing::error_of([] { HostExpertCopy(0, 3, 8); }),
            "HostExpertCopy: num_layers 0 and num_experts 3 must be > 0");
  HostExpertCopy copy(2, 3, 8);
  EXPECT_EQ(testing::error_of([&] { copy.expert_bytes(2, 0); }),
            "HostExpertCopy: layer 2 out of range [0, 2)");
  EXPECT_EQ(testing::error_of([&] { copy.expert_bytes(0, -1); }),
            "HostExpertCopy: expert -1 out of range [0, 3)");
  std::vector<std::byte> small(4);
  EXPECT_EQ(testing::error_of([&] { copy.loader()(0, 0, small); }),
            "HostExpertCopy: destination of 4 bytes for an expert of 8");
}

TEST(HostExpertCopy, RestoresExpertsLostWithAMaskedRank) {
  constexpr int kRanks = 4;
  BalancerConfig config = testing::toy_config(kRanks);
  config.lost_expert_policy = LostExpertPolicy::kRestore;
  HostExpertCopy copy(config.num_layers, config.num_experts, testing::kFloats * sizeof(float));
  for (int l = 0; l < config.num_layers; ++l) {
    for (int e = 0; e < config.num_experts; ++e) {
      testing::write_expert(copy.expert_bytes(l, e), l, e);
    }
  }
  testing::WorldOptions options;
  options.num_steps = 14;
  options.load_expert = [&](int) { return copy.loader(); };
  options.between = [](int, int64_t step, Balancer& b) {
    if (step == 0) b.mask_ranks({1});
  };
  const auto ranks = testing::run_world(config, options);
  for (size_t r = 0; r < ranks.size(); ++r) {
    EXPECT_EQ(ranks[r].error, "") << "rank " << r;
    // Every slot, the reloaded ones included, holds its expert's true weights.
    EXPECT_EQ(ranks[r].weight_mismatches, 0) << "rank " << r;
    EXPECT_EQ(ranks[r].metrics.lost_experts, 0) << "rank " << r;
    EXPECT_GE(ranks[r].metrics.reloaded_experts, 6) << "rank " << r;  // 4, 5 in 3 layers
    EXPECT_EQ(ranks[r].placement.phy2log, ranks[0].placement.phy2log) << "rank " << r;
  }
  // Experts 4 and 5 are served again, and never from the masked rank 1.
  const Placement& p = ranks[0].placement;
  for (int l = 0; l < p.num_layers; ++l) {
    const auto row = p.layer_phy2log(l);
    for (int32_t lost : {4, 5}) {
      bool live = false;
      for (int s = 0; s < p.num_slots; ++s) {
        live |= row[static_cast<size_t>(s)] == lost && s / p.slots_per_rank() != 1;
      }
      EXPECT_TRUE(live) << "layer " << l << " expert " << lost;
    }
  }
}

}  // namespace
}  // namespace eplb
