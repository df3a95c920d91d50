// plan() and plan_layer(): argument checks, layers without data, `current`, edge shapes.
//
// Toy world: 3 layers x 4 experts, 6 slots on 2 ranks (3 slots per rank); layer 1 has no data.
#include "eplb/planner.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "eplb/balance.h"
#include "eplb/error.h"
#include "support/test_support.h"

namespace eplb {
namespace {

LoadMatrix toy_loads() {
  LoadMatrix m = LoadMatrix::zeros(3, 4);
  m.layer_ids = {3, 4, 5};
  m.values = {10, 40, 25, 5,  //
              0,  0,  0,  0,  //
              7,  1,  1,  30};
  return m;
}

PlanOptions toy_options(Policy policy = Policy::kBalanced) {
  PlanOptions o;
  o.num_ranks = 2;
  o.num_slots = 6;
  o.policy = policy;
  return o;
}

using eplb::testing::error_of;

TEST(PlanOptions, ParsesAndNamesPolicies) {
  for (Policy p : {Policy::kBalanced, Policy::kDeepSeek, Policy::kGreedy}) {
    EXPECT_EQ(parse_policy(policy_name(p)), p);
  }
  EXPECT_NE(error_of([] { parse_policy("lpt"); }).find("--policy lpt"), std::string::npos);
}

TEST(PlanOptions, ErrorsNameTheFlag) {
  const LoadMatrix loads = toy_loads();
  auto with = [&](auto edit) {
    PlanOptions o = toy_options();
    edit(o);
    return error_of([&] { plan(loads, o); });
  };
  EXPECT_NE(with([](PlanOptions& o) { o.num_ranks = 0; }).find("--ranks 0"), std::string::npos);
  EXPECT_NE(with([](PlanOptions& o) { o.num_slots = 7; }).find("--slots 7"), std::string::npos);
  EXPECT_NE(with([](PlanOptions& o) { o.num_slots = 2; }).find("--slots 2"), std::string::npos);
  EXPECT_NE(with([](PlanOptions& o) { o.num_nodes = 3; }).find("--nodes 3"), std::string::npos);
  EXPECT_NE(with([](PlanOptions& o) { o.num_groups = 3; }).find("--groups 3"), std::string::npos);
  EXPECT_EQ(with([](PlanOptions&) {}), "(no error)");  // valid options: no error
}

TEST(Plan, CarriesShapeAndLayerIds) {
  const Placement p = plan(toy_loads(), toy_options());
  EXPECT_EQ(p.num_layers, 3);
  EXPECT_EQ(p.num_experts, 4);
  EXPECT_EQ(p.num_ranks, 2);
  EXPECT_EQ(p.num_slots, 6);
  EXPECT_EQ(p.layer_ids, (std::vector<int>{3, 4, 5}));
  EXPECT_TRUE(check_placement(p).empty());
}

TEST(Plan, LayerWithoutDataGetsTheContiguousPlacement) {
  for (Policy policy : {Policy::kBalanced, Policy::kDeepSeek, Policy::kGreedy}) {
    const Placement p = plan(toy_loads(), toy_options(policy));
    auto row = p.layer_phy2log(1);
    EXPECT_EQ(std::vector<int32_t>(row.begin(), row.end()),
              (std::vector<int32_t>{0, 1, 2, 3, 0, 1}))
        << policy_name(policy);
  }
}

TEST(Plan, LayerWithoutDataKeepsTheCurrentPlacement) {
  Placement current = Placement::contiguous(3, 4, 2, 6, {3, 4, 5});
  auto row = current.layer_phy2log(1);
  std::vector<int32_t> kept = {3, 2, 1, 0, 3, 2};
  std::copy(kept.begin(), kept.end(), row.begin());
  for (Policy policy : {Policy::kBalanced, Policy::kDeepSeek, Policy::kGreedy}) {
    const Placement p = plan(toy_loads(), toy_options(policy), &current);
    auto got = p.layer_phy2log(1);
    EXPECT_EQ(std::vector<int32_t>(got.begin(), got.end()), kept) << policy_name(policy);
  }
}

TEST(Plan, CurrentOfAnotherShapeNamesCurrent) {
  const LoadMatrix loads = toy_loads();
  const PlanOptions o = toy_options();
  const Placement wrong_slots = Placement::contiguous(3, 4, 2, 8, {3, 4, 5});
  const Placement wrong_layers = Placement::contiguous(2, 4, 2, 6, {3, 4});
  const Placement wrong_ids = Placement::contiguous(3, 4, 2, 6, {3, 4, 9});
  const Placement wrong_ranks = Placement::contiguous(3, 4, 3, 6, {3, 4, 5});
  for (const Placement* c : {&wrong_slots, &wrong_layers, &wrong_ids, &wrong_ranks}) {
    EXPECT_EQ(error_of([&] { plan(loads, o, c); }).rfind("--current: ", 0), 0u);
  }
  Placement bad_expert = Placement::contiguous(3, 4, 2, 6, {3, 4, 5});
  bad_expert.phy2log[7] = 4;
  EXPECT_EQ(error_of([&] { plan(loads, o, &bad_expert); }).rfind("--current: ", 0), 0u);
}

TEST(Plan, DeepSeekIgnoresCurrentSlotOrder) {
  const LoadMatrix loads = toy_loads();
  const Placement plain = plan(loads, toy_options(Policy::kDeepSeek));
  Placement current = Placement::contiguous(3, 4, 2, 6, {3, 4, 5});
  const Placement with_current = plan(loads, toy_options(Policy::kDeepSeek), &current);
  EXPECT_EQ(with_current.layer_phy2log(0)[0], plain.layer_phy2log(0)[0]);
  EXPECT_EQ(with_current.phy2log[12], plain.phy2log[12]);
  EXPECT_EQ(std::vector<int32_t>(with_current.layer_phy2log(2).begin(),
                                 with_current.layer_phy2log(2).end()),
            std::vector<int32_t>(plain.layer_phy2log(2).begin(), plain.layer_phy2log(2).end()));
}

TEST(Plan, OtherPoliciesKeepCurrentExpertsInTheirSlots) {
  const LoadMatrix loads = toy_loads();
  for (Policy policy : {Policy::kBalanced, Policy::kGreedy}) {
    const Placement plain = plan(loads, toy_options(policy));
    // Current: the plan itself with each rank's slots reversed; re-planning moves nothing.
    Placement current = plain;
    for (size_t first = 0; first < current.phy2log.size(); first += 3) {
      std::reverse(current.phy2log.begin() + static_cast<ptrdiff_t>(first),
                   current.phy2log.begin() + static_cast<ptrdiff_t>(first + 3));
    }
    const Placement again = plan(loads, toy_options(policy), &current);
    EXPECT_EQ(count_moved_slots(current, again), 0) << policy_name(policy);
  }
}

TEST(Plan, WeightedReplansKeepThePlacementWhereSharesReachTheGoal) {
  // Experts 0-3 with 60, 30, 10 and 40 tokens (mean rank load 70); current: experts 0 and 3 on
  // both ranks, the counts water-filling gives. Split evenly, rank 0 carries 30 + 30 + 20 = 80;
  // no placement without a rank holding two copies of an expert reaches 70 with even shares.
  // Shares reach it on the current placement: rank 0 serves 20 of expert 0's 60 tokens.
  LoadMatrix loads = LoadMatrix::zeros(1, 4);
  loads.values = {60, 30, 10, 40};
  PlanOptions o = toy_options();
  Placement current = Placement::contiguous(1, 4, 2, 6);
  current.phy2log = {0, 1, 3, 0, 2, 3};
  const Placement even = plan(loads, o, &current);
  EXPECT_GT(count_moved_slots(current, even), 0);
  o.routing = Routing::kWeighted;
  const Placement weighted = plan(loads, o, &current);
  EXPECT_EQ(weighted.phy2log, current.phy2log);
  const std::vector<double> load =
      rank_loads(loads.layer(0), weighted.layer_phy2log(0), weighted.layer_routing_weight(0), 2);
  EXPECT_NEAR(load[0], 70, 1e-9);
  EXPECT_NEAR(load[1], 70, 1e-9);
}

TEST(Plan, SingleRankHoldsEverySlot) {
  LoadMatrix loads = LoadMatrix::zeros(1, 3);
  loads.values = {5, 1, 9};
  for (Policy policy : {Policy::kBalanced, Policy::kDeepSeek, Policy::kGreedy}) {
    PlanOptions o;
    o.num_ranks = 1;
    o.num_slots = 5;
    o.policy = policy;
    const Placement p = plan(loads, o);
    EXPECT_TRUE(check_placement(p).empty()) << policy_name(policy);
    // Water-filling: 9 -> 4.5, then 5 -> 2.5.
    EXPECT_EQ(p.replica_count(0), (std::vector<int>{2, 1, 2})) << policy_name(policy);
  }
}

TEST(Plan, SlotsEqualExpertsPlacesEachExpertOnce) {
  LoadMatrix loads = LoadMatrix::zeros(1, 6);
  loads.values = {6, 5, 4, 3, 2, 1};
  for (Policy policy : {Policy::kBalanced, Policy::kDeepSeek, Policy::kGreedy}) {
    PlanOptions o;
    o.num_ranks = 3;
    o.num_slots = 6;
    o.policy = policy;
    const Placement p = plan(loads, o);
    EXPECT_EQ(p.replica_count(0), std::vector<int>(6, 1)) << policy_name(policy);
    const BalanceReport r = balance_report(loads, &p, 3);
    EXPECT_DOUBLE_EQ(r.average.max, 7) << policy_name(policy);  // {6,1} {5,2} {4,3}
  }
}

TEST(PlanLayer, MatchesPlanAndChecksItsArguments) {
  const LoadMatrix loads = toy_loads();
  const PlanOptions o = toy_options();
  const Placement p = plan(loads, o);
  std::vector<int32_t> row(6);
  plan_layer(loads.layer(2), o, {}, row);
  EXPECT_EQ(row, std::vector<int32_t>(p.layer_phy2log(2).begin(), p.layer_phy2log(2).end()));

  std::vector<int32_t> short_row(5);
  EXPECT_NE(error_of([&] { plan_layer(loads.layer(2), o, {}, short_row); }).find("--slots is 6"),
            std::string::npos);
  const std::vector<int32_t> bad_current = {0, 1, 2, 3, 0, 7};
  EXPECT_NE(error_of([&] {
              plan_layer(loads.layer(2), o, bad_current, row);
            }).find("--current: phy2log[5]: expert 7"),
            std::string::npos);
  const std::vector<double> negative = {1, -1, 0, 0};
  EXPECT_NE(error_of([&] { plan_layer(negative, o, {}, row); }).find("expert_loads[1]"),
            std::string::npos);
}

}  // namespace
}  // namespace eplb
