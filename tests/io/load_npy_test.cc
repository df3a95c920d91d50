// numpy .npy loads and the .npy parser. Toy world (tests/data/loads/make_samples.py):
//   static_i8.npy [3 layers, 5 experts] int64, value 10 * layer + expert
//   trace_u4.npy  [4 steps, 3 layers, 5 experts] uint32, value 100 * step + 10 * layer + expert
//   dtype_<t>.npy [2, 3] = 0..5 in each supported dtype
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "eplb/load_reader.h"
#include "io/npy.h"
#include "load_test_util.h"

namespace eplb {
namespace {

using load_test::error_of;
using load_test::window;
using load_test::loads_fixture;
using load_test::row;
using load_test::ScratchDir;
using load_test::slurp;
using ::testing::HasSubstr;

// A version-1.0 .npy file with `header` (padded with spaces and '\n') followed by `data`.
std::string make_npy(const std::string& header, const std::string& data) {
  std::string text = header;
  while ((10 + text.size() + 1) % 64 != 0) text += ' ';
  text += '\n';
  std::string bytes = "\x93NUMPY\x01";
  bytes += '\0';
  bytes += static_cast<char>(text.size() & 0xff);
  bytes += static_cast<char>(text.size() >> 8);
  return bytes + text + data;
}

std::string int64_bytes(std::initializer_list<int64_t> values) {
  std::string bytes(values.size() * 8, '\0');
  size_t i = 0;
  for (int64_t v : values) std::memcpy(&bytes[8 * i++], &v, 8);
  return bytes;
}

TEST(NpyLoads, Static2DGivesLayerIdsFromZero) {
  const LoadMatrix m = read_loads(loads_fixture("static_i8.npy"));
  EXPECT_EQ(m.num_layers, 3);
  EXPECT_EQ(m.num_experts, 5);
  EXPECT_EQ(m.layer_ids, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(row(m, 2), (std::vector<double>{20, 21, 22, 23, 24}));
}

TEST(NpyLoads, FormatVersions2And3ReadLikeVersion1) {
  const LoadMatrix v1 = read_loads(loads_fixture("static_i8.npy"));
  EXPECT_EQ(read_loads(loads_fixture("v2.npy")).values, v1.values);
  EXPECT_EQ(read_loads(loads_fixture("v3.npy")).values, v1.values);
}

TEST(NpyLoads, EverySupportedDtype) {
  for (const char* name : {"u1", "i1", "i2", "u2", "i4", "u4", "i8", "u8", "f4", "f8"}) {
    SCOPED_TRACE(name);
    const LoadMatrix m = read_loads(loads_fixture(std::string("dtype_") + name + ".npy"));
    EXPECT_EQ(m.values, (std::vector<double>{0, 1, 2, 3, 4, 5}));
  }
}

TEST(NpyLoads, TraceSumsAllStepsByDefault) {
  const LoadMatrix m = read_loads(loads_fixture("trace_u4.npy"));
  EXPECT_EQ(m.num_layers, 3);
  // steps 0..3: 100 * (0+1+2+3) + 4 * (10 * layer + expert)
  EXPECT_EQ(row(m, 1), (std::vector<double>{640, 644, 648, 652, 656}));
}

TEST(NpyLoads, WindowSumsStepsAToBMinusOne) {
  // steps 1, 2: 100 * 3 + 2 * (10 * layer + expert)
  EXPECT_EQ(row(read_loads(loads_fixture("trace_u4.npy"), window(1, 3)), 0),
            (std::vector<double>{300, 302, 304, 306, 308}));
  // "3:" = step 3 only
  EXPECT_EQ(row(read_loads(loads_fixture("trace_u4.npy"), window(3, std::nullopt)), 2),
            (std::vector<double>{320, 321, 322, 323, 324}));
}

TEST(NpyLoads, WindowOutsideTheStepsNamesWindow) {
  const std::string path = loads_fixture("trace_u4.npy");
  EXPECT_EQ(error_of([&] { read_loads(path, window(2, 9)); }),
            "--window 2:9: outside the 4 steps of " + path + " (steps 0:4)");
  EXPECT_EQ(error_of([&] { read_loads(path, window(4, std::nullopt)); }),
            "--window 4:: outside the 4 steps of " + path + " (steps 0:4)");
}

TEST(NpyLoads, WindowOn2DNamesWindow) {
  const std::string path = loads_fixture("static_i8.npy");
  EXPECT_EQ(error_of([&] { read_loads(path, window(0, 1)); }),
            "--window 0:1: " + path + " has no steps to sum (a 2-D [layers, experts] array)");
}

TEST(NpyLoads, FortranOrderIsRefused) {
  const std::string path = loads_fixture("fortran.npy");
  EXPECT_EQ(error_of([&] { read_loads(path); }),
            path +
                ": fortran_order is True: Fortran-ordered arrays are not supported (save a "
                "C-ordered copy, np.ascontiguousarray)");
}

TEST(NpyLoads, UnsupportedDtypesNameDescr) {
  const std::string big = loads_fixture("big_endian.npy");
  EXPECT_EQ(error_of([&] { read_loads(big); }),
            big +
                ": descr: dtype '>i8' (big-endian) is not supported (expected |u1 |i1 <i2 <u2 "
                "<i4 <u4 <i8 <u8 <f4 <f8)");
  const std::string complex = loads_fixture("complex.npy");
  EXPECT_THAT(error_of([&] { read_loads(complex); }),
              HasSubstr(complex + ": descr: dtype '<c16' is not supported"));
}

TEST(NpyLoads, WrongRankNamesShape) {
  const std::string path = loads_fixture("one_d.npy");
  EXPECT_EQ(error_of([&] { read_loads(path); }),
            path + ": shape (5,): expected [layers, experts] or [steps, layers, experts]");
}

TEST(NpyLoads, NegativeAndNanNameTheElement) {
  const std::string negative = loads_fixture("negative.npy");
  EXPECT_EQ(error_of([&] { read_loads(negative); }),
            negative + ": element [1, 2]: load -4 is not a finite non-negative count");
  const std::string nan = loads_fixture("nan.npy");
  EXPECT_EQ(error_of([&] { read_loads(nan); }),
            nan + ": element [2, 1]: load nan is not a finite non-negative count");
}

TEST(NpyLoads, TruncatedDataAndHeader) {
  ScratchDir dir;
  const std::string whole = slurp(loads_fixture("static_i8.npy"));
  const std::string cut = dir.write("cut.npy", whole.substr(0, whole.size() - 8));
  EXPECT_EQ(error_of([&] { read_loads(cut); }),
            cut + ": truncated: shape (3, 5) of <i8 needs 120 data bytes, the file has 112");
  const std::string header = dir.write("header.npy", whole.substr(0, 20));
  EXPECT_EQ(error_of([&] { read_loads(header); }),
            header + ": truncated: header length 118 exceeds the 20-byte file");
  const std::string tiny = dir.write("tiny.npy", whole.substr(0, 7));
  EXPECT_EQ(error_of([&] { read_loads(tiny); }),
            tiny + ": not a .npy file (no \\x93NUMPY magic string)");
}

TEST(NpyLoads, TrailingBytesAreAnError) {
  ScratchDir dir;
  const std::string path = dir.write("extra.npy", slurp(loads_fixture("static_i8.npy")) + "xx");
  EXPECT_EQ(error_of([&] { read_loads(path); }),
            path + ": trailing bytes: shape (3, 5) of <i8 needs 120 data bytes, the file has 122");
}

TEST(NpyLoads, HugeShapeIsCheckedAgainstTheFileBeforeAllocating) {
  ScratchDir dir;
  const std::string path =
      dir.write("huge.npy", make_npy("{'descr': '<i8', 'fortran_order': False, 'shape': "
                                     "(4000000000, 4000000000, 4000000000), }",
                                     int64_bytes({1, 2})));
  EXPECT_EQ(error_of([&] { read_loads(path); }),
            path +
                ": truncated: shape (4000000000, 4000000000, 4000000000) is larger than the 16 "
                "data bytes in the file");
}

TEST(NpyParser, BadHeadersNameTheProblem) {
  ScratchDir dir;
  const std::string data = int64_bytes({1, 2});
  const std::string missing =
      dir.write("missing.npy", make_npy("{'descr': '<i8', 'fortran_order': False, }", data));
  EXPECT_THAT(error_of([&] { read_loads(missing); }),
              HasSubstr(missing + ": header: missing key 'shape'"));
  const std::string syntax = dir.write("syntax.npy", make_npy("{'descr' '<i8'}", data));
  EXPECT_THAT(error_of([&] { read_loads(syntax); }), HasSubstr(syntax + ": header: expected ':'"));
  const std::string extra = dir.write(
      "extra.npy",
      make_npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2), 'x': 1}", data));
  EXPECT_THAT(error_of([&] { read_loads(extra); }), HasSubstr("unexpected key 'x'"));
  const std::string shape = dir.write(
      "shape.npy", make_npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1, -2), }", data));
  EXPECT_THAT(error_of([&] { read_loads(shape); }),
              HasSubstr(shape + ": header: shape: expected a non-negative integer"));
  const std::string structured = dir.write(
      "structured.npy",
      make_npy("{'descr': [('a', '<i8')], 'fortran_order': False, 'shape': (2,), }", data));
  EXPECT_THAT(error_of([&] { read_loads(structured); }),
              HasSubstr("descr: structured dtypes are not supported"));
  std::string v9 = make_npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2), }", data);
  v9[6] = 9;
  const std::string version = dir.write("v9.npy", v9);
  EXPECT_EQ(error_of([&] { read_loads(version); }),
            version + ": .npy format version 9 is not supported (expected 1, 2 or 3)");
}

TEST(NpyParser, AcceptsPython2LongsAndDoubleQuotes) {
  const std::string bytes = make_npy(
      "{\"descr\": \"<i8\", \"fortran_order\": False, \"shape\": (1L, 2L)}", int64_bytes({7, 8}));
  const NpyArray array = parse_npy(bytes, "x.npy");
  EXPECT_EQ(array.shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(array.at(1), 8);
}

// Every prefix and every single-byte corruption of a real file either parses or throws
// eplb::Error: never a crash or an out-of-bounds read (run under the asan preset).
TEST(NpyParser, PrefixesAndCorruptionsFailCleanly) {
  for (const char* name : {"trace_u4.npy", "v2.npy", "v3.npy"}) {
    const std::string whole = slurp(loads_fixture(name));
    for (size_t n = 0; n < whole.size(); ++n) {
      EXPECT_THROW(parse_npy(std::string_view(whole).substr(0, n), name), Error) << n;
    }
    for (size_t i = 0; i < whole.size(); ++i) {
      std::string bytes = whole;
      bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
      try {
        const NpyArray array = parse_npy(bytes, name);
        for (size_t k = 0; k < array.num_elements; ++k) (void)array.at(k);
      } catch (const Error&) {
      }
    }
  }
}

}  // namespace
}  // namespace eplb
