// SGLang expert-distribution dumps as JSON. Toy world (tests/data/loads/make_samples.py):
//   sglang_2d.json  logical_count [4 layers][6 experts]; layer 0 all zero (dense), else
//                   value 10 * layer + expert
//   sglang_3d.json  the dumped dict: rank, logical_count [3 steps][2 layers][4 experts] with
//                   value 100 * step + 10 * layer + expert, average_utilization_rate_over_window
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "eplb/load_reader.h"
#include "load_test_util.h"

namespace eplb {
namespace {

using load_test::error_of;
using load_test::window;
using load_test::loads_fixture;
using load_test::row;
using load_test::ScratchDir;
using ::testing::HasSubstr;

TEST(SglangLoads, TwoDimensionalDump) {
  const LoadMatrix m = read_loads(loads_fixture("sglang_2d.json"));
  EXPECT_EQ(m.num_layers, 4);
  EXPECT_EQ(m.num_experts, 6);
  EXPECT_EQ(m.layer_ids, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_FALSE(m.has_data(0));  // a dense layer: no data, not an error
  EXPECT_EQ(row(m, 3), (std::vector<double>{30, 31, 32, 33, 34, 35}));
}

TEST(SglangLoads, ThreeDimensionalDumpSumsPasses) {
  const LoadMatrix m = read_loads(loads_fixture("sglang_3d.json"));
  EXPECT_EQ(m.num_layers, 2);
  EXPECT_EQ(m.num_experts, 4);
  // passes 0..2: 100 * 3 + 3 * (10 * layer + expert)
  EXPECT_EQ(row(m, 1), (std::vector<double>{330, 333, 336, 339}));
}

TEST(SglangLoads, WindowPicksPasses) {
  const LoadMatrix m = read_loads(loads_fixture("sglang_3d.json"), window(1, 2));
  EXPECT_EQ(row(m, 0), (std::vector<double>{100, 101, 102, 103}));
  const std::string path = loads_fixture("sglang_3d.json");
  EXPECT_EQ(error_of([&] { read_loads(path, window(1, 4)); }),
            "--window 1:4: outside the 3 steps of " + path + " (steps 0:3)");
}

TEST(SglangLoads, WindowOn2DNamesWindow) {
  const std::string path = loads_fixture("sglang_2d.json");
  EXPECT_EQ(
      error_of([&] { read_loads(path, window(0, 1)); }),
      "--window 0:1: " + path + " has no steps to sum (a 2-D logical_count [layers][experts])");
}

TEST(SglangLoads, InvalidJsonNamesFile) {
  ScratchDir dir;
  const std::string path = dir.write("d.json", "{\"logical_count\": [[1, 2]");
  EXPECT_THAT(error_of([&] { read_loads(path); }), HasSubstr(path + ": invalid JSON: parse error"));
}

TEST(SglangLoads, WrongShapesNameTheField) {
  ScratchDir dir;
  const std::string array = dir.write("array.json", "[[1, 2]]");
  EXPECT_EQ(error_of([&] { read_loads(array); }),
            array + ": expected an object {\"logical_count\": [[...]]}, got array");
  const std::string missing = dir.write("missing.json", "{\"counts\": [[1]]}");
  EXPECT_EQ(error_of([&] { read_loads(missing); }), missing + ": no \"logical_count\" key");
  const std::string placement = dir.write("p.json", "{\"physical_to_logical_map\": [[0]]}");
  EXPECT_EQ(error_of([&] { read_loads(placement); }),
            placement +
                ": no \"logical_count\" key (this holds a placement, physical_to_logical_map, not "
                "loads)");
  const std::string empty = dir.write("empty.json", "{\"logical_count\": []}");
  EXPECT_THAT(error_of([&] { read_loads(empty); }),
              HasSubstr(empty + ": logical_count: expected a non-empty"));
  const std::string ragged = dir.write("ragged.json", "{\"logical_count\": [[1, 2], [3]]}");
  EXPECT_EQ(error_of([&] { read_loads(ragged); }),
            ragged + ": logical_count[1]: 1 values, expected 2");
  const std::string layers =
      dir.write("layers.json", "{\"logical_count\": [[[1, 2]], [[1, 2], [3, 4]]]}");
  EXPECT_EQ(error_of([&] { read_loads(layers); }),
            layers + ": logical_count[1]: 2 layers, expected 1");
  const std::string text = dir.write("text.json", "{\"logical_count\": [[1, \"2\"]]}");
  EXPECT_EQ(error_of([&] { read_loads(text); }),
            text + ": logical_count[0][1]: expected a number, got string");
}

TEST(SglangLoads, NegativeCountNamesTheCell) {
  ScratchDir dir;
  const std::string path = dir.write("neg.json", "{\"logical_count\": [[[1, 2]], [[3, -1.5]]]}");
  EXPECT_EQ(error_of([&] { read_loads(path); }),
            path + ": logical_count[1][0][1]: load -1.5 is not a finite non-negative count");
}

}  // namespace
}  // namespace eplb
