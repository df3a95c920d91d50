// Hostile input: files whose headers or structure claim far more than they hold. Each must be
// refused with an eplb::Error naming the file, before anything is sized by the claim — never a
// std::bad_alloc, an out-of-memory kill or a stack overflow. The inputs are generated here (a
// few MB at most) rather than committed.
//
// Also the regression tests of what the libFuzzer targets in fuzz/ found (FuzzRegression.*).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "eplb/load_reader.h"
#include "eplb/placement.h"
#include "eplb/placement_io.h"
#include "io/json_depth.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "load_test_util.h"

namespace eplb {
namespace {

using load_test::error_of;
using load_test::ScratchDir;
using ::testing::HasSubstr;

constexpr int kDeep = 1000000;  // brackets: far past any stack if parsed recursively

// `count` copies of `piece`.
std::string repeat(const std::string& piece, size_t count) {
  std::string text;
  text.reserve(piece.size() * count);
  for (size_t i = 0; i < count; ++i) text += piece;
  return text;
}

// "[[[...0...]]]" nesting `depth` arrays.
std::string deep_json_array(int depth) {
  return repeat("[", static_cast<size_t>(depth)) + "0" + repeat("]", static_cast<size_t>(depth));
}

// A version-`major` .npy file whose header is `header` (unpadded) followed by `data`.
std::string npy_bytes(const std::string& header, const std::string& data, int major = 1) {
  std::string bytes = "\x93NUMPY";
  bytes += static_cast<char>(major);
  bytes += '\0';
  const size_t length_bytes = major == 1 ? 2 : 4;
  for (size_t i = 0; i < length_bytes; ++i) {
    bytes += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  }
  return bytes + header + data;
}

// --- npy ---

TEST(HostileInput, NpyShapeClaimingTerabytes) {
  ScratchDir scratch;
  // 10^18 int64 elements (8 EB) over 8 data bytes; the product also overflows 64 bits.
  const std::string path =
      scratch.write("tb.npy", npy_bytes("{'descr': '<i8', 'fortran_order': False, "
                                        "'shape': (1000000, 1000000, 1000000), }",
                                        std::string(8, '\0')));
  EXPECT_THAT(error_of([&] { read_loads(path); }), HasSubstr("tb.npy: truncated: shape"));
  const std::string overflow = scratch.write(
      "overflow.npy", npy_bytes("{'descr': '<i8', 'fortran_order': False, "
                                "'shape': (9223372036854775807, 9223372036854775807), }",
                                std::string(8, '\0')));
  EXPECT_THAT(error_of([&] { read_loads(overflow); }), HasSubstr("overflow.npy: truncated"));
}

TEST(HostileInput, NpyHeaderLengthClaimingGigabytes) {
  // Version 2.0: a 4-byte header length of 0xFFFFFFFF over a 20-byte file.
  std::string bytes = "\x93NUMPY\x02";
  bytes += '\0';
  bytes += "\xff\xff\xff\xff";
  bytes += "{'descr': '<i8'}";
  EXPECT_THAT(error_of([&] { parse_npy(bytes, "h.npy"); }),
              HasSubstr("h.npy: truncated: header length 4294967295"));
}

TEST(HostileInput, NpyZeroStepsClaimingHugeLayersAndExperts) {
  // [0 steps, 2^31-1 layers, 2^31-1 experts]: no data bytes, so the size check passes; the
  // [layers, experts] sum must not be allocated from the claim (it was: 2^65 bytes).
  ScratchDir scratch;
  const std::string path = scratch.write(
      "zero_steps.npy",
      npy_bytes("{'descr': '<u4', 'fortran_order': False, 'shape': (0, 2147483647, 2147483647), }",
                ""));
  EXPECT_THAT(error_of([&] { read_loads(path); }), HasSubstr("zero_steps.npy: shape (0, "));
}

// --- safetensors ---

TEST(HostileInput, SafetensorsHeaderLengthClaimingTerabytes) {
  std::string bytes(8, '\0');
  bytes[5] = 1;  // 2^40
  bytes += "{}";
  EXPECT_THAT(error_of([&] { parse_safetensors(bytes, "r.safetensors"); }),
              HasSubstr("r.safetensors: truncated: header length 1099511627776"));
}

TEST(HostileInput, SafetensorsShapeClaimingTerabytes) {
  const std::string bytes = load_test::make_safetensors(
      {{"0_3",
        {{"dtype", "I64"}, {"shape", {1u << 20, 1u << 20, 1u << 20}}, {"data_offsets", {0, 8}}}}},
      std::string(8, '\0'));
  EXPECT_THAT(error_of([&] { parse_safetensors(bytes, "r.safetensors"); }),
              HasSubstr("is larger than the file's 8 data bytes"));
}

TEST(HostileInput, SafetensorsHeaderNestingAMillionDeep) {
  std::string header = deep_json_array(kDeep);
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  bytes += header;
  EXPECT_THAT(error_of([&] { parse_safetensors(bytes, "r.safetensors"); }),
              HasSubstr("r.safetensors: header: JSON nests deeper than 256 levels"));
}

TEST(HostileInput, SafetensorsTensorsSharingOneDataRange) {
  // 20,000 header entries all naming the same 8 KB: 1.6 GB of counts (10^4 x 10^5 more entries
  // would be terabytes) from a 1 MB file. Refused: tensors may not overlap.
  nlohmann::json header = nlohmann::json::object();
  for (int iter = 0; iter < 20000; ++iter) {
    header[std::to_string(iter) + "_3"] = {
        {"dtype", "I64"}, {"shape", {1024}}, {"data_offsets", {0, 8192}}};
  }
  const std::string bytes = load_test::make_safetensors(header, std::string(8192, '\0'));
  EXPECT_THAT(error_of([&] { parse_safetensors(bytes, "r.safetensors"); }),
              HasSubstr("\": data_offsets [0, 8192] overlap those of tensor \"0_3\" [0, 8192]"));
  ScratchDir scratch;
  scratch.write("stats/meta_info.json", "{\"num_experts\": 1024}");
  scratch.write("stats/rank0.safetensors", bytes);
  EXPECT_THAT(error_of([&] { read_loads(scratch.path("stats")); }), HasSubstr("overlap"));
}

// --- JSON nesting ---

TEST(HostileInput, SglangJsonNestingAMillionDeep) {
  ScratchDir scratch;
  const std::string path =
      scratch.write("deep.json", "{\"logical_count\": " + deep_json_array(kDeep) + "}");
  EXPECT_THAT(error_of([&] { read_loads(path); }),
              HasSubstr("deep.json: JSON nests deeper than 256 levels"));
}

TEST(HostileInput, TrtllmMetaInfoNestingAMillionDeep) {
  ScratchDir scratch;
  scratch.write("stats/meta_info.json", "{\"num_experts\": " + deep_json_array(kDeep) + "}");
  scratch.write("stats/rank0.safetensors", load_test::make_i64_safetensors({{"0_3", {1, 2}}}));
  EXPECT_THAT(error_of([&] { read_loads(scratch.path("stats")); }),
              HasSubstr("meta_info.json: JSON nests deeper than 256 levels"));
}

TEST(HostileInput, PlacementJsonNestingAMillionDeep) {
  ScratchDir scratch;
  const std::string eplb = scratch.write("deep_eplb.json", deep_json_array(kDeep));
  EXPECT_THAT(error_of([&] { read_placement(eplb); }),  // format detection parses it too
              HasSubstr("deep_eplb.json: JSON nests deeper than 256 levels"));
  PlacementReadOptions as_eplb;
  as_eplb.format = PlacementFormat::kEplb;
  EXPECT_THAT(error_of([&] { read_placement(eplb, as_eplb); }),
              HasSubstr("deep_eplb.json: JSON nests deeper than 256 levels"));
  const std::string ascend =
      scratch.write("deep_ascend.json",
                    "{\"moe_layer_count\": 1, \"layer_list\": " + deep_json_array(kDeep) + "}");
  PlacementReadOptions as_ascend;
  as_ascend.format = PlacementFormat::kAscend;
  EXPECT_THAT(error_of([&] { read_placement(ascend, as_ascend); }),
              HasSubstr("deep_ascend.json: JSON nests deeper than 256 levels"));
}

TEST(HostileInput, JsonDepthGuardSkipsStringsAndAllowsRealFiles) {
  // Brackets inside strings (with escaped quotes) do not count; 256 levels are fine, 257 not.
  EXPECT_NO_THROW(check_json_depth("{\"k\\\"[\": \"" + repeat("[{", 1000) + "\"}", "s.json"));
  EXPECT_NO_THROW(check_json_depth(deep_json_array(kMaxJsonDepth), "ok.json"));
  EXPECT_THAT(error_of([&] { check_json_depth(deep_json_array(kMaxJsonDepth + 1), "x.json"); }),
              HasSubstr("x.json: JSON nests deeper than 256 levels (at byte 256)"));
}

// --- YAML ---

TEST(HostileInput, YamlAliasBombRepeatingOneRow) {
  // One 1000-slot row named by 50,000 layers through an alias: 5 x 10^7 slots from a 0.6 MB file.
  std::string text = "initial_global_assignments:\n  0: &row [";
  for (int s = 0; s < 1000; ++s) text.append(s ? "," : "").append(std::to_string(s % 8));
  text += "]\n";
  for (int l = 1; l < 50000; ++l) text.append("  ").append(std::to_string(l)).append(": *row\n");
  text += "num_slots: 1000\n";
  ScratchDir scratch;
  const std::string path = scratch.write("bomb.yaml", text);
  PlacementReadOptions options;
  options.num_ranks = 8;
  EXPECT_THAT(error_of([&] { read_placement(path, options); }),
              HasSubstr("(YAML aliases repeating rows?)"));
}

TEST(HostileInput, YamlSharedRowThroughAnAliasStillReads) {
  // PyYAML writes an anchor when two layers hold the same list object: a small file is fine.
  ScratchDir scratch;
  const std::string path = scratch.write(
      "shared.yaml",
      "initial_global_assignments:\n  3: &id001 [0, 1, 2, 3]\n  4: *id001\nnum_slots: 4\n");
  PlacementReadOptions options;
  options.num_ranks = 2;
  const Placement p = read_placement(path, options);
  EXPECT_EQ(p.num_layers, 2);
  EXPECT_EQ(p.phy2log, (std::vector<int32_t>{0, 1, 2, 3, 0, 1, 2, 3}));
}

TEST(HostileInput, YamlNestingAMillionDeep) {
  ScratchDir scratch;
  PlacementReadOptions options;
  options.num_ranks = 1;
  const std::string flow = scratch.write(
      "flow.yaml", "initial_global_assignments:\n  0: " + deep_json_array(kDeep) + "\n");
  EXPECT_THAT(error_of([&] { read_placement(flow, options); }),
              HasSubstr("flow.yaml: invalid YAML"));
  const std::string block = scratch.write(
      "block.yaml", "initial_global_assignments:\n  0: " + repeat("- ", kDeep) + "0\n");
  EXPECT_THAT(error_of([&] { read_placement(block, options); }),
              HasSubstr("block.yaml: invalid YAML"));
}

// --- CSV and SGLang: a first row that sizes everything ---

TEST(HostileInput, CsvHeaderOfAMillionColumnsOverAMillionShortRows) {
  // rows x columns = 10^12 loads claimed by a 4 MB file; refused at the first short row.
  ScratchDir scratch;
  const std::string path =
      scratch.write("wide.csv", "layer" + repeat(",e", 1000000) + "\n" + repeat("0\n", 1000000));
  EXPECT_THAT(error_of([&] { read_loads(path); }),
              HasSubstr("wide.csv:2: 1 columns, expected 1000001 as on line 1"));
}

TEST(HostileInput, SglangFirstRowOfAMillionExpertsOverAMillionEmptyRows) {
  ScratchDir scratch;
  const std::string path =
      scratch.write("wide.json", "{\"logical_count\": [[" + repeat("0,", 999999) + "0]" +
                                     repeat(",[]", 999999) + "]}");
  EXPECT_THAT(error_of([&] { read_loads(path); }),
              HasSubstr("wide.json: logical_count[1]: 0 values, expected 1000000"));
  const std::string steps =
      scratch.write("wide3d.json", "{\"logical_count\": [[[" + repeat("0,", 999999) + "0]" +
                                       repeat(",[]", 999999) + "]]}");
  EXPECT_THAT(error_of([&] { read_loads(steps); }),
              HasSubstr("wide3d.json: logical_count[0][1]: 0 values, expected 1000000"));
}

// --- what the fuzzers found ---

// fuzz/fuzz_ascend_json, oom-83dbd095 (2.2 GB RSS): one expert id of 888888881 in a 6-slot map
// makes num_experts 888888882 (max id + 1), and check_placement listed "expert e has no
// replica" for each of them, 10^9 strings. Now the num_slots problem stands for them.
TEST(FuzzRegression, AscendExpertIdNearOneBillionListsEveryMissingExpert) {
  ScratchDir scratch;
  const std::string path = scratch.write(
      "oom.json",
      R"({"moe_layer_count": 1, "layer_list": [{"layer_id": 0, "device_count": 2, "device_list": [
          {"device_id": 0, "device_expert": [3, 888888881, 0]},
          {"device_id": 1, "device_expert": [2, 3, 1]}]}]})");
  EXPECT_THAT(error_of([&] { read_placement(path); }),
              HasSubstr("oom.json: num_slots: 6 slots cannot hold 888888882 experts"));
  EXPECT_LE(check_placement(parse_placement_file(path)).size(), 2u);
}

// fuzz/fuzz_trtllm_yaml, oom-b68e29cc (2.1 GB RSS): the same through TensorRT-LLM's YAML.
TEST(FuzzRegression, TrtllmYamlExpertIdOfThirtyMillionListsEveryMissingExpert) {
  ScratchDir scratch;
  const std::string path = scratch.write(
      "oom.yaml", "initial_global_assignments:\n  3: [2, 0, 3, 30000216, 4,1]\nnum_slots: 6\n");
  PlacementReadOptions options;
  options.num_ranks = 2;
  EXPECT_THAT(error_of([&] { read_placement(path, options); }),
              HasSubstr("oom.yaml: num_slots: 6 slots cannot hold 30000217 experts"));
  EXPECT_LE(check_placement(parse_placement_file(path, options)).size(), 2u);
}

// The same through eplb JSON, where num_experts is written out, with routing weights (summed
// per expert, which sized a num_experts vector per layer: 16 GB).
TEST(FuzzRegression, EplbJsonHugeNumExpertsWithRoutingWeights) {
  ScratchDir scratch;
  const std::string path = scratch.write(
      "huge.json", R"({"format": "eplb.placement.v1", "num_layers": 1, "num_experts": 2147483647,
        "num_ranks": 1, "num_slots": 2, "layer_ids": [0], "phy2log": [[0, 1]],
        "routing_weight": [[1.0, 1.0]]})");
  EXPECT_THAT(error_of([&] { read_placement(path); }),
              HasSubstr("huge.json: num_slots: 2 slots cannot hold 2147483647 experts"));
  EXPECT_EQ(check_placement(parse_placement_file(path)).size(), 1u);
}

}  // namespace
}  // namespace eplb
