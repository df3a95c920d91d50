// Placement files across formats: names, detection, round trips between every pair of formats,
// atomic writes. Toy world (tests/data/placements/README.md): layers 3 and 4, 4 experts,
// 2 ranks x 3 slots, phy2log [[2,0,1,3,2,0],[3,1,0,2,3,1]] with routing weights.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <tuple>

#include "eplb/error.h"
#include "eplb/placement.h"
#include "eplb/placement_io.h"
#include "placement_test_util.h"

namespace eplb {
namespace {

using namespace placement_test;  // the toy world and helpers of these tests

namespace fs = std::filesystem;


const char* extension(PlacementFormat format) {
  return format == PlacementFormat::kTrtllm ? ".yaml" : ".json";
}

// --- names and detection ---

TEST(PlacementFormatNames, ParseAndPrint) {
  for (PlacementFormat f :
       {PlacementFormat::kEplb, PlacementFormat::kTrtllm, PlacementFormat::kAscend}) {
    EXPECT_EQ(parse_placement_format(placement_format_name(f), "--format"), f);
  }
  EXPECT_EQ(error_of([] { parse_placement_format("yaml", "--to"); }),
            "--to yaml: unknown placement format (expected eplb, trtllm or ascend)");
}

TEST(PlacementFormatNames, FromExtension) {
  EXPECT_EQ(placement_format_from_extension("out/p.yaml"), PlacementFormat::kTrtllm);
  EXPECT_EQ(placement_format_from_extension("p.YML"), PlacementFormat::kTrtllm);
  EXPECT_EQ(placement_format_from_extension("p.json"), PlacementFormat::kEplb);
  EXPECT_EQ(placement_format_from_extension("p.txt"), std::nullopt);
  EXPECT_EQ(placement_format_from_extension("json"), std::nullopt);
}

TEST(PlacementDetection, ByExtensionAndContent) {
  EXPECT_EQ(parse_placement_file(kData + "toy_eplb.json").layer_ids, (std::vector<int>{3, 4}));
  EXPECT_EQ(parse_placement_file(kData + "toy_ascend.json").layer_ids, (std::vector<int>{0, 1}));
  EXPECT_EQ(parse_placement_file(kData + "toy_trtllm.yaml").num_ranks, 0);
}

TEST(PlacementDetection, JsonThatIsNeitherFormat) {
  ScratchDir dir;
  const std::string path = dir.write("p.json", "{\"phy2log\": [[0]]}");
  EXPECT_EQ(error_of([&] { read_placement(path); }),
            path +
                ": not a placement file: expected a JSON object with \"format\": "
                "\"eplb.placement.v1\" (eplb) or \"layer_list\" (vllm-ascend expert map)");
}

TEST(PlacementDetection, UnknownExtensionNeedsTheFormat) {
  ScratchDir dir;
  const std::string path = dir.write("p.txt", slurp(kData + "toy_ascend.json"));
  EXPECT_EQ(error_of([&] { read_placement(path); }),
            path +
                ": cannot tell the placement format from the file name (expected .json, "
                ".yaml or .yml): pass --format eplb|trtllm|ascend");
  PlacementReadOptions ascend;
  ascend.format = PlacementFormat::kAscend;
  EXPECT_EQ(read_placement(path, ascend).num_ranks, 2);
}

TEST(PlacementDetection, AnExplicitFormatWins) {
  PlacementReadOptions eplb;
  eplb.format = PlacementFormat::kEplb;
  const std::string path = kData + "toy_ascend.json";
  EXPECT_EQ(error_of([&] { read_placement(path, eplb); }), path + ": format: missing");
}

TEST(PlacementRead, MissingFile) {
  EXPECT_EQ(error_of([] { read_placement("/nonexistent/p.json"); }),
            "/nonexistent/p.json: cannot read: No such file or directory");
}

TEST(PlacementRead, NegativeFlags) {
  EXPECT_EQ(error_of([] { read_placement(kData + "toy_eplb.json", options(-1)); }),
            "--ranks -1: must be > 0");
}

// --- round trips between every pair of formats ---

class PlacementRoundTrip
    : public ::testing::TestWithParam<std::tuple<PlacementFormat, PlacementFormat>> {};

// toy -> written as `first` -> read -> written as `second` -> read: everything survives except
// what a format cannot hold (routing weights outside eplb, layer ids through ascend).
TEST_P(PlacementRoundTrip, KeepsWhatBothFormatsHold) {
  const auto [first, second] = GetParam();
  ScratchDir dir;
  const Placement original = toy_weighted();
  const std::string a = dir.path(std::string("a") + extension(first));
  write_placement(a, original, first);
  const Placement middle = read_placement(a, options(2));
  const std::string b = dir.path(std::string("b") + extension(second));
  write_placement(b, middle, second);
  const Placement back = read_placement(b, options(2));

  EXPECT_EQ(back.num_layers, original.num_layers);
  EXPECT_EQ(back.num_experts, original.num_experts);
  EXPECT_EQ(back.num_ranks, original.num_ranks);
  EXPECT_EQ(back.num_slots, original.num_slots);
  EXPECT_EQ(back.phy2log, original.phy2log);
  const bool through_ascend =
      first == PlacementFormat::kAscend || second == PlacementFormat::kAscend;
  const std::vector<int> zero_based = {0, 1};
  EXPECT_EQ(back.layer_ids, through_ascend ? zero_based : original.layer_ids);
  const bool eplb_only = first == PlacementFormat::kEplb && second == PlacementFormat::kEplb;
  EXPECT_EQ(back.routing_weight, eplb_only ? original.routing_weight : std::vector<double>{});
  // Writing what was read reproduces the file byte for byte.
  EXPECT_EQ(format_placement(back, second), slurp(b));
}

INSTANTIATE_TEST_SUITE_P(
    AllPairs, PlacementRoundTrip,
    ::testing::Combine(::testing::Values(PlacementFormat::kEplb, PlacementFormat::kTrtllm,
                                         PlacementFormat::kAscend),
                       ::testing::Values(PlacementFormat::kEplb, PlacementFormat::kTrtllm,
                                         PlacementFormat::kAscend)),
    [](const ::testing::TestParamInfo<PlacementRoundTrip::ParamType>& param) {
      return std::string(placement_format_name(std::get<0>(param.param))) + "_to_" +
             placement_format_name(std::get<1>(param.param));
    });

// Any placement of consistent shape (valid or not) survives format + parse in every format,
// routing weights bit for bit in eplb.
RC_GTEST_PROP(PlacementRoundTripProperty, FormatThenParseIsIdentity, ()) {
  const int num_layers = *rc::gen::inRange(1, 5);
  const int num_ranks = *rc::gen::inRange(1, 5);
  const int num_slots = num_ranks * *rc::gen::inRange(1, 5);
  const int num_experts = *rc::gen::inRange(1, num_slots + 1);
  Placement p = Placement::contiguous(num_layers, num_experts, num_ranks, num_slots);
  std::vector<int> ids =
      *rc::gen::unique<std::vector<int>>(static_cast<size_t>(num_layers), rc::gen::inRange(0, 100));
  std::sort(ids.begin(), ids.end());  // trtllm writes rows by layer id
  p.layer_ids = ids;
  for (auto& e : p.phy2log) e = *rc::gen::inRange(-2, num_experts + 2);
  p.routing_weight = *rc::gen::container<std::vector<double>>(
      p.phy2log.size(),
      rc::gen::suchThat(rc::gen::arbitrary<double>(), [](double w) { return std::isfinite(w); }));
  ScratchDir dir;
  for (PlacementFormat f :
       {PlacementFormat::kEplb, PlacementFormat::kTrtllm, PlacementFormat::kAscend}) {
    const std::string path = dir.path(std::string("p") + extension(f));
    write_placement(path, p, f);
    const Placement back = parse_placement_file(path, options(num_ranks, num_experts));
    RC_ASSERT(back.phy2log == p.phy2log);
    RC_ASSERT(back.num_slots == p.num_slots);
    RC_ASSERT(back.num_ranks == p.num_ranks);
    RC_ASSERT(back.num_experts == p.num_experts);
    if (f != PlacementFormat::kAscend) RC_ASSERT(back.layer_ids == p.layer_ids);
    if (f == PlacementFormat::kEplb) RC_ASSERT(back.routing_weight == p.routing_weight);
  }
}

// --- atomic writes ---

TEST(PlacementWrite, IntoAMissingDirectoryThrowsAndLeavesNothing) {
  ScratchDir dir;
  const std::string path = dir.path("missing/p.json");
  const std::string message =
      error_of([&] { write_placement(path, toy_weighted(), PlacementFormat::kEplb); });
  EXPECT_EQ(message.rfind(path + ": cannot write: ", 0), 0u) << message;
  EXPECT_FALSE(fs::exists(dir.dir() / "missing"));
  EXPECT_TRUE(fs::is_empty(dir.dir()));
}

TEST(PlacementWrite, ReplacesAnExistingFileWhole) {
  ScratchDir dir;
  const std::string path = dir.write("p.json", std::string(100000, 'x'));
  write_placement(path, toy_weighted(), PlacementFormat::kEplb);
  EXPECT_EQ(slurp(path), slurp(kData + "toy_eplb.json"));
  const auto entries = std::distance(fs::directory_iterator(dir.dir()), fs::directory_iterator());
  EXPECT_EQ(entries, 1);  // no temporary left beside it
}

TEST(PlacementWrite, AFormatErrorNamesThePathAndLeavesTheOldFile) {
  ScratchDir dir;
  const std::string path = dir.write("p.json", "old");
  Placement p = toy_weighted();
  p.layer_ids.pop_back();
  EXPECT_EQ(error_of([&] { write_placement(path, p, PlacementFormat::kEplb); }),
            path +
                ": cannot write the eplb format: layer_ids has 1 entries, expected "
                "num_layers = 2");
  EXPECT_EQ(slurp(path), "old");
}

}  // namespace
}  // namespace eplb
