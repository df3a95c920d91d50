// vllm-ascend's expert map. Toy world (tests/data/placements/README.md): 2 MoE layers, 4
// experts, 2 devices x 3 slots; phy2log [[2,0,1,3,2,0],[3,1,0,2,3,1]]. vllm-ascend numbers its
// MoE layers 0.., so the file says layer_id 0 and 1 where eplb said 3 and 4.
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

namespace fs = std::filesystem;


// The golden map with one piece of text replaced (the n-th occurrence, 0-based).
std::string toy_text(const std::string& from, const std::string& to, int n = 0) {
  std::string text = slurp(kData + "toy_ascend.json");
  size_t at = text.find(from);
  for (int i = 0; i < n; ++i) at = text.find(from, at + 1);
  text.replace(at, from.size(), to);
  return text;
}

// The golden map cut right after the first `marker`, as a crashed writer would leave it.
std::string golden_up_to(const std::string& marker) {
  const std::string text = slurp(kData + "toy_ascend.json");
  return text.substr(0, text.find(marker) + marker.size());
}

void expect_toy(const Placement& p) {
  EXPECT_EQ(p.num_layers, 2);
  EXPECT_EQ(p.num_experts, 4);
  EXPECT_EQ(p.num_ranks, 2);
  EXPECT_EQ(p.num_slots, 6);
  EXPECT_EQ(p.layer_ids, (std::vector<int>{0, 1}));
  EXPECT_EQ(p.phy2log, toy_even().phy2log);
  EXPECT_FALSE(p.has_routing_weight());
}

TEST(AscendJson, ReadsTheGoldenFile) { expect_toy(read_placement(kData + "toy_ascend.json")); }

TEST(AscendJson, ReadsTheMapAsVllmAscendRecordsIt) {
  expect_toy(read_placement(kData + "toy_ascend_recorded.json"));
}

TEST(AscendJson, WritesTheGoldenFileByteForByteWithZeroBasedLayerIds) {
  EXPECT_EQ(format_placement(toy_even(), PlacementFormat::kAscend), slurp(kData + "toy_ascend.json"));
}

TEST(AscendJson, WritingDropsRoutingWeights) {
  Placement p = toy_even();
  p.routing_weight = {0.5, 0.5, 1, 1, 0.5, 0.5, 1, 0.5, 1, 1, 0.5, 0.5};
  EXPECT_EQ(format_placement(p, PlacementFormat::kAscend), slurp(kData + "toy_ascend.json"));
}

TEST(AscendJson, LayerIdsAreTheFileValues) {
  ScratchDir dir;
  const std::string path = dir.write("p.json", toy_text("\"layer_id\": 1", "\"layer_id\": 57"));
  EXPECT_EQ(read_placement(path).layer_ids, (std::vector<int>{0, 57}));
}

TEST(AscendJson, DeviceIdIsOptional) {
  ScratchDir dir;
  std::string text = slurp(kData + "toy_ascend.json");
  for (size_t at; (at = text.find("\"device_id\": ")) != std::string::npos;) {
    text.erase(at, text.find(',', at) + 2 - at);
  }
  expect_toy(read_placement(dir.write("p.json", text)));
}

TEST(AscendJson, UnknownRankCountCannotBeWritten) {
  Placement p = toy_even();
  p.num_ranks = 0;
  EXPECT_EQ(error_of([&] { format_placement(p, PlacementFormat::kAscend); }),
            "cannot write the ascend format: 6 slots cannot be split over num_ranks = 0 devices");
  const std::string path = (fs::path(::testing::TempDir()) / "never_written.json").string();
  EXPECT_EQ(error_of([&] { write_placement(path, p, PlacementFormat::kAscend); }),
            path +
                ": cannot write the ascend format: 6 slots cannot be split over num_ranks = "
                "0 devices");
  EXPECT_FALSE(fs::exists(path));
}

TEST(AscendJson, RanksFromTheCommandLineMustAgree) {
  const std::string path = kData + "toy_ascend.json";
  EXPECT_EQ(error_of([&] { read_placement(path, options(4)); }),
            path + ": layer_list[0].device_count: the file has 2 ranks but --ranks is 4");
  EXPECT_EQ(read_placement(path, options(2, 4)).num_ranks, 2);
}

TEST(AscendJson, ExpertIdsAreNamedInFileTerms) {
  ScratchDir dir;
  const std::string path = dir.write("p.json", toy_text("[3, 1, 0]", "[3, 1, 7]"));
  EXPECT_EQ(error_of([&] { read_placement(path, options(0, 4)); }),
            path + ": layer_list[1].device_list[0].device_expert[2]: expert 7 out of range [0, 4)");
}

TEST(AscendJson, DuplicateLayerIds) {
  ScratchDir dir;
  const std::string path = dir.write("p.json", toy_text("\"layer_id\": 1", "\"layer_id\": 0"));
  EXPECT_EQ(error_of([&] { read_placement(path); }),
            path + ": layer_list[1].layer_id: layer id 0 appears twice");
  // parse_placement_file leaves it to check_placement.
  EXPECT_EQ(check_placement(parse_placement_file(path)).at(0),
            "layer_ids[1]: layer id 0 appears twice");
}

struct BadFile {
  const char* name;
  std::string text;
  std::string message;  // after "<path>: "
};

// Names the case in test listings (instead of a hex dump of the struct).
void PrintTo(const BadFile& bad, std::ostream* os) { *os << bad.name; }

class AscendJsonErrors : public ::testing::TestWithParam<BadFile> {};

TEST_P(AscendJsonErrors, NameTheFileAndTheField) {
  ScratchDir dir;
  const std::string path = dir.write("p.json", GetParam().text);
  EXPECT_EQ(error_of([&] { parse_placement_file(path); }), path + ": " + GetParam().message);
  EXPECT_EQ(error_of([&] { read_placement(path); }), path + ": " + GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Shape, AscendJsonErrors,
    ::testing::Values(
        BadFile{"Truncated", golden_up_to("[3, 2, "),
                "invalid JSON: parse error at line 9, column 50: syntax error while parsing "
                "value - unexpected end of input; expected '[', '{', or a literal"},
        BadFile{"MissingLayerCount", toy_text("\"moe_layer_count\": 2,", ""),
                "moe_layer_count: missing"},
        BadFile{"LayerCountDisagrees", toy_text("\"moe_layer_count\": 2", "\"moe_layer_count\": 3"),
                "moe_layer_count: 3, but layer_list has 2 layers"},
        BadFile{"LayerNotAnObject", "{\"moe_layer_count\": 1, \"layer_list\": [7]}",
                "layer_list[0]: expected an object, got 7"},
        BadFile{"MissingLayerId", toy_text("\"layer_id\": 1,", ""),
                "layer_list[1].layer_id: missing"},
        BadFile{"DeviceCountsDiffer", toy_text("\"device_count\": 2", "\"device_count\": 3", 1),
                "layer_list[1].device_count: 3, expected 2 as in layer_list[0]"},
        BadFile{"ZeroDevices", toy_text("\"device_count\": 2", "\"device_count\": 0"),
                "layer_list[0].device_count: 0 must be > 0"},
        BadFile{"TrailingComma",
                toy_text("{\"device_id\": 1, \"device_expert\": [2, 3, 1]}", "", 0),
                "invalid JSON: parse error at line 18, column 7: syntax error while parsing "
                "value - unexpected ']'; expected '[', '{', or a literal"},
        BadFile{"DeviceListLength",
                toy_text(",\n        {\"device_id\": 1, \"device_expert\": [2, 3, 1]}", ""),
                "layer_list[1].device_list: 1 devices, expected device_count = 2"},
        BadFile{"UnevenDevices", toy_text("[2, 3, 1]", "[2, 3, 1, 0]"),
                "layer_list[1].device_list[1]: 4 experts, expected 3 as on "
                "layer_list[0].device_list[0] (every device holds as many slots)"},
        BadFile{"DeviceIdOutOfOrder", toy_text("\"device_id\": 1", "\"device_id\": 5"),
                "layer_list[0].device_list[1].device_id: 5, expected 1 (devices are listed in rank "
                "order)"},
        BadFile{"MissingDeviceExpert", toy_text("\"device_expert\": [3, 2, 0]", "\"e\": 0"),
                "layer_list[0].device_list[1].device_expert: missing"},
        BadFile{"DeviceExpertNotAList", toy_text("[3, 2, 0]", "\"3, 2, 0\""),
                "layer_list[0].device_list[1].device_expert: expected a list, got \"3, 2, 0\""},
        BadFile{"StringExpert", toy_text("[3, 2, 0]", "[3, \"x\", 0]"),
                "layer_list[0].device_list[1].device_expert[1]: \"x\" is not an integer"}),
    [](const ::testing::TestParamInfo<BadFile>& param) { return std::string(param.param.name); });

}  // namespace
}  // namespace eplb
