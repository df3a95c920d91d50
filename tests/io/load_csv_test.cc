// CSV loads. Toy world: toy.csv = header "layer,e0..e3", layers 3, 4 (all zero), 5:
//   3: 120 80 0 7 | 4: 0 0 0 0 | 5: 95 101 3 9     plain.csv = no header, [[1,2,3,4],[5,6,7,8.5]]
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "eplb/load_reader.h"
#include "load_test_util.h"

namespace eplb {
namespace {

using load_test::error_of;
using load_test::loads_fixture;
using load_test::row;
using load_test::ScratchDir;

TEST(CsvLoads, HeaderWithLayerColumnGivesLayerIds) {
  const LoadMatrix m = read_loads(loads_fixture("toy.csv"));
  EXPECT_EQ(m.num_layers, 3);
  EXPECT_EQ(m.num_experts, 4);
  EXPECT_EQ(m.layer_ids, (std::vector<int>{3, 4, 5}));
  EXPECT_EQ(row(m, 0), (std::vector<double>{120, 80, 0, 7}));
  EXPECT_EQ(row(m, 2), (std::vector<double>{95, 101, 3, 9}));
  EXPECT_FALSE(m.has_data(1));  // an all-zero layer is "no data", not an error
}

TEST(CsvLoads, NoHeaderGivesIdsFromZero) {
  const LoadMatrix m = read_loads(loads_fixture("plain.csv"));
  EXPECT_EQ(m.layer_ids, (std::vector<int>{0, 1}));
  EXPECT_EQ(row(m, 1), (std::vector<double>{5, 6, 7, 8.5}));
}

TEST(CsvLoads, HeaderWithoutLayerColumnIsAllExperts) {
  ScratchDir dir;
  const LoadMatrix m = read_loads(dir.write("l.csv", "e0,e1,e2\n1,2,3\n4,5,6\n"));
  EXPECT_EQ(m.num_experts, 3);
  EXPECT_EQ(m.layer_ids, (std::vector<int>{0, 1}));
}

TEST(CsvLoads, AcceptsLayerIdColumnCrlfBomAndTrailingBlankLines) {
  ScratchDir dir;
  const LoadMatrix m = read_loads(
      dir.write("l.csv", "\xEF\xBB\xBF\"Layer_ID\", a, b\r\n7, 1, 2\r\n9, 3, 4\r\n\r\n\n"));
  EXPECT_EQ(m.layer_ids, (std::vector<int>{7, 9}));
  EXPECT_EQ(row(m, 1), (std::vector<double>{3, 4}));
}

TEST(CsvLoads, UnnamedFirstColumnIsPandasIndexOfLayerIds) {
  ScratchDir dir;
  const LoadMatrix m = read_loads(dir.write("l.csv", ",e0,e1\n0,1,2\n1,3,4\n"));
  EXPECT_EQ(m.num_experts, 2);
  EXPECT_EQ(m.layer_ids, (std::vector<int>{0, 1}));
}

TEST(CsvLoads, NotANumberNamesLineAndColumn) {
  ScratchDir dir;
  const std::string path = dir.write("l.csv", "layer,e0,e1\n3,1,2\n4,abc,5\n");
  EXPECT_EQ(error_of([&] { read_loads(path); }), path + ":3: column 2: \"abc\" is not a number");
}

TEST(CsvLoads, EmptyFieldIsNotANumber) {
  ScratchDir dir;
  const std::string path = dir.write("l.csv", "1,,3\n");
  EXPECT_EQ(error_of([&] { read_loads(path); }), path + ":1: column 2: \"\" is not a number");
}

TEST(CsvLoads, RaggedRowNamesLine) {
  ScratchDir dir;
  const std::string path = dir.write("l.csv", "1,2,3\n4,5\n");
  EXPECT_EQ(error_of([&] { read_loads(path); }), path + ":2: 2 columns, expected 3 as on line 1");
}

TEST(CsvLoads, NegativeValueNamesLineAndColumn) {
  ScratchDir dir;
  const std::string path = dir.write("l.csv", "1,2,3\n4,-2,6\n");
  EXPECT_EQ(error_of([&] { read_loads(path); }), path + ":2: column 2: -2 is negative");
}

TEST(CsvLoads, NanAndInfAreRejected) {
  ScratchDir dir;
  const std::string nan = dir.write("nan.csv", "1,nan,3\n");
  EXPECT_EQ(error_of([&] { read_loads(nan); }),
            nan + ":1: column 2: \"nan\" is not a finite number");
  const std::string inf = dir.write("inf.csv", "1,2,inf\n");
  EXPECT_EQ(error_of([&] { read_loads(inf); }),
            inf + ":1: column 3: \"inf\" is not a finite number");
}

TEST(CsvLoads, BlankLineBetweenRowsIsAnError) {
  ScratchDir dir;
  const std::string path = dir.write("l.csv", "1,2\n\n3,4\n");
  EXPECT_EQ(error_of([&] { read_loads(path); }), path + ":2: blank line between rows of loads");
}

TEST(CsvLoads, BadAndRepeatedLayerIds) {
  ScratchDir dir;
  const std::string bad = dir.write("bad.csv", "layer,e0\n3,1\nx,2\n");
  EXPECT_EQ(error_of([&] { read_loads(bad); }),
            bad + ":3: column 1: layer id \"x\" is not a non-negative integer");
  const std::string twice = dir.write("twice.csv", "layer,e0\n3,1\n3,2\n");
  EXPECT_EQ(error_of([&] { read_loads(twice); }),
            twice + ":3: column 1: layer id 3 repeats line 2");
}

TEST(CsvLoads, EmptyFileAndHeaderOnly) {
  ScratchDir dir;
  const std::string empty = dir.write("empty.csv", "\n\n");
  EXPECT_EQ(error_of([&] { read_loads(empty); }),
            empty + ": empty file (expected one row of loads per layer)");
  const std::string header = dir.write("header.csv", "layer,e0,e1\n");
  EXPECT_EQ(error_of([&] { read_loads(header); }), header + ": no rows of loads after the header");
  const std::string no_experts = dir.write("no_experts.csv", "layer\n1\n");
  EXPECT_EQ(error_of([&] { read_loads(no_experts); }), no_experts + ":1: no expert columns");
}

TEST(CsvLoads, WindowIsRejected) {
  LoadReadOptions options;
  options.window = IndexRange{0, 2};
  const std::string path = loads_fixture("toy.csv");
  EXPECT_EQ(error_of([&] { read_loads(path, options); }),
            "--window 0:2: " + path + " has no steps to sum (a CSV holds one row per layer)");
}

}  // namespace
}  // namespace eplb
