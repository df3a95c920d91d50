// TensorRT-LLM statistics directories. Toy world (tests/data/loads/make_samples.py):
//   trtllm_stats/  meta num_experts 8; rank0 (I64) and rank1 (I32); keys "{iter}_{layer}" for
//                  iterations 100..103, layers 3, 4, 5; value (iter - 99) * (e + 1) + rank * layer,
//                  so both ranks and all iterations give 2 * 10 * (e + 1) + 4 * layer
//   trtllm_slots/  per-slot (EPLB on): meta num_experts 10 = 2 ranks x 5 slots, one rank,
//                  iteration 0, layers 3 and 4; slot s counts s + 1 (layer 4: 2 * (s + 1))
//   trtllm_bad_count/  trtllm_stats/ with rank1's "101_4" holding 9 values
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "eplb/load_reader.h"
#include "eplb/placement.h"
#include "load_test_util.h"

namespace eplb {
namespace {

using load_test::error_of;
using load_test::window;
using load_test::loads_fixture;
using load_test::make_i64_safetensors;
using load_test::row;
using load_test::ScratchDir;
using load_test::slurp;
using ::testing::HasSubstr;

// iter_weight * (e + 1) + layer_weight for each of the 8 experts.
std::vector<double> expected_row(int iter_weight, int layer_weight) {
  std::vector<double> r;
  for (int e = 0; e < 8; ++e) r.push_back(iter_weight * (e + 1) + layer_weight);
  return r;
}

// 2 layers (ids 3, 4) x 8 experts on 2 ranks x 5 slots.
Placement slot_placement(std::vector<int> layer_ids = {3, 4}) {
  Placement p;
  p.num_layers = 2;
  p.num_experts = 8;
  p.num_ranks = 2;
  p.num_slots = 10;
  p.layer_ids = std::move(layer_ids);
  p.phy2log = {0, 1, 2, 3, 4, 5, 6, 7, 0, 1,   // layer 3: experts 0 and 1 twice
               7, 6, 5, 4, 3, 2, 1, 0, 7, 7};  // layer 4: expert 7 three times
  return p;
}

TEST(TrtllmStats, SumsRanksAndIterationsRowsByLayerId) {
  const LoadMatrix m = read_loads(loads_fixture("trtllm_stats"));
  EXPECT_EQ(m.num_layers, 3);
  EXPECT_EQ(m.num_experts, 8);
  EXPECT_EQ(m.layer_ids, (std::vector<int>{3, 4, 5}));
  EXPECT_EQ(row(m, 0), expected_row(2 * 10, 4 * 3));
  EXPECT_EQ(row(m, 2), expected_row(2 * 10, 4 * 5));
}

TEST(TrtllmStats, WindowCountsIterationNumbers) {
  // iterations 101, 102: 2 ranks * (2 + 3) * (e + 1) + 2 iterations * layer (rank 1)
  EXPECT_EQ(row(read_loads(loads_fixture("trtllm_stats"), window(101, 103)), 1),
            expected_row(2 * 5, 2 * 4));
  // "103:" = iteration 103 only
  EXPECT_EQ(row(read_loads(loads_fixture("trtllm_stats"), window(103, std::nullopt)), 0),
            expected_row(2 * 4, 3));
}

TEST(TrtllmStats, WindowOutsideTheDumpedIterationsNamesWindow) {
  const std::string dir = loads_fixture("trtllm_stats");
  EXPECT_EQ(
      error_of([&] { read_loads(dir, window(0, 102)); }),
      "--window 0:102: " + dir + " holds iterations 100:104 (the window counts iteration numbers)");
  EXPECT_EQ(error_of([&] { read_loads(dir, window(101, 105)); }),
            "--window 101:105: " + dir +
                " holds iterations 100:104 (the window counts iteration numbers)");
}

TEST(TrtllmStats, LayersPickRowsKeepingIds) {
  LoadReadOptions options;
  options.layers = IndexRange{1, std::nullopt};
  const LoadMatrix m = read_loads(loads_fixture("trtllm_stats"), options);
  EXPECT_EQ(m.layer_ids, (std::vector<int>{4, 5}));
  EXPECT_EQ(row(m, 0), expected_row(2 * 10, 4 * 4));
}

TEST(TrtllmStats, MismatchedTensorSizeNamesRankFileAndKey) {
  const std::string dir = loads_fixture("trtllm_bad_count");
  EXPECT_EQ(error_of([&] { read_loads(dir); }),
            dir +
                "/rank1.safetensors: tensor \"101_4\": 9 values, expected 8 (meta_info.json "
                "num_experts)");
}

TEST(TrtllmStats, PerSlotCountsMapThroughThePlacement) {
  const Placement placement = slot_placement();
  LoadReadOptions options;
  options.placement = &placement;
  const LoadMatrix m = read_loads(loads_fixture("trtllm_slots"), options);
  EXPECT_EQ(m.num_experts, 8);
  EXPECT_EQ(m.layer_ids, (std::vector<int>{3, 4}));
  // layer 3: slot s counts s + 1; expert 0 = slots 0, 8; expert 1 = slots 1, 9
  EXPECT_EQ(row(m, 0), (std::vector<double>{1 + 9, 2 + 10, 3, 4, 5, 6, 7, 8}));
  // layer 4: slot s counts 2 (s + 1); expert 7 = slots 0, 8, 9
  EXPECT_EQ(row(m, 1), (std::vector<double>{16, 14, 12, 10, 8, 6, 4, 2 + 18 + 20}));
}

TEST(TrtllmStats, PerSlotLayerMissingFromThePlacement) {
  const Placement placement = slot_placement({3, 7});
  LoadReadOptions options;
  options.placement = &placement;
  const std::string dir = loads_fixture("trtllm_slots");
  EXPECT_EQ(error_of([&] { read_loads(dir, options); }),
            dir + ": layer 4: per-slot statistics, but the placement has no layer 4");
}

TEST(TrtllmStats, PerExpertCountsIgnoreAPlacementWithMoreSlots) {
  const Placement placement = slot_placement();  // 8 experts, 10 slots; the stats have 8
  LoadReadOptions options;
  options.placement = &placement;
  EXPECT_EQ(row(read_loads(loads_fixture("trtllm_stats"), options), 0),
            expected_row(2 * 10, 4 * 3));
}

TEST(TrtllmStats, CountsMatchingNeitherExpertsNorSlots) {
  Placement placement = Placement::contiguous(2, 6, 2, 12, {3, 4});
  LoadReadOptions options;
  options.placement = &placement;
  const std::string dir = loads_fixture("trtllm_slots");
  EXPECT_EQ(error_of([&] { read_loads(dir, options); }),
            dir +
                "/meta_info.json: num_experts 10 matches neither the placement's 6 experts nor "
                "its 12 slots");
}

TEST(TrtllmStats, MetaInfoProblems) {
  ScratchDir dir;
  dir.write("s/rank0.safetensors", make_i64_safetensors({{"0_3", {1, 2}}}));
  EXPECT_THAT(error_of([&] { read_loads(dir.path("s")); }),
              HasSubstr(dir.path("s") + "/meta_info.json: cannot read: "));
  dir.write("s/meta_info.json", "{\"num_experts\": \"2\"}");
  EXPECT_EQ(error_of([&] { read_loads(dir.path("s")); }),
            dir.path("s") + "/meta_info.json: num_experts: \"2\" is not a positive integer");
  dir.write("s/meta_info.json", "{\"num_experts_per_token\": 2}");
  EXPECT_EQ(error_of([&] { read_loads(dir.path("s")); }),
            dir.path("s") + "/meta_info.json: missing num_experts");
  dir.write("s/meta_info.json", "{\"num_experts\": 2");
  EXPECT_THAT(error_of([&] { read_loads(dir.path("s")); }),
              HasSubstr(dir.path("s") + "/meta_info.json: invalid JSON: parse error"));
}

TEST(TrtllmStats, RankFileProblems) {
  ScratchDir dir;
  dir.write("s/meta_info.json", "{\"num_experts\": 2}");
  dir.write("s/rank0_raw.safetensors", "ignored");
  EXPECT_EQ(error_of([&] { read_loads(dir.path("s")); }),
            dir.path("s") + ": no rank{r}.safetensors files");
  dir.write("s/rank0.safetensors", make_i64_safetensors({{"0_3", {1, 2}}}));
  dir.write("s/rank2.safetensors", make_i64_safetensors({{"0_3", {1, 2}}}));
  EXPECT_EQ(error_of([&] { read_loads(dir.path("s")); }),
            dir.path("s") + ": rank1.safetensors is missing (found 2 rank files up to rank2)");
}

TEST(TrtllmStats, TensorProblemsNameFileAndKey) {
  ScratchDir dir;
  dir.write("s/meta_info.json", "{\"num_experts\": 2}");
  const std::string rank0 = dir.path("s/rank0.safetensors");
  auto error_with = [&](const std::string& bytes) {
    dir.write("s/rank0.safetensors", bytes);
    return error_of([&] { read_loads(dir.path("s")); });
  };
  EXPECT_EQ(error_with(make_i64_safetensors({{"0-3", {1, 2}}})),
            rank0 + ": tensor \"0-3\": key is not \"{iter}_{layer}\"");
  EXPECT_EQ(error_with(make_i64_safetensors({{"0_3", {1, -2}}})),
            rank0 + ": tensor \"0_3\"[1]: count -2 is not a finite non-negative number");
  EXPECT_EQ(error_with(make_i64_safetensors({{"0_3", {1, 2}}, {"0_4", {1, 2}}, {"1_3", {1, 2}}})),
            dir.path("s") + ": no rank file has tensor \"1_4\" (iterations 0..1, layers 3..4)");
  EXPECT_EQ(error_with(load_test::make_safetensors(
                {{"0_3", {{"dtype", "I64"}, {"shape", {1, 2}}, {"data_offsets", {0, 16}}}}},
                std::string(16, '\0'))),
            rank0 + ": tensor \"0_3\": shape [1, 2], expected [2] (meta_info.json num_experts)");
  EXPECT_EQ(error_with(load_test::make_safetensors(
                {{"0_3", {{"dtype", "BF16"}, {"shape", {2}}, {"data_offsets", {0, 4}}}}},
                std::string(4, '\0'))),
            rank0 + ": tensor \"0_3\": dtype BF16 is not supported for counts");
  const std::string whole = make_i64_safetensors({{"0_3", {1, 2}}});
  EXPECT_THAT(
      error_with(whole.substr(0, whole.size() - 3)),
      HasSubstr(rank0 + ": tensor \"0_3\": shape [2] of I64 is larger than the file's 13 data "
                        "bytes (truncated file?)"));
}

TEST(TrtllmStats, ReadsACopyOfTheFixtureWithTrailingSlash) {
  ScratchDir dir;
  std::filesystem::copy(loads_fixture("trtllm_stats"), dir.path("stats"));
  const LoadMatrix m = read_loads(dir.path("stats") + "/");
  EXPECT_EQ(m.layer_ids, (std::vector<int>{3, 4, 5}));
  EXPECT_EQ(slurp(dir.path("stats/meta_info.json")),
            slurp(loads_fixture("trtllm_stats/meta_info.json")));
}

}  // namespace
}  // namespace eplb
