// TensorRT-LLM's load-balancer YAML. Toy world (tests/data/placements/README.md): layers 3 and
// 4, 4 experts, 2 ranks x 3 slots; phy2log [[2,0,1,3,2,0],[3,1,0,2,3,1]]. The file has no rank
// count, so reads pass num_ranks (the CLI's --ranks).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "eplb/error.h"
#include "eplb/placement.h"
#include "eplb/placement_io.h"
#include "placement_test_util.h"

namespace eplb {
namespace {

using namespace placement_test;  // the toy world and helpers of these tests

const std::string kGolden =
    "initial_global_assignments:\n"
    "  3: [2, 0, 1, 3, 2, 0]\n"
    "  4: [3, 1, 0, 2, 3, 1]\n"
    "layer_updates_per_iter: 0\n"
    "num_slots: 6\n";

void expect_toy(const Placement& p) {
  EXPECT_EQ(p.num_layers, 2);
  EXPECT_EQ(p.num_experts, 4);  // max expert id + 1
  EXPECT_EQ(p.num_ranks, 2);
  EXPECT_EQ(p.num_slots, 6);
  EXPECT_EQ(p.layer_ids, (std::vector<int>{3, 4}));
  EXPECT_EQ(p.phy2log, toy_even().phy2log);
  EXPECT_FALSE(p.has_routing_weight());
}

TEST(TrtllmYaml, TheGoldenFileIsWhatGenerateEplbConfigWrites) {
  EXPECT_EQ(slurp(kData + "toy_trtllm.yaml"), kGolden);
}

TEST(TrtllmYaml, ReadsTheGoldenFileWithRanks) {
  expect_toy(read_placement(kData + "toy_trtllm.yaml", options(2)));
}

TEST(TrtllmYaml, ReadsTheGuideKeyOrderAndSortsLayers) {
  expect_toy(read_placement(kData + "toy_trtllm_guide_order.yaml", options(2)));
}

TEST(TrtllmYaml, ReadWithoutRanksAsksForTheFlag) {
  const std::string path = kData + "toy_trtllm.yaml";
  EXPECT_EQ(error_of([&] { read_placement(path); }),
            path + ": the trtllm format does not record the rank count: pass --ranks");
}

TEST(TrtllmYaml, ParseWithoutRanksLeavesThemUnknownAndChecksTheRest) {
  const Placement p = parse_placement_file(kData + "toy_trtllm.yaml");
  EXPECT_EQ(p.num_ranks, 0);
  EXPECT_EQ(p.num_slots, 6);
  EXPECT_TRUE(check_placement(p).empty());
}

TEST(TrtllmYaml, ExpertCountFromTheFlag) {
  const std::string path = kData + "toy_trtllm.yaml";
  EXPECT_EQ(read_placement(path, options(2, 4)).num_experts, 4);
  EXPECT_EQ(error_of([&] { read_placement(path, options(2, 3)); }),
            path + ": initial_global_assignments[3][3]: expert 3 out of range [0, 3)");
  // One more expert than the file places: every expert needs a replica.
  EXPECT_EQ(error_of([&] { read_placement(path, options(2, 5)); }),
            path + ": phy2log[0] (layer 3): expert 4 has no replica (and 1 more)");
}

TEST(TrtllmYaml, RanksThatDoNotDivideTheSlots) {
  const std::string path = kData + "toy_trtllm.yaml";
  EXPECT_EQ(error_of([&] { read_placement(path, options(4)); }),
            path + ": num_slots: 6 slots cannot be split equally over 4 ranks");
}

TEST(TrtllmYaml, WritesTheGoldenFileByteForByte) {
  EXPECT_EQ(format_placement(toy_even(), PlacementFormat::kTrtllm), kGolden);
}

TEST(TrtllmYaml, WritingDropsRoutingWeightsAndSortsLayers) {
  Placement p = Placement::contiguous(2, 4, 2, 6, {4, 3});
  p.phy2log = {3, 1, 0, 2, 3, 1, 2, 0, 1, 3, 2, 0};
  p.routing_weight = {0.5, 0.5, 1, 1, 0.5, 0.5, 0.5, 0.5, 1, 1, 0.5, 0.5};
  EXPECT_EQ(format_placement(p, PlacementFormat::kTrtllm), kGolden);
}

TEST(TrtllmYaml, EmptyPlacementIsAnEmptyMapping) {
  Placement p;
  p.num_slots = 6;
  EXPECT_EQ(format_placement(p, PlacementFormat::kTrtllm),
            "initial_global_assignments: {}\nlayer_updates_per_iter: 0\nnum_slots: 6\n");
}

TEST(TrtllmYaml, OnlineLayerUpdatesStillReadTheInitialAssignment) {
  ScratchDir dir;
  std::string text = kGolden;
  text.replace(text.find("iter: 0"), 7, "iter: 2");
  expect_toy(read_placement(dir.write("p.yaml", text), options(2)));
}

struct BadFile {
  const char* name;
  std::string text;
  std::string message;  // after "<path>: "
};

// Names the case in test listings (instead of a hex dump of the struct).
void PrintTo(const BadFile& bad, std::ostream* os) { *os << bad.name; }

class TrtllmYamlErrors : public ::testing::TestWithParam<BadFile> {};

TEST_P(TrtllmYamlErrors, NameTheFileAndTheField) {
  ScratchDir dir;
  const std::string path = dir.write("p.yaml", GetParam().text);
  EXPECT_EQ(error_of([&] { parse_placement_file(path); }), path + ": " + GetParam().message);
  EXPECT_EQ(error_of([&] { read_placement(path, options(2)); }), path + ": " + GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Shape, TrtllmYamlErrors,
    ::testing::Values(
        BadFile{"Truncated", "initial_global_assignments:\n  3: [2, 0, 1,",
                "invalid YAML at line 2, column 1: end of sequence flow not found"},
        BadFile{"Empty", "",
                "expected a YAML mapping with initial_global_assignments and "
                "num_slots, got null"},
        BadFile{"NotAMapping", "- 1\n- 2\n",
                "expected a YAML mapping with "
                "initial_global_assignments and num_slots, got a list"},
        BadFile{"StringExpert",
                "initial_global_assignments:\n  3: [2, 0, x, 3, 2, 0]\nnum_slots: 6\n",
                "initial_global_assignments[3][2]: \"x\" is not an integer"},
        BadFile{"FloatExpert",
                "initial_global_assignments:\n  3: [2, 0, 1.0, 3, 2, 0]\nnum_slots: 6\n",
                "initial_global_assignments[3][2]: \"1.0\" is not an integer"},
        BadFile{"NestedExpert",
                "initial_global_assignments:\n  3: [2, 0, [1], 3, 2, 0]\nnum_slots: 6\n",
                "initial_global_assignments[3][2]: a list is not an integer"},
        BadFile{"RaggedRow", "initial_global_assignments:\n  3: [2, 0, 1, 3, 2]\nnum_slots: 6\n",
                "initial_global_assignments[3]: 5 slots, expected num_slots = 6"},
        BadFile{"RowNotAList", "initial_global_assignments:\n  3: 7\nnum_slots: 6\n",
                "initial_global_assignments[3]: expected a list of experts (one per slot), got "
                "\"7\""},
        BadFile{"LayerIdNotAnInteger",
                "initial_global_assignments:\n  three: [2, 0, 1, 3, 2, 0]\nnum_slots: 6\n",
                "initial_global_assignments key: \"three\" is not an integer"},
        BadFile{"DuplicateLayer",
                "initial_global_assignments:\n  3: [2, 0, 1, 3, 2, 0]\n  3: [2, 0, 1, 3, 2, 0]\n"
                "num_slots: 6\n",
                "initial_global_assignments[3]: layer id appears twice"},
        BadFile{"MissingSlots", "initial_global_assignments:\n  3: [2, 0, 1, 3, 2, 0]\n",
                "num_slots: missing"},
        BadFile{"SlotsNotAnInteger",
                "initial_global_assignments:\n  3: [2, 0, 1, 3, 2, 0]\nnum_slots: six\n",
                "num_slots: \"six\" is not an integer"},
        BadFile{"HugeSlots",
                "initial_global_assignments:\n  3: [2, 0, 1, 3, 2, 0]\nnum_slots: 99999999999\n",
                "num_slots: \"99999999999\" is out of the 32-bit integer range"},
        BadFile{"UpdatesNotAnInteger",
                "initial_global_assignments:\n  3: [2, 0, 1, 3, 2, 0]\nnum_slots: 6\n"
                "layer_updates_per_iter: often\n",
                "layer_updates_per_iter: \"often\" is not an integer"},
        BadFile{"OnlineOnly", "num_slots: 6\nlayer_updates_per_iter: 2\n",
                "initial_global_assignments: missing (a config with only num_slots and "
                "layer_updates_per_iter sets up the online balancer and holds no placement)"},
        BadFile{"AssignmentsNotAMapping", "initial_global_assignments: [1, 2]\nnum_slots: 6\n",
                "initial_global_assignments: expected a mapping of layer id to the expert of "
                "every slot, got a list"},
        BadFile{"UnknownKey", "initial_global_assignments:\n  3: [2, 0, 1, 3, 2, 0]\nnum_slot: 6\n",
                "unknown key \"num_slot\" (TensorRT-LLM accepts initial_global_assignments, "
                "num_slots, layer_updates_per_iter)"},
        BadFile{"DuplicateKey", "num_slots: 6\nnum_slots: 6\n", "num_slots: appears twice"}),
    [](const ::testing::TestParamInfo<BadFile>& param) { return std::string(param.param.name); });

TEST(TrtllmYaml, NegativeExpertIsNamedInFileTerms) {
  ScratchDir dir;
  const std::string path =
      dir.write("p.yaml", "initial_global_assignments:\n  3: [2, 0, 1, 3, 2, -1]\nnum_slots: 6\n");
  EXPECT_EQ(error_of([&] { read_placement(path, options(2, 4)); }),
            path + ": initial_global_assignments[3][5]: expert -1 out of range [0, 4)");
}

TEST(TrtllmYaml, NegativeLayerId) {
  ScratchDir dir;
  const std::string path =
      dir.write("p.yaml", "initial_global_assignments:\n  -1: [2, 0, 1, 3, 2, 0]\nnum_slots: 6\n");
  EXPECT_EQ(error_of([&] { read_placement(path, options(2)); }),
            path + ": initial_global_assignments[-1]: layer id -1 is negative");
}

}  // namespace
}  // namespace eplb
