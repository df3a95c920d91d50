// Balancer state machine on the toy world of runtime_world.h (3 layers, 8 experts, 12 slots,
// C = 4, A = 2, U = 1 unless a test says otherwise), ranks as threads in lock-step.
#include "eplb/runtime/balancer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include <unistd.h>

#include "eplb/error.h"
#include "eplb/placement_io.h"
#include "runtime/runtime_world.h"

namespace eplb {
namespace {

using testing::event_trace;
using testing::RankOutcome;
using testing::run_world;
using testing::toy_config;
using testing::WorldOptions;

void expect_clean(const std::vector<RankOutcome>& ranks) {
  for (size_t r = 0; r < ranks.size(); ++r) {
    EXPECT_EQ(ranks[r].error, "") << "rank " << r;
    EXPECT_EQ(ranks[r].weight_mismatches, 0) << "rank " << r;
    EXPECT_EQ(ranks[r].placement.phy2log, ranks[0].placement.phy2log) << "rank " << r;
  }
}

// The example of balancer.h: gather af(3), take bf(5), one layer per step, next gather af(8).
TEST(Balancer, ExactStepsOfOneCycle) {
  for (const int num_ranks : {2, 4}) {
    SCOPED_TRACE("ranks=" + std::to_string(num_ranks));
    WorldOptions options;
    options.num_steps = 9;
    const auto ranks = run_world(toy_config(num_ranks), options);
    expect_clean(ranks);
    const std::vector<std::string> want = {"gather_started@af3", "plan_taken@bf5",
                                           "layer_posted@bf5:0", "layer_committed@bf6:0",
                                           "layer_posted@bf6:1", "layer_committed@bf7:1",
                                           "layer_posted@bf7:2", "layer_committed@bf8:2",
                                           "cycle_ended@bf8",    "gather_started@af8"};
    for (const RankOutcome& o : ranks) EXPECT_EQ(event_trace(o), want);
    const BalancerMetrics& m = ranks[0].metrics;
    EXPECT_EQ(m.cycles, 1);
    EXPECT_EQ(m.rebalances, 1);
    EXPECT_EQ(m.late_plans, 0);
    EXPECT_EQ(m.last_cycle.gather_step, 3);
    EXPECT_EQ(m.last_cycle.take_step, 5);
    EXPECT_EQ(m.last_cycle.end_step, 8);
    EXPECT_EQ(m.last_cycle.layers_changed, 3);
    EXPECT_EQ(m.last_cycle.layers_committed, 3);
    EXPECT_GT(m.moved_experts, 0);
    EXPECT_GT(m.last_cycle.imbalance_before_mean, m.last_cycle.imbalance_after_mean);
    EXPECT_GE(m.last_cycle.imbalance_after_mean, 1.0);
    for (const RankOutcome& o : ranks) {
      EXPECT_EQ(o.metrics.moved_experts, m.moved_experts);
      EXPECT_EQ(o.metrics.bytes_moved, m.bytes_moved);
    }
  }
}

TEST(Balancer, WarmupAlgorithmIntervalAndLayersPerStep) {
  BalancerConfig config = toy_config(2);
  config.warmup_steps = 3;
  config.algorithm_execution_interval = 3;
  config.layer_updates_per_iter = 2;
  WorldOptions options;
  options.num_steps = 14;
  const auto ranks = run_world(config, options);
  expect_clean(ranks);
  // Gather after steps 3..6; take at 6 + 3; layers 0 and 1 together, then 2.
  const std::vector<std::string> want = {"gather_started@af6",     "plan_taken@bf9",
                                         "layer_posted@bf9:0",     "layer_posted@bf9:1",
                                         "layer_committed@bf10:0", "layer_committed@bf10:1",
                                         "layer_posted@bf10:2",    "layer_committed@bf11:2",
                                         "cycle_ended@bf11",       "gather_started@af11"};
  const auto trace = event_trace(ranks[0]);
  ASSERT_GE(trace.size(), want.size());
  EXPECT_EQ(std::vector<std::string>(trace.begin(), trace.begin() + 10), want);
}

TEST(Balancer, SecondCycleOnSteadyLoadsMovesNothing) {
  WorldOptions options;
  options.num_steps = 20;
  const auto ranks = run_world(toy_config(2), options);
  expect_clean(ranks);
  const BalancerMetrics& m = ranks[0].metrics;
  EXPECT_GE(m.cycles, 2);
  EXPECT_EQ(m.rebalances, 1);  // the planner keeps a fitted placement
  EXPECT_EQ(m.last_cycle.layers_changed, 0);
}

TEST(Balancer, SlowPlannerNeverBlocksServing) {
  WorldOptions options;
  options.num_steps = 100;
  options.sync_planner = false;
  options.step_sleep_us = 5000;  // 5 ms steps; the first plan takes >= 250 ms
  options.plan_fn = [](int) -> LayerPlanFn {
    auto calls = std::make_shared<int>(0);  // worker thread only
    return [calls](const LayerPlanInput& in, std::span<int32_t> out) {
      // The first cycle's plan is late; later ones are quick.
      if ((*calls)++ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(250));
      plan_layer(in.expert_loads, toy_config(2).plan_options(), in.current_phy2log, out);
    };
  };
  const auto ranks = run_world(toy_config(2), options);
  expect_clean(ranks);
  for (const RankOutcome& o : ranks) {
    // A hook that waited for the planner would take ~250 ms; the margin absorbs preemption.
    EXPECT_LT(o.max_hook_ns, 100'000'000) << "a hook waited for the planner";
    EXPECT_GE(o.metrics.late_plans, 1);  // later cycles plan quickly (unless the host is busy)
    EXPECT_GE(o.metrics.rebalances, 1);
    // Cycle 0: late at the earliest take step bf(3 + 2), taken (at least 250 ms / 5 ms = 50
    // steps) later, while serving went on.
    ASSERT_GE(o.events.size(), 3U);
    EXPECT_EQ(event_trace(o)[1], "plan_late@bf5");
    EXPECT_EQ(o.events[2].kind, BalancerEventKind::kPlanTaken);
    EXPECT_GT(o.events[2].step, 20);
  }
}

TEST(Balancer, FailingPlannerKeepsPlacementAndRetries) {
  WorldOptions options;
  options.num_steps = 16;
  // Rank 1's planner throws in its first cycle only; rank 0's always works.
  options.plan_fn = [](int rank_idx) -> LayerPlanFn {
    auto calls = std::make_shared<int>(0);
    return [rank_idx, calls](const LayerPlanInput& in, std::span<int32_t> out) {
      if (rank_idx == 1 && (*calls)++ == 0) throw Error("injected planner failure");
      plan_layer(in.expert_loads, toy_config(2).plan_options(), in.current_phy2log, out);
    };
  };
  const auto ranks = run_world(toy_config(2), options);
  expect_clean(ranks);
  for (size_t r = 0; r < ranks.size(); ++r) {
    const RankOutcome& o = ranks[r];
    const auto trace = event_trace(o);
    ASSERT_GE(trace.size(), 4U);
    EXPECT_EQ(trace[0], "gather_started@af3");
    EXPECT_EQ(trace[1], "plan_failed@bf5");
    EXPECT_EQ(trace[2], "cycle_ended@bf5");
    EXPECT_EQ(trace[3], "gather_started@af7");  // 3 + C: the retry
    EXPECT_EQ(o.metrics.planner_failures, 1);
    EXPECT_EQ(o.metrics.rebalances, 1);  // the second cycle worked
    ASSERT_FALSE(o.logs.empty());
    EXPECT_NE(o.logs[0].find(r == 1 ? "injected planner failure" : "planner failed on rank 1"),
              std::string::npos)
        << o.logs[0];
  }
}

TEST(Balancer, PlannerFailureKeepsTheOldPlacement) {
  WorldOptions options;
  options.num_steps = 7;
  options.plan_fn = [](int) -> LayerPlanFn {
    return
        [](const LayerPlanInput&, std::span<int32_t>) { throw std::runtime_error("always fails"); };
  };
  const BalancerConfig config = toy_config(2);
  const auto ranks = run_world(config, options);
  expect_clean(ranks);
  const Placement initial = Placement::contiguous(3, 8, 2, 12);
  EXPECT_EQ(ranks[0].placement.phy2log, initial.phy2log);
  EXPECT_EQ(ranks[0].metrics.planner_failures, 1);
  EXPECT_TRUE(ranks[0].metrics.last_cycle.planner_failed);
}

TEST(Balancer, FailedTransferLeavesLayerUncommittedAndIsRetried) {
  const BalancerConfig config = toy_config(2);
  const int64_t slots = config.num_slots();
  WorldOptions options;
  options.num_steps = 20;
  // Refuse every send of layer 1 in cycle 0 (tag = (cycle * layers + layer) * slots + slot).
  options.injector = [&](int) -> FaultInjector {
    return [slots](int, const SendOp& send) {
      const int64_t layer_and_cycle = send.tag / slots;
      return !(layer_and_cycle / 3 == 0 && layer_and_cycle % 3 == 1);
    };
  };
  const auto ranks = run_world(config, options);
  expect_clean(ranks);
  for (const RankOutcome& o : ranks) {
    const auto trace = event_trace(o);
    const std::vector<std::string> want = {
        "gather_started@af3",     "plan_taken@bf5",        "layer_posted@bf5:0",
        "layer_committed@bf6:0",  "layer_posted@bf6:1",    "layer_failed@bf7:1",
        "layer_posted@bf7:2",     "layer_committed@bf8:2", "cycle_ended@bf8",
        "gather_started@af8",     "plan_taken@bf10",       "layer_posted@bf10:1",
        "layer_committed@bf11:1", "cycle_ended@bf11"};
    ASSERT_GE(trace.size(), want.size());
    EXPECT_EQ(std::vector<std::string>(trace.begin(), trace.begin() + 14), want);
    EXPECT_EQ(o.metrics.transfer_failures, 1);
    EXPECT_EQ(o.metrics.rebalances, 2);
  }
}

TEST(Balancer, TransferTimeoutGivesTheLayerUp) {
  BalancerConfig config = toy_config(2);
  config.transfer_timeout_steps = 2;
  // Layer 0's messages of cycle 0 are lost without an error: the receiver waits until the
  // timeout; layer 1 overtakes it (two staging areas).
  const int64_t slots = config.num_slots();
  WorldOptions options;
  options.num_steps = 9;
  options.drop = [slots](int, const SendOp& send) { return send.tag / slots == 0; };
  const auto ranks = run_world(config, options);
  expect_clean(ranks);
  const std::vector<std::string> want = {
      "gather_started@af3", "plan_taken@bf5",        "layer_posted@bf5:0", "layer_posted@bf6:1",
      "layer_failed@bf7:0", "layer_committed@bf7:1", "layer_posted@bf7:2", "layer_committed@bf8:2",
      "cycle_ended@bf8",    "gather_started@af8"};
  for (const RankOutcome& o : ranks) {
    EXPECT_EQ(event_trace(o), want);
    EXPECT_EQ(o.metrics.transfer_failures, 1);
    EXPECT_EQ(o.metrics.last_cycle.layers_failed, 1);
    EXPECT_EQ(o.metrics.last_cycle.layers_committed, 2);
  }
}

TEST(Balancer, RoutesThroughTheCommittedPlacement) {
  InProcessWorld world(1);
  auto comm = world.communicator(0);
  BalancerConfig config = toy_config(1);
  Balancer balancer(config, *comm, nullptr);
  const std::vector<int32_t> topk = {0, 7, 3, 1};
  std::vector<int32_t> slots(topk.size());
  balancer.route(0, topk, 2, slots);
  // Contiguous: expert e in slot e (and e + 8 for e < 4): round robin picks by token + k.
  for (size_t i = 0; i < topk.size(); ++i) {
    EXPECT_EQ(balancer.placement().layer_phy2log(0)[static_cast<size_t>(slots[i])], topk[i]);
  }
  EXPECT_THROW(balancer.replica_table(3), Error);
}

TEST(Balancer, HooksMustAlternateWithIncreasingSteps) {
  InProcessWorld world(1);
  auto comm = world.communicator(0);
  Balancer balancer(toy_config(1), *comm, nullptr);
  EXPECT_THROW(balancer.after_forward(0), Error);
  balancer.before_forward(0);
  EXPECT_THROW(balancer.before_forward(1), Error);
  EXPECT_THROW(balancer.after_forward(1), Error);
  balancer.after_forward(0);
  EXPECT_THROW(balancer.before_forward(0), Error);
  balancer.before_forward(5);
  balancer.after_forward(5);
}

TEST(Balancer, StoreAndCommunicatorMustMatchTheConfig) {
  InProcessWorld world(2);
  auto comm = world.communicator(0);
  EXPECT_THROW(Balancer(toy_config(4), *comm, nullptr), Error);
  BalancerConfig config = toy_config(2);
  config.layer_updates_per_iter = 3;
  HostWeightStore store(3, 6, 64, 2);
  try {
    Balancer balancer(config, *comm, &store);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("staging areas"), std::string::npos) << e.what();
  }
}

TEST(Balancer, ARankThatNeverVotesIsAFatalErrorAfterTheTimeout) {
  InProcessWorld world(2);
  auto comm = world.communicator(0);  // rank 1 never steps
  BalancerConfig config = toy_config(2);
  config.vote_timeout = std::chrono::milliseconds(50);
  Balancer balancer(config, *comm, nullptr);
  for (int64_t step = 0; step < 5; ++step) {
    balancer.before_forward(step);
    balancer.after_forward(step);  // gather at 3, first vote at 4
  }
  try {
    balancer.before_forward(5);
    FAIL() << "expected a vote timeout";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("step 5: vote timed_out"), std::string::npos) << e.what();
  }
}

TEST(Balancer, StaticMapNeverMoves) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("eplb_static_map_" + std::to_string(::getpid()) + ".json"))
                               .string();
  Placement map = Placement::contiguous(3, 8, 2, 12);
  map.layer_phy2log(1)[11] = 7;  // a second replica of expert 7 instead of expert 3
  map.layer_phy2log(1)[9] = 3;
  write_placement(path, map, PlacementFormat::kAscend);
  BalancerConfig config = toy_config(2);
  config.expert_map_path = path;
  config.dynamic_eplb = false;
  WorldOptions options;
  options.num_steps = 12;
  const auto ranks = run_world(config, options);
  expect_clean(ranks);
  EXPECT_EQ(ranks[0].placement.phy2log, map.phy2log);
  EXPECT_TRUE(ranks[0].events.empty());
  EXPECT_EQ(ranks[0].metrics.cycles, 0);
  std::filesystem::remove(path);
}

TEST(Balancer, RecordsThePlacementAfterEachCycle) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("eplb_record_" + std::to_string(::getpid()) + ".json"))
                               .string();
  std::filesystem::remove(path);
  BalancerConfig config = toy_config(2);
  config.expert_map_record_path = path;
  WorldOptions options;
  options.num_steps = 11;
  const auto ranks = run_world(config, options);
  expect_clean(ranks);
  const Placement recorded = read_placement(path, {PlacementFormat::kAscend, 2, 8});
  EXPECT_EQ(recorded.phy2log, ranks[0].placement.phy2log);
  bool written = false;
  for (const BalancerEvent& e : ranks[0].events) {
    written = written || e.kind == BalancerEventKind::kRecordWritten;
  }
  EXPECT_TRUE(written);
  // Starting from the record reproduces the placement without moving anything.
  config.expert_map_path = path;
  config.expert_map_record_path.clear();
  config.dynamic_eplb = false;
  options.num_steps = 2;
  EXPECT_EQ(run_world(config, options)[0].placement.phy2log, recorded.phy2log);
  std::filesystem::remove(path);
}

TEST(Balancer, PrometheusTextCarriesTheCounters) {
  WorldOptions options;
  options.num_steps = 9;
  const auto ranks = run_world(toy_config(2), options);
  const std::string text = format_prometheus(ranks[1].metrics, 1);
  EXPECT_NE(text.find("eplb_rebalances_total{rank=\"1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE eplb_hook_us_p99 gauge\n"), std::string::npos);
  EXPECT_NE(text.find("eplb_steps_total{rank=\"1\"} 9\n"), std::string::npos);
}

}  // namespace
}  // namespace eplb
