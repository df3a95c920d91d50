// Balancer::mask_ranks / unmask_ranks on the toy world of runtime_world.h with 4 ranks as
// threads (3 layers, 8 experts, 12 slots, 3 per rank, C = 4, A = 2, U = 1). The default
// deployment (slot i holds expert i mod 8) in every layer:
//   rank 0: 0 1 2 | rank 1: 3 4 5 | rank 2: 6 7 0 | rank 3: 1 2 3
// so rank 3 holds only experts with replicas elsewhere, and rank 1 the only replicas of 4, 5.
#include <gtest/gtest.h>

#include <vector>

#include "eplb/error.h"
#include "eplb/planner.h"
#include "eplb/runtime/balancer.h"
#include "runtime/runtime_world.h"
#include "support/test_support.h"

namespace eplb {
namespace {

using testing::event_trace;
using testing::RankOutcome;
using testing::run_world;
using testing::toy_config;
using testing::WorldOptions;

constexpr int kRanks = 4;

// What one rank's route() did over a run: tokens to masked ranks, tokens dropped (slot -1),
// tokens per rank.
struct RouteTally {
  int64_t to_masked = 0;
  int64_t dropped = 0;
  std::vector<int64_t> per_rank = std::vector<int64_t>(kRanks, 0);
};

// Routes 6 tokens (k = 1) of every expert of every layer and tallies where they went,
// counting only steps >= `from_step`.
void route_all(Balancer& b, int64_t step, int64_t from_step, RouteTally& tally) {
  const int num_experts = b.config().num_experts;
  std::vector<int32_t> ids;
  for (int t = 0; t < 6; ++t) {
    for (int e = 0; e < num_experts; ++e) ids.push_back(e);
  }
  std::vector<int32_t> slots(ids.size());
  const std::vector<int> masked = b.masked_ranks();
  const int spr = b.config().resolved_slots_per_rank();
  for (int l = 0; l < b.config().num_layers; ++l) {
    b.route(l, ids, 1, slots, static_cast<uint64_t>(step));
    if (step < from_step) continue;
    for (int32_t s : slots) {
      if (s < 0) {
        ++tally.dropped;
        continue;
      }
      ++tally.per_rank[static_cast<size_t>(s / spr)];
      for (int r : masked) tally.to_masked += s / spr == r;
    }
  }
}

void expect_consistent(const std::vector<RankOutcome>& ranks) {
  for (size_t r = 0; r < ranks.size(); ++r) {
    EXPECT_EQ(ranks[r].error, "") << "rank " << r;
    EXPECT_EQ(ranks[r].weight_mismatches, 0) << "rank " << r;
    EXPECT_EQ(ranks[r].placement.phy2log, ranks[0].placement.phy2log) << "rank " << r;
  }
}

TEST(RankMask, MaskedRankGetsNoTokensAndReplansKeepItsSlots) {
  WorldOptions options;
  options.num_steps = 20;
  std::vector<RouteTally> tally(kRanks);
  options.between = [](int, int64_t step, Balancer& b) {
    if (step == 0) b.mask_ranks({3});
  };
  options.serve = [&](int r, int64_t step, Balancer& b) {
    route_all(b, step, 1, tally[static_cast<size_t>(r)]);
  };
  const auto ranks = run_world(toy_config(kRanks), options);
  expect_consistent(ranks);
  const Placement initial = Placement::contiguous(3, 8, kRanks, 12);
  for (int r = 0; r < kRanks; ++r) {
    const RouteTally& t = tally[static_cast<size_t>(r)];
    EXPECT_EQ(t.to_masked, 0) << "rank " << r;
    EXPECT_EQ(t.per_rank[3], 0) << "rank " << r;
    EXPECT_EQ(t.dropped, 0) << "rank " << r;
    EXPECT_GT(t.per_rank[0], 0);
    const BalancerMetrics& m = ranks[static_cast<size_t>(r)].metrics;
    EXPECT_EQ(m.masked_ranks, 1);
    EXPECT_EQ(m.lost_experts, 0);
    EXPECT_EQ(m.dropped_tokens, 0);
    EXPECT_GE(m.rebalances, 1);  // re-plans over ranks 0-2 still happen
  }
  // Rank 3's slots (9..11) were never planned into: nothing was sent to it.
  for (int l = 0; l < 3; ++l) {
    for (int s = 9; s < 12; ++s) {
      EXPECT_EQ(ranks[0].placement.layer_phy2log(l)[static_cast<size_t>(s)],
                initial.layer_phy2log(l)[static_cast<size_t>(s)]);
    }
  }
}

TEST(RankMask, CustomPlannerIsToldTheMaskedRanks) {
  WorldOptions options;
  options.num_steps = 20;
  // What each rank's planner was told last (worker thread; read after the run).
  std::vector<std::vector<int>> told(kRanks, {-1});
  options.plan_fn = [&told](int rank_idx) -> LayerPlanFn {
    return [&told, rank_idx](const LayerPlanInput& in, std::span<int32_t> out) {
      told[static_cast<size_t>(rank_idx)].assign(in.masked_ranks.begin(), in.masked_ranks.end());
      PlanOptions o = toy_config(kRanks).plan_options();
      o.excluded_ranks = told[static_cast<size_t>(rank_idx)];
      std::vector<double> weight(out.size());
      plan_layer(in.expert_loads, o, in.current_phy2log, out, weight, nullptr);
    };
  };
  options.between = [](int, int64_t step, Balancer& b) {
    if (step == 0) b.mask_ranks({3});
  };
  const auto ranks = run_world(toy_config(kRanks), options);
  expect_consistent(ranks);
  for (int r = 0; r < kRanks; ++r) {
    EXPECT_EQ(told[static_cast<size_t>(r)], std::vector<int>{3}) << "rank " << r;
    const BalancerMetrics& m = ranks[static_cast<size_t>(r)].metrics;
    EXPECT_EQ(m.planner_failures, 0) << "rank " << r;
    EXPECT_GE(m.rebalances, 1) << "rank " << r;
  }
}

TEST(RankMask, RefuseRejectsLosingALastReplicaAndChangesNothing) {
  WorldOptions options;
  options.num_steps = 9;
  std::vector<std::string> errors(kRanks);
  std::vector<std::vector<int32_t>> table_before(kRanks), table_after(kRanks);
  options.between = [&](int r, int64_t step, Balancer& b) {
    if (step != 0) return;
    table_before[static_cast<size_t>(r)] = b.replica_table(1).slot;
    try {
      b.mask_ranks({1});
    } catch (const Error& e) {
      errors[static_cast<size_t>(r)] = e.what();
    }
    table_after[static_cast<size_t>(r)] = b.replica_table(1).slot;
    EXPECT_TRUE(b.masked_ranks().empty());
  };
  const auto ranks = run_world(toy_config(kRanks), options);
  expect_consistent(ranks);
  for (int r = 0; r < kRanks; ++r) {
    EXPECT_EQ(errors[static_cast<size_t>(r)],
              "Balancer::mask_ranks(1): refused (lost_expert_policy refuse): the last live replica "
              "of these experts is on a masked rank: layer 0: 4,5; layer 1: 4,5; layer 2: 4,5");
    EXPECT_EQ(table_after[static_cast<size_t>(r)], table_before[static_cast<size_t>(r)]);
    // The cycle runs exactly as without the mask (balancer_test: ExactStepsOfOneCycle).
    const std::vector<std::string> want = {"gather_started@af3", "plan_taken@bf5",
                                           "layer_posted@bf5:0", "layer_committed@bf6:0",
                                           "layer_posted@bf6:1", "layer_committed@bf7:1",
                                           "layer_posted@bf7:2", "layer_committed@bf8:2",
                                           "cycle_ended@bf8",    "gather_started@af8"};
    EXPECT_EQ(event_trace(ranks[static_cast<size_t>(r)]), want);
    EXPECT_EQ(ranks[static_cast<size_t>(r)].metrics.masked_ranks, 0);
  }
}

TEST(RankMask, RestoreReplacesLostExpertsOnLiveRanksWithReloadedWeights) {
  BalancerConfig config = toy_config(kRanks);
  config.lost_expert_policy = LostExpertPolicy::kRestore;
  WorldOptions options;
  options.num_steps = 14;
  std::vector<RouteTally> early(kRanks), late(kRanks);
  std::vector<int> loads_called(kRanks, 0);
  std::vector<std::vector<std::vector<int32_t>>> lost_at_mask(kRanks);
  options.load_expert = [&](int r) -> ExpertLoadFn {
    return [&, r](int layer_idx, int expert_idx, std::span<std::byte> dst) {
      ++loads_called[static_cast<size_t>(r)];
      testing::write_expert(dst, layer_idx, expert_idx);  // e.g. from the checkpoint
    };
  };
  options.between = [&](int r, int64_t step, Balancer& b) {
    if (step != 0) return;
    b.mask_ranks({1});
    lost_at_mask[static_cast<size_t>(r)] = b.lost_experts();
  };
  options.serve = [&](int r, int64_t step, Balancer& b) {
    route_all(b, step, 1, step < 10 ? early[static_cast<size_t>(r)] : late[static_cast<size_t>(r)]);
  };
  const auto ranks = run_world(config, options);
  expect_consistent(ranks);  // weights of every slot, reloaded ones included, are right
  for (int r = 0; r < kRanks; ++r) {
    const auto& lost = lost_at_mask[static_cast<size_t>(r)];
    ASSERT_EQ(lost.size(), 3u);
    for (const auto& layer : lost) EXPECT_EQ(layer, (std::vector<int32_t>{4, 5}));
    // Until the re-plan commits, experts 4 and 5 are dropped, never sent to rank 1.
    EXPECT_GT(early[static_cast<size_t>(r)].dropped, 0);
    EXPECT_EQ(early[static_cast<size_t>(r)].to_masked, 0);
    EXPECT_EQ(late[static_cast<size_t>(r)].dropped, 0);
    EXPECT_EQ(late[static_cast<size_t>(r)].to_masked, 0);
    const BalancerMetrics& m = ranks[static_cast<size_t>(r)].metrics;
    EXPECT_EQ(m.lost_experts, 0);
    EXPECT_EQ(m.dropped_tokens, early[static_cast<size_t>(r)].dropped);
    EXPECT_GE(m.reloaded_experts, 6);  // 4 and 5 in each of the 3 layers, at least once
  }
  int total_loads = 0;
  for (int n : loads_called) total_loads += n;
  EXPECT_EQ(total_loads, ranks[0].metrics.reloaded_experts);
  // The mask re-planned at once: gather at af(1), not af(3).
  EXPECT_EQ(event_trace(ranks[0])[0], "gather_started@af1");
}

TEST(RankMask, UnmaskReturnsTheRankToService) {
  WorldOptions options;
  options.num_steps = 16;
  std::vector<RouteTally> masked(kRanks), unmasked(kRanks);
  options.between = [](int, int64_t step, Balancer& b) {
    if (step == 0) b.mask_ranks({3});
    if (step == 7) b.unmask_ranks({3});
  };
  options.serve = [&](int r, int64_t step, Balancer& b) {
    route_all(b, step, 1,
              step < 8 ? masked[static_cast<size_t>(r)] : unmasked[static_cast<size_t>(r)]);
  };
  const auto ranks = run_world(toy_config(kRanks), options);
  expect_consistent(ranks);
  for (int r = 0; r < kRanks; ++r) {
    EXPECT_EQ(masked[static_cast<size_t>(r)].per_rank[3], 0);
    EXPECT_GT(unmasked[static_cast<size_t>(r)].per_rank[3], 0);
    EXPECT_EQ(ranks[static_cast<size_t>(r)].metrics.masked_ranks, 0);
  }
}

// Ranks 1 and 2 masked: 6 live slots for 8 experts, so 2 stay uncovered (dropped) after the
// restore re-plan; unmasked at step 12, the next re-plan serves every expert again.
TEST(RankMask, UnmaskAfterTooFewLiveSlotsServesEveryExpertAgain) {
  BalancerConfig config = toy_config(kRanks);
  config.lost_expert_policy = LostExpertPolicy::kRestore;
  WorldOptions options;
  options.num_steps = 30;
  options.load_expert = [](int) -> ExpertLoadFn {
    return [](int layer_idx, int expert_idx, std::span<std::byte> dst) {
      testing::write_expert(dst, layer_idx, expert_idx);
    };
  };
  std::vector<RouteTally> degraded(kRanks), recovered(kRanks);
  std::vector<int> lost_while_masked(kRanks, 0);
  options.between = [&](int r, int64_t step, Balancer& b) {
    if (step == 0) b.mask_ranks({1, 2});
    if (step == 11) lost_while_masked[static_cast<size_t>(r)] = b.metrics().lost_experts;
    if (step == 11) b.unmask_ranks({1, 2});
  };
  options.serve = [&](int r, int64_t step, Balancer& b) {
    if (step >= 6 && step < 12) route_all(b, step, 0, degraded[static_cast<size_t>(r)]);
    if (step >= 24) route_all(b, step, 0, recovered[static_cast<size_t>(r)]);
  };
  const auto ranks = run_world(config, options);
  expect_consistent(ranks);
  for (int r = 0; r < kRanks; ++r) {
    EXPECT_EQ(lost_while_masked[static_cast<size_t>(r)], 3 * 2);  // 2 per layer uncovered
    EXPECT_GT(degraded[static_cast<size_t>(r)].dropped, 0);
    EXPECT_EQ(degraded[static_cast<size_t>(r)].to_masked, 0);
    EXPECT_EQ(recovered[static_cast<size_t>(r)].dropped, 0);
    EXPECT_EQ(ranks[static_cast<size_t>(r)].metrics.lost_experts, 0);
    EXPECT_EQ(ranks[static_cast<size_t>(r)].metrics.planner_failures, 0);
  }
}

// A mask while loads are gathered, while the plan is pending, and while layers move: the plan
// or its remaining layers are dropped on every rank at the same step, nothing hangs (every
// vote completes within vote_timeout), and later cycles re-plan over the live ranks. (Once
// layer 0 has moved, rank 3 holds the last replica of some experts: restore policy.)
TEST(RankMask, MaskMidCycleNeverHangsAndRanksAgree) {
  for (const int64_t mask_step : {3, 4, 5, 6, 7}) {
    SCOPED_TRACE("mask after af(" + std::to_string(mask_step) + ")");
    BalancerConfig config = toy_config(kRanks);
    config.vote_timeout = std::chrono::milliseconds(5000);
    config.lost_expert_policy = LostExpertPolicy::kRestore;
    WorldOptions options;
    options.load_expert = [](int) -> ExpertLoadFn {
      return [](int layer_idx, int expert_idx, std::span<std::byte> dst) {
        testing::write_expert(dst, layer_idx, expert_idx);
      };
    };
    options.num_steps = 24;
    std::vector<RouteTally> tally(kRanks);
    options.between = [&](int, int64_t step, Balancer& b) {
      if (step == mask_step) b.mask_ranks({3});
    };
    options.serve = [&](int r, int64_t step, Balancer& b) {
      route_all(b, step, mask_step + 1, tally[static_cast<size_t>(r)]);
    };
    const auto ranks = run_world(config, options);
    expect_consistent(ranks);
    for (int r = 0; r < kRanks; ++r) {
      EXPECT_EQ(tally[static_cast<size_t>(r)].to_masked, 0);
      EXPECT_EQ(event_trace(ranks[static_cast<size_t>(r)]), event_trace(ranks[0]));
      EXPECT_EQ(ranks[static_cast<size_t>(r)].metrics.transfer_failures, 0);
      EXPECT_EQ(ranks[static_cast<size_t>(r)].metrics.lost_experts, 0);  // restored
    }
    EXPECT_GE(ranks[0].metrics.rebalances, 1);
  }
}

TEST(RankMask, BadMasksAndMissingLoaderAreErrors) {
  WorldOptions options;
  options.num_steps = 1;
  std::vector<std::string> errors(kRanks);
  options.between = [&](int r, int64_t, Balancer& b) {
    std::string& e = errors[static_cast<size_t>(r)];
    e += testing::error_of([&] { b.mask_ranks({4}); }) + "\n";
    e += testing::error_of([&] { b.mask_ranks({0, 1, 2, 3}); }) + "\n";
    e += testing::error_of([&] { b.unmask_ranks({-1}); });
  };
  const auto ranks = run_world(toy_config(kRanks), options);
  for (int r = 0; r < kRanks; ++r) {
    EXPECT_EQ(errors[static_cast<size_t>(r)],
              "Balancer::mask_ranks: rank 4 out of range [0, 4)\n"
              "Balancer::mask_ranks(0,1,2,3): would mask all 4 ranks (at least one must serve)\n"
              "Balancer::unmask_ranks: rank -1 out of range [0, 4)");
  }
  // Restore with weights to move and no loader: rejected at construction.
  BalancerConfig config = toy_config(1);
  config.lost_expert_policy = LostExpertPolicy::kRestore;
  InProcessWorld world(1);
  auto comm = world.communicator(0);
  HostWeightStore store(3, 12, 64, 2);
  EXPECT_NE(testing::error_of([&] {
              Balancer b(config, *comm, &store);
            }).find("lost_expert_policy restore needs BalancerCallbacks::load_expert"),
            std::string::npos);
  EXPECT_EQ(parse_lost_expert_policy("restore"), LostExpertPolicy::kRestore);
  EXPECT_THROW(parse_lost_expert_policy("drop"), Error);
}

TEST(RankMask, MetricsInPrometheusText) {
  BalancerMetrics m;
  m.masked_ranks = 1;
  m.lost_experts = 2;
  m.dropped_tokens = 30;
  m.reloaded_experts = 6;
  m.planner_timeouts = 1;
  const std::string text = format_prometheus(m, 0);
  EXPECT_NE(text.find("eplb_masked_ranks{rank=\"0\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("eplb_lost_experts{rank=\"0\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("eplb_dropped_tokens_total{rank=\"0\"} 30\n"), std::string::npos);
  EXPECT_NE(text.find("eplb_reloaded_experts_total{rank=\"0\"} 6\n"), std::string::npos);
  EXPECT_NE(text.find("eplb_planner_timeouts_total{rank=\"0\"} 1\n"), std::string::npos);
}

}  // namespace
}  // namespace eplb
