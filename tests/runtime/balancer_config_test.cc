// BalancerConfig validation: every pitfall of the vllm-ascend guide is an error at
// construction naming the knob. Deployment: 2 layers, 8 experts, 4 ranks, 4 redundant
// (12 slots, 3 per rank).
#include "eplb/runtime/balancer_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "eplb/error.h"
#include "eplb/placement_io.h"
#include "support/test_support.h"

namespace eplb {
namespace {

BalancerConfig base() {
  BalancerConfig c;
  c.num_layers = 2;
  c.num_experts = 8;
  c.num_ranks = 4;
  c.num_redundant_experts = 4;
  return c;
}

using eplb::testing::error_of;

#define EXPECT_ERROR_HAS(expr, text)                                     \
  do {                                                                   \
    const std::string message = error_of([&] { (void)(expr); });         \
    EXPECT_NE(message.find(text), std::string::npos)                     \
        << "message: '" << message << "', expected to contain " << text; \
  } while (0)

class TempFile {
 public:
  explicit TempFile(const std::string& name)
      : path_((std::filesystem::temp_directory_path() /
               (name + "_" + std::to_string(::getpid()) + ".json"))
                  .string()) {}
  ~TempFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }
  void write(const std::string& text) const { std::ofstream(path_) << text; }

 private:
  std::string path_;
};

TEST(BalancerConfig, DefaultsOfAValidDeploymentPass) {
  const BalancerConfig c = base();
  EXPECT_NO_THROW(validate_balancer_config(c));
  EXPECT_EQ(c.num_slots(), 12);
  EXPECT_EQ(c.resolved_slots_per_rank(), 3);
  const Placement p = initial_placement(c);
  EXPECT_EQ(p.phy2log, Placement::contiguous(2, 8, 4, 12).phy2log);
}

TEST(BalancerConfig, IntervalsOfZeroAreErrors) {
  BalancerConfig c = base();
  c.expert_heat_collection_interval = 0;
  EXPECT_ERROR_HAS(validate_balancer_config(c), "expert_heat_collection_interval 0 must be >= 1");
  c = base();
  c.algorithm_execution_interval = 0;
  EXPECT_ERROR_HAS(validate_balancer_config(c), "algorithm_execution_interval 0 must be >= 1");
  c = base();
  c.layer_updates_per_iter = 0;
  EXPECT_ERROR_HAS(validate_balancer_config(c), "layer_updates_per_iter 0 must be >= 1");
}

TEST(BalancerConfig, AlgorithmIntervalShorterThanThePlannerNeeds) {
  BalancerConfig c = base();
  c.algorithm_execution_interval = 10;
  c.min_algorithm_execution_interval = 30;
  EXPECT_ERROR_HAS(validate_balancer_config(c),
                   "algorithm_execution_interval 10 is shorter than the planner needs");
}

TEST(BalancerConfig, RedundantExpertsMustFitTheSlots) {
  BalancerConfig c = base();
  c.num_redundant_experts = 3;  // 11 slots on 4 ranks
  EXPECT_ERROR_HAS(validate_balancer_config(c), "num_redundant_experts 3 does not fit the slots");
  c = base();
  c.num_redundant_experts = -4;
  EXPECT_ERROR_HAS(validate_balancer_config(c), "num_redundant_experts -4 must be >= 0");
  c = base();
  c.slots_per_rank = 4;  // 16 slots, but 8 + 4 = 12
  EXPECT_ERROR_HAS(validate_balancer_config(c), "slots_per_rank 4 x num_ranks 4 = 16 slots");
  c.slots_per_rank = 3;
  EXPECT_NO_THROW(validate_balancer_config(c));
}

TEST(BalancerConfig, ShapesAndPlannerOptions) {
  BalancerConfig c = base();
  c.num_ranks = 0;
  EXPECT_ERROR_HAS(validate_balancer_config(c), "num_ranks 0 must be >= 1");
  c = base();
  c.num_nodes = 3;
  EXPECT_ERROR_HAS(validate_balancer_config(c), "planner: --ranks 4 is not divisible by --nodes 3");
  c = base();
  c.recorder = {RecorderMode::kDecayed, 0, 2.0};
  EXPECT_ERROR_HAS(validate_balancer_config(c), "recorder.decay");
  c = base();
  c.warmup_steps = -1;
  EXPECT_ERROR_HAS(validate_balancer_config(c), "warmup_steps -1");
}

TEST(BalancerConfig, WeightedRoutingNeedsTheWeightedRoutePolicy) {
  BalancerConfig c = base();
  c.routing = Routing::kWeighted;
  EXPECT_ERROR_HAS(validate_balancer_config(c),
                   "routing weighted needs route_policy weighted (route_policy round_robin");
  c.route_policy = RoutePolicy::kLocalFirst;
  EXPECT_ERROR_HAS(validate_balancer_config(c), "route_policy local_first");
  c.route_policy = RoutePolicy::kWeighted;
  EXPECT_NO_THROW(validate_balancer_config(c));
  EXPECT_EQ(c.plan_options().routing, Routing::kWeighted);
}

TEST(BalancerConfig, WeightedRoutingStartsFromEvenShares) {
  BalancerConfig c = base();
  EXPECT_FALSE(initial_placement(c).has_routing_weight());
  c.routing = Routing::kWeighted;
  c.route_policy = RoutePolicy::kWeighted;
  const Placement p = initial_placement(c);
  ASSERT_EQ(p.routing_weight.size(), p.phy2log.size());
  EXPECT_TRUE(check_placement(p).empty());
  // Default deployment: slot i holds expert i mod 8, so experts 0-3 have two replicas.
  for (size_t s = 0; s < p.phy2log.size(); ++s) {
    EXPECT_EQ(p.routing_weight[s], p.phy2log[s] < 4 ? 0.5 : 1.0) << "slot " << s;
  }
}

TEST(BalancerConfig, MissingExpertMapIsAnError) {
  BalancerConfig c = base();
  c.expert_map_path = "/nonexistent/expert_map.json";
  EXPECT_ERROR_HAS(initial_placement(c),
                   "expert_map_path: /nonexistent/expert_map.json: cannot read");
}

TEST(BalancerConfig, MalformedExpertMapIsAnError) {
  TempFile file("eplb_malformed_map");
  file.write("{\"moe_layer_count\": 2, \"layer_list\": [");
  BalancerConfig c = base();
  c.expert_map_path = file.path();
  EXPECT_ERROR_HAS(initial_placement(c), "expert_map_path: " + file.path());
  file.write("{\"moe_layer_count\": 1, \"layer_list\": []}");
  EXPECT_ERROR_HAS(initial_placement(c), "moe_layer_count: 1, but layer_list has 0 layers");
}

TEST(BalancerConfig, ExpertMapMustMatchTheDeployment) {
  TempFile file("eplb_map_mismatch");
  BalancerConfig c = base();
  c.expert_map_path = file.path();

  write_placement(file.path(), Placement::contiguous(2, 8, 2, 12), PlacementFormat::kAscend);
  EXPECT_ERROR_HAS(initial_placement(c), "device_count 2 but the deployment has num_ranks 4");

  write_placement(file.path(), Placement::contiguous(3, 8, 4, 12), PlacementFormat::kAscend);
  EXPECT_ERROR_HAS(initial_placement(c), "moe_layer_count 3 but the deployment has num_layers 2");

  write_placement(file.path(), Placement::contiguous(2, 8, 4, 8), PlacementFormat::kAscend);
  EXPECT_ERROR_HAS(initial_placement(c), "2 experts per device (8 slots, 0 redundant)");

  // A map of a 10-expert model: ids 8 and 9 are out of range for 8 experts.
  write_placement(file.path(), Placement::contiguous(2, 10, 4, 12), PlacementFormat::kAscend);
  EXPECT_ERROR_HAS(initial_placement(c), "expert 8 out of range [0, 8)");

  // A map that misses expert 5 in layer 1.
  Placement missing = Placement::contiguous(2, 8, 4, 12);
  missing.layer_phy2log(1)[5] = 0;
  write_placement(file.path(), missing, PlacementFormat::kAscend);
  EXPECT_ERROR_HAS(initial_placement(c), "expert_map_path " + file.path());

  Placement good = Placement::contiguous(2, 8, 4, 12);
  good.layer_phy2log(0)[8] = 7;
  write_placement(file.path(), good, PlacementFormat::kAscend);
  EXPECT_EQ(initial_placement(c).phy2log, good.phy2log);
}

}  // namespace
}  // namespace eplb
