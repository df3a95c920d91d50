// Planner watchdog (BalancerConfig::planner_timeout_steps) on the toy world of runtime_world.h
// (2 ranks, C = 4, A = 2): gather af(3), first vote consumed bf(5), deadline 3 steps -> the
// plan is abandoned at bf(6) when it is not ready on every rank.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "eplb/error.h"
#include "eplb/runtime/balancer.h"
#include "runtime/runtime_world.h"
#include "support/test_support.h"

namespace eplb {
namespace {

using testing::event_trace;
using testing::run_world;
using testing::toy_config;
using testing::WorldOptions;

TEST(PlannerWatchdog, HungPlanIsAbandonedServingGoesOnLateResultIsDiscarded) {
  BalancerConfig config = toy_config(2);
  config.planner_timeout_steps = 3;
  WorldOptions options;
  options.num_steps = 160;
  options.sync_planner = false;
  options.step_sleep_us = 5000;  // 5 ms steps; the first plan sleeps 400 ms (~80 steps)
  options.plan_fn = [](int) -> LayerPlanFn {
    auto calls = std::make_shared<int>(0);  // worker thread only
    return [calls](const LayerPlanInput& in, std::span<int32_t> out) {
      if ((*calls)++ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(400));
      plan_layer(in.expert_loads, toy_config(2).plan_options(), in.current_phy2log, out);
    };
  };
  const auto ranks = run_world(config, options);
  for (const testing::RankOutcome& o : ranks) {
    EXPECT_EQ(o.error, "");
    EXPECT_EQ(o.weight_mismatches, 0);
    EXPECT_EQ(o.placement.phy2log, ranks[0].placement.phy2log);
    const auto trace = event_trace(o);
    ASSERT_GE(trace.size(), 5u);
    EXPECT_EQ(std::vector<std::string>(trace.begin(), trace.begin() + 5),
              (std::vector<std::string>{"gather_started@af3", "plan_late@bf5", "plan_timed_out@bf6",
                                        "cycle_ended@bf6", "gather_started@af7"}));
    EXPECT_GE(o.metrics.planner_timeouts, 1);
    EXPECT_EQ(o.metrics.planner_failures, 0);
    // The worker went on: a later cycle's plan was taken, and never cycle 0's late result.
    EXPECT_GE(o.metrics.rebalances, 1);
    for (const BalancerEvent& e : o.events) {
      if (e.kind == BalancerEventKind::kPlanTaken) {
        EXPECT_NE(e.cycle_idx, 0);
      }
    }
    // A hook that waited for the planner would take ~400 ms.
    EXPECT_LT(o.max_hook_ns, 100'000'000);
    bool logged = false;
    for (const std::string& line : o.logs) {
      logged = logged || line.find("planner_timeout_steps 3") != std::string::npos;
    }
    EXPECT_TRUE(logged);
  }
}

TEST(PlannerWatchdog, DeadlineBeforeTheEarliestTakeStepIsRejected) {
  BalancerConfig config = toy_config(2);
  config.planner_timeout_steps = 1;
  EXPECT_EQ(testing::error_of([&] { validate_balancer_config(config); }),
            "BalancerConfig: planner_timeout_steps 1 must be 0 (no deadline) or >= "
            "algorithm_execution_interval 2 (the earliest step a plan can be taken)");
  config.planner_timeout_steps = 2;
  EXPECT_NO_THROW(validate_balancer_config(config));
}

}  // namespace
}  // namespace eplb
