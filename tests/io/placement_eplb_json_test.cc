// eplb's canonical placement JSON. Toy world (tests/data/placements/README.md): layers 3 and 4,
// 4 experts, 2 ranks x 3 slots; phy2log [[2,0,1,3,2,0],[3,1,0,2,3,1]] with routing weights.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "eplb/error.h"
#include "eplb/placement.h"
#include "eplb/placement_io.h"
#include "placement_test_util.h"

namespace eplb {
namespace {

using namespace placement_test;  // the toy world and helpers of these tests


// A valid eplb file with one field's text replaced.
std::string toy_text(const std::string& from = "", const std::string& to = "") {
  std::string text = slurp(kData + "toy_eplb.json");
  if (!from.empty()) text.replace(text.find(from), from.size(), to);
  return text;
}

TEST(EplbJson, ReadsTheGoldenFile) {
  const Placement p = read_placement(kData + "toy_eplb.json");
  const Placement want = toy_weighted();
  EXPECT_EQ(p.num_layers, 2);
  EXPECT_EQ(p.num_experts, 4);
  EXPECT_EQ(p.num_ranks, 2);
  EXPECT_EQ(p.num_slots, 6);
  EXPECT_EQ(p.layer_ids, want.layer_ids);
  EXPECT_EQ(p.phy2log, want.phy2log);
  EXPECT_EQ(p.routing_weight, want.routing_weight);  // bit for bit, 1/3 included
}

TEST(EplbJson, WritesTheGoldenFileByteForByte) {
  EXPECT_EQ(format_placement(toy_weighted(), PlacementFormat::kEplb), slurp(kData + "toy_eplb.json"));
}

TEST(EplbJson, WithoutRoutingWeightsTheKeyIsLeftOut) {
  Placement p = toy_weighted();
  p.routing_weight.clear();
  const std::string text = format_placement(p, PlacementFormat::kEplb);
  EXPECT_EQ(text.find("routing_weight"), std::string::npos);
  ScratchDir dir;
  const Placement back = read_placement(dir.write("p.json", text));
  EXPECT_FALSE(back.has_routing_weight());
  EXPECT_EQ(back.phy2log, p.phy2log);
}

TEST(EplbJson, RoundTripKeepsAwkwardDoublesExactly) {
  Placement p = Placement::contiguous(1, 2, 1, 4);  // slots hold experts 0, 1, 0, 1
  p.routing_weight = {0.1 + 0.2, 1 - (0.1 + 0.2), 5e-324, 1 - 5e-324};
  ScratchDir dir;
  const std::string path = dir.write("p.json", format_placement(p, PlacementFormat::kEplb));
  EXPECT_EQ(parse_placement_file(path).routing_weight, p.routing_weight);
}

TEST(EplbJson, NonFiniteRoutingWeightsCannotBeWritten) {
  Placement p = toy_weighted();
  p.routing_weight[7] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(error_of([&] { format_placement(p, PlacementFormat::kEplb); }),
            "cannot write the eplb format: routing_weight[1][1] = nan is not finite (JSON has no "
            "NaN or infinity)");
}

TEST(EplbJson, InconsistentShapesCannotBeWritten) {
  Placement p = toy_weighted();
  p.phy2log.pop_back();
  EXPECT_EQ(error_of([&] { format_placement(p, PlacementFormat::kEplb); }),
            "cannot write the eplb format: phy2log has 11 slots, expected num_layers x num_slots "
            "= 12");
}

struct BadFile {
  const char* name;
  std::string text;
  std::string message;  // after "<path>: "
};

// Names the case in test listings (instead of a hex dump of the struct).
void PrintTo(const BadFile& bad, std::ostream* os) { *os << bad.name; }

class EplbJsonErrors : public ::testing::TestWithParam<BadFile> {};

TEST_P(EplbJsonErrors, NameTheFileAndTheField) {
  ScratchDir dir;
  const std::string path = dir.write("p.json", GetParam().text);
  EXPECT_EQ(error_of([&] { parse_placement_file(path); }), path + ": " + GetParam().message);
  EXPECT_EQ(error_of([&] { read_placement(path); }), path + ": " + GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Shape, EplbJsonErrors,
    ::testing::Values(
        BadFile{"Truncated", toy_text().substr(0, 120),
                "invalid JSON: parse error at line 7, column 11: syntax error while parsing object "
                "key - "
                "invalid string: missing closing quote; last read: '\"layer_i'; expected string "
                "literal"},
        BadFile{"NotJson", "format: eplb\n",
                "invalid JSON: parse error at line 1, column 2: syntax error while parsing value - "
                "invalid literal; last read: 'fo'"},
        BadFile{"FutureVersion", toy_text("placement.v1", "placement.v9"),
                "unsupported format \"eplb.placement.v9\" (this eplb reads "
                "\"eplb.placement.v1\")"},
        BadFile{"FormatNotAString", toy_text("\"eplb.placement.v1\"", "1"),
                "format: expected the string \"eplb.placement.v1\", got 1"},
        BadFile{"MissingField", toy_text("\"num_slots\": 6,", ""), "num_slots: missing"},
        BadFile{"CountNotAnInteger", toy_text("\"num_experts\": 4", "\"num_experts\": 4.5"),
                "num_experts: 4.5 is not an integer"},
        BadFile{"HugeCount", toy_text("\"num_experts\": 4", "\"num_experts\": 4294967296"),
                "num_experts: 4294967296 is out of the 32-bit integer range"},
        BadFile{"LayerIdsNotAList", toy_text("[3, 4]", "3"), "layer_ids: expected a list, got 3"},
        BadFile{"StringExpert", toy_text("[3, 1, 0, 2, 3, 1]", "[3, 1, \"x\", 2, 3, 1]"),
                "phy2log[1][2]: \"x\" is not an integer"},
        BadFile{"RaggedRow", toy_text("[3, 1, 0, 2, 3, 1]", "[3, 1, 0, 2, 3]"),
                "phy2log[1]: 5 slots, expected num_slots = 6"},
        BadFile{"RowNotAList", toy_text("[3, 1, 0, 2, 3, 1]", "{}"),
                "phy2log[1]: expected a list, got {}"},
        BadFile{"MissingRow", toy_text("[2, 0, 1, 3, 2, 0],", ""),
                "phy2log: 1 rows, expected num_layers = 2"},
        BadFile{"RaggedWeights", toy_text("0.75, ", ""),
                "routing_weight[0]: 5 slots, expected num_slots = 6"},
        BadFile{"WeightNotANumber", toy_text("0.75", "true"),
                "routing_weight[0][0]: true is not a number"}),
    [](const ::testing::TestParamInfo<BadFile>& param) { return std::string(param.param.name); });

TEST(EplbJson, ParseIsLenientSoValidateCanListEveryProblem) {
  ScratchDir dir;
  const std::string path =
      dir.write("p.json", toy_text("[3, 1, 0, 2, 3, 1]", "[3, 1, 9, 2, 3, 1]"));
  const Placement p = parse_placement_file(path);
  const auto problems = check_placement(p);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0], "phy2log[1][2]: expert 9 out of range [0, 4)");
  EXPECT_EQ(problems[1], "phy2log[1] (layer 4): expert 0 has no replica");
  EXPECT_EQ(error_of([&] { read_placement(path); }),
            path + ": phy2log[1][2]: expert 9 out of range [0, 4) (and 1 more)");
}

TEST(EplbJson, NotAnObject) {
  ScratchDir dir;
  const std::string path = dir.write("p.json", "[1, 2]");
  PlacementReadOptions eplb;
  eplb.format = PlacementFormat::kEplb;
  EXPECT_EQ(error_of([&] { read_placement(path, eplb); }),
            path + ": expected a JSON object with \"format\": \"eplb.placement.v1\", got [1,2]");
}

TEST(EplbJson, DuplicateLayerIds) {
  ScratchDir dir;
  const std::string path = dir.write("p.json", toy_text("[3, 4]", "[3, 3]"));
  EXPECT_EQ(error_of([&] { read_placement(path); }),
            path + ": layer_ids[1]: layer id 3 appears twice");
}

TEST(EplbJson, RanksAndExpertsFromTheCommandLineMustAgree) {
  const std::string path = kData + "toy_eplb.json";
  EXPECT_EQ(error_of([&] { read_placement(path, options(3)); }),
            path + ": num_ranks: the file has 2 ranks but --ranks is 3");
  EXPECT_EQ(error_of([&] { read_placement(path, options(0, 8)); }),
            path + ": num_experts: the file has 4 experts but --experts is 8");
  EXPECT_EQ(read_placement(path, options(2, 4)).num_ranks, 2);
  // parse_placement_file keeps the file's values: `eplb validate` reports the disagreement.
  const Placement parsed = parse_placement_file(path, options(3, 8));
  EXPECT_EQ(parsed.num_ranks, 2);
  EXPECT_EQ(parsed.num_experts, 4);
}

TEST(EplbJson, UnknownRankCountNeedsTheFlag) {
  ScratchDir dir;
  const std::string path = dir.write("p.json", toy_text("\"num_ranks\": 2", "\"num_ranks\": 0"));
  EXPECT_EQ(error_of([&] { read_placement(path); }),
            path + ": num_ranks: 0 ranks (unknown): pass --ranks");
  EXPECT_EQ(read_placement(path, options(2)).num_ranks, 2);
}

TEST(EplbJson, RanksThatDoNotDivideTheSlots) {
  ScratchDir dir;
  const std::string path = dir.write("p.json", toy_text("\"num_ranks\": 2", "\"num_ranks\": 4"));
  EXPECT_EQ(error_of([&] { read_placement(path); }),
            path + ": num_slots: 6 slots cannot be split equally over 4 ranks");
}

TEST(EplbJson, UnknownKeysAreIgnored) {
  ScratchDir dir;
  const std::string path = dir.write("p.json", toy_text("\"num_layers\"",
                                                        "\"comment\": \"planned 2025-01-01\",\n  "
                                                        "\"num_layers\""));
  EXPECT_EQ(read_placement(path).phy2log, toy_weighted().phy2log);
}

}  // namespace
}  // namespace eplb
