// read_loads: format detection, dispatch, --layers, and the real shared workloads.
// Toy world: static_i8.npy [3 layers, 5 experts] int64, value 10 * layer + expert.
#include "eplb/load_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "load_test_util.h"

namespace eplb {
namespace {

using load_test::error_of;
using load_test::layers;
using load_test::loads_fixture;
using load_test::row;
using load_test::ScratchDir;
using ::testing::HasSubstr;

TEST(LoadReader, DetectsFormatFromPath) {
  EXPECT_EQ(detect_load_format(loads_fixture("trtllm_stats")), LoadFormat::kTrtllmStats);
  EXPECT_EQ(detect_load_format(loads_fixture("toy.csv")), LoadFormat::kCsv);
  EXPECT_EQ(detect_load_format("missing/LOADS.CSV"), LoadFormat::kCsv);
  EXPECT_EQ(detect_load_format(loads_fixture("static_i8.npy")), LoadFormat::kNpy);
  EXPECT_EQ(detect_load_format(loads_fixture("sglang_2d.json")), LoadFormat::kSglang);
}

TEST(LoadReader, UnknownOrMissingPaths) {
  ScratchDir dir;
  const std::string bin = dir.write("loads.bin", "x");
  EXPECT_EQ(error_of([&] { read_loads(bin); }),
            bin +
                ": cannot tell the load format (expected a TensorRT-LLM statistics directory, "
                ".csv, .npy or SGLang .json)");
  EXPECT_EQ(error_of([&] { read_loads(dir.path("nothing")); }),
            dir.path("nothing") + ": cannot read: No such file or directory");
  EXPECT_THAT(error_of([&] { read_loads(dir.path("nothing.npy")); }),
              HasSubstr(dir.path("nothing.npy") + ": cannot read: "));
}

TEST(LoadReader, LayersPickRowsKeepingIds) {
  const LoadMatrix m = read_loads(loads_fixture("static_i8.npy"), layers(1, 3));
  EXPECT_EQ(m.layer_ids, (std::vector<int>{1, 2}));
  EXPECT_EQ(row(m, 0), (std::vector<double>{10, 11, 12, 13, 14}));
  EXPECT_EQ(read_loads(loads_fixture("toy.csv"), layers(2, std::nullopt)).layer_ids,
            (std::vector<int>{5}));
}

TEST(LoadReader, LayersOutsideTheRowsNameLayers) {
  const std::string path = loads_fixture("static_i8.npy");
  EXPECT_EQ(error_of([&] { read_loads(path, layers(2, 9)); }),
            "--layers 2:9: outside the 3 layers (rows) of " + path);
  EXPECT_EQ(error_of([&] { read_loads(path, layers(3, std::nullopt)); }),
            "--layers 3:: outside the 3 layers (rows) of " + path);
}

// The workloads in /work/shared/workloads (or $EPLB_WORKLOADS_DIR) are not in the repository.
std::string workloads_dir() {
  const char* env = std::getenv("EPLB_WORKLOADS_DIR");
  const std::string dir = env != nullptr ? env : "/work/shared/workloads";
  return std::filesystem::is_directory(dir) ? dir : "";
}

TEST(LoadReader, SharedSyntheticWorkloads) {
  const std::string dir = workloads_dir();
  if (dir.empty()) GTEST_SKIP() << "no shared workloads (set EPLB_WORKLOADS_DIR)";
  const LoadMatrix v3 = read_loads(dir + "/synthetic/deepseek-v3-static-s101.npy");
  EXPECT_EQ(v3.num_layers, 58);
  EXPECT_EQ(v3.num_experts, 256);
  EXPECT_EQ(read_loads(dir + "/synthetic/mixtral-8x7b-static-s104.npy").num_experts, 8);
  LoadReadOptions options;
  options.window = IndexRange{0, 50};
  const LoadMatrix trace = read_loads(dir + "/synthetic/deepseek-v3-trace-s105.npy", options);
  EXPECT_EQ(trace.num_layers, 58);
  const LoadMatrix all = read_loads(dir + "/synthetic/qwen3-30b-trace-s106.npy");
  EXPECT_EQ(all.num_layers, 48);
  EXPECT_EQ(all.num_experts, 128);
  // Not our CSV layout (task,layer,e0.. columns): a clear error, not a special case.
  const std::string esft = dir + "/esft-v2-lite/per_layer_expert_counts.csv";
  EXPECT_EQ(error_of([&] { read_loads(esft); }), esft + ":2: column 1: \"intent\" is not a number");
}

}  // namespace
}  // namespace eplb
