// read_trace's other inputs: a TensorRT-LLM statistics directory (one step per iteration) and
// sequences of SGLang dumps (a directory or a glob, name order, one step per dump), checked
// against the load readers they reuse.
#include <gtest/gtest.h>

#include "eplb/load_reader.h"
#include "eplb/sim/trace.h"
#include "support/test_support.h"

namespace eplb::sim {
namespace {

using eplb::testing::error_of;
using eplb::testing::ScratchDir;
using eplb::testing::test_data;

std::vector<double> step_layer(const LoadTrace& t, int step, int layer) {
  const auto row = t.at(step, layer);
  return {row.begin(), row.end()};
}

// tests/data/loads/trtllm_stats: iterations 100..103, layers 3, 4, 5, 8 experts, 2 ranks.
TEST(TraceInput, TrtllmStatisticsOneStepPerIteration) {
  const std::string dir = test_data("loads/trtllm_stats");
  const LoadTrace t = read_trace(dir);
  EXPECT_EQ(t.num_steps, 4);
  EXPECT_EQ(t.num_layers, 3);
  EXPECT_EQ(t.num_experts, 8);
  EXPECT_EQ(t.layer_ids, (std::vector<int>{3, 4, 5}));
  for (int step = 0; step < 4; ++step) {
    LoadReadOptions one;
    one.window = IndexRange{100 + step, 101 + step};
    const LoadMatrix m = read_loads(dir, one);
    for (int l = 0; l < 3; ++l) {
      const auto expected = m.layer(l);
      EXPECT_EQ(step_layer(t, step, l), std::vector<double>(expected.begin(), expected.end()))
          << "step " << step << " layer " << l;
    }
  }
  // Summed over the steps it is the reader's whole-directory matrix.
  const LoadMatrix all = read_loads(dir);
  EXPECT_EQ(t.window_sum(0, 4).values, all.values);
}

TEST(TraceInput, SglangDirectoryInNameOrderIgnoringOtherFiles) {
  ScratchDir dir;
  dir.write("dumps/b.json", R"({"logical_count": [[4, 5, 6], [0, 0, 0]]})");
  dir.write("dumps/a.json", R"({"logical_count": [[1, 2, 3], [7, 8, 9]]})");
  // 3-D: two buffered passes, summed into one step.
  dir.write("dumps/c.json",
            R"({"logical_count": [[[1, 1, 1], [2, 2, 2]], [[3, 3, 3], [4, 4, 4]]]})");
  dir.write("dumps/notes.txt", "not a dump");
  const LoadTrace t = read_trace(dir.path("dumps"));
  ASSERT_EQ(t.num_steps, 3);
  EXPECT_EQ(t.num_layers, 2);
  EXPECT_EQ(t.num_experts, 3);
  EXPECT_EQ(step_layer(t, 0, 0), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(step_layer(t, 0, 1), (std::vector<double>{7, 8, 9}));
  EXPECT_EQ(step_layer(t, 1, 0), (std::vector<double>{4, 5, 6}));
  EXPECT_EQ(step_layer(t, 2, 0), (std::vector<double>{4, 4, 4}));
  EXPECT_EQ(step_layer(t, 2, 1), (std::vector<double>{6, 6, 6}));
}

TEST(TraceInput, SglangGlobPicksMatchingFilesOnly) {
  ScratchDir dir;
  dir.write("d/dump_2.json", R"({"logical_count": [[0, 2]]})");
  dir.write("d/dump_1.json", R"({"logical_count": [[0, 1]]})");
  dir.write("d/other_3.json", R"({"logical_count": [[0, 3]]})");
  const LoadTrace t = read_trace(dir.path("d/dump_*.json"));
  ASSERT_EQ(t.num_steps, 2);
  EXPECT_EQ(step_layer(t, 0, 0), (std::vector<double>{0, 1}));
  EXPECT_EQ(step_layer(t, 1, 0), (std::vector<double>{0, 2}));
}

TEST(TraceInput, ErrorsNameTheFileOrPattern) {
  ScratchDir dir;
  dir.write("d/a.json", R"({"logical_count": [[1, 2, 3]]})");
  dir.write("d/b.json", R"({"logical_count": [[1, 2]]})");
  EXPECT_EQ(
      error_of([&] { read_trace(dir.path("d")); }),
      dir.path("d/b.json") + ": 1 layers x 2 experts, but " + dir.path("d/a.json") + " has 1 x 3");
  EXPECT_EQ(error_of([&] { read_trace(dir.path("d/x_*.json")); }),
            dir.path("d/x_*.json") + ": no file matches x_*.json");
  EXPECT_EQ(error_of([&] { read_trace(dir.path("d*/*.json")); }),
            dir.path("d*/*.json") + ": wildcards are allowed in the last path component only");
  dir.write("e/x.txt", "");
  EXPECT_EQ(error_of([&] { read_trace(dir.path("e")); }),
            dir.path("e") + ": no file matches *.json");
  dir.write("f/a.json", R"({"logical_count": [[1, -2]]})");
  EXPECT_NE(error_of([&] { read_trace(dir.path("f")); }).find(dir.path("f/a.json")),
            std::string::npos);
}

// tests/data/loads/trtllm_slots: per-slot counts (EPLB active), 2 ranks x 5 slots, iteration
// 0, layers 3 and 4; slot s counts s + 1 (layer 4: 2 (s + 1)). Mapped through the placement
// deployed while they were dumped, as the load reader does.
TEST(TraceInput, PerSlotTrtllmStatisticsMapThroughThePlacement) {
  Placement p;
  p.num_layers = 2;
  p.num_experts = 8;
  p.num_ranks = 2;
  p.num_slots = 10;
  p.layer_ids = {3, 4};
  p.phy2log = {0, 1, 2, 3, 4, 5, 6, 7, 0, 1,   // layer 3: experts 0 and 1 twice
               7, 6, 5, 4, 3, 2, 1, 0, 7, 7};  // layer 4: expert 7 three times
  const LoadTrace t = read_trace(test_data("loads/trtllm_slots"), &p);
  EXPECT_EQ(t.num_steps, 1);
  EXPECT_EQ(t.num_experts, 8);
  EXPECT_EQ(step_layer(t, 0, 0), (std::vector<double>{1 + 9, 2 + 10, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(step_layer(t, 0, 1), (std::vector<double>{16, 14, 12, 10, 8, 6, 4, 2 + 18 + 20}));
  // Without the placement the 10 slot counts are taken as 10 experts.
  EXPECT_EQ(read_trace(test_data("loads/trtllm_slots")).num_experts, 10);
}

}  // namespace
}  // namespace eplb::sim
