// The safetensors parser. Toy world: trtllm_stats/rank0.safetensors (tests/data/loads/
// make_samples.py) holds 12 I64 tensors of shape [8], "{iter}_{layer}" for iterations 100..103
// and layers 3, 4, 5, value (iter - 99) * (expert + 1); other cases are written here.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "io/safetensors.h"
#include "load_test_util.h"

namespace eplb {
namespace {

using load_test::error_of;
using load_test::loads_fixture;
using load_test::make_i64_safetensors;
using load_test::make_safetensors;
using load_test::slurp;
using nlohmann::json;
using ::testing::HasSubstr;

TEST(Safetensors, ReadsTheTensorsTorchWrote) {
  const std::string bytes = slurp(loads_fixture("trtllm_stats/rank0.safetensors"));
  const auto tensors = parse_safetensors(bytes, "rank0.safetensors");
  ASSERT_EQ(tensors.size(), 12u);
  const SafetensorsTensor& t = tensors[4];  // sorted by name: 100_3 100_4 100_5 101_3 101_4
  EXPECT_EQ(t.name, "101_4");
  EXPECT_EQ(t.dtype, "I64");
  EXPECT_EQ(t.shape, (std::vector<int64_t>{8}));
  ASSERT_EQ(t.num_elements, 8u);
  EXPECT_EQ(t.at(0), 2);  // (101 - 99) * 1
  EXPECT_EQ(t.at(7), 16);
}

TEST(Safetensors, IgnoresMetadataAndKeepsUndecodedDtypes) {
  json header = {{"__metadata__", {{"format", "pt"}}},
                 {"w", {{"dtype", "BF16"}, {"shape", {2}}, {"data_offsets", {0, 4}}}}};
  const std::string bytes = make_safetensors(header, "abcd");
  const auto tensors = parse_safetensors(bytes, "f.safetensors");
  ASSERT_EQ(tensors.size(), 1u);
  EXPECT_EQ(tensors[0].dtype, "BF16");
  EXPECT_FALSE(tensors[0].type.has_value());
}

TEST(Safetensors, TruncatedFiles) {
  EXPECT_EQ(error_of([] { parse_safetensors("abc", "f.safetensors"); }),
            "f.safetensors: truncated: 3 bytes, a safetensors file starts with an 8-byte header "
            "length");
  const std::string whole = slurp(loads_fixture("trtllm_stats/rank0.safetensors"));
  EXPECT_THAT(error_of([&] { parse_safetensors(whole.substr(0, 50), "f.safetensors"); }),
              HasSubstr("f.safetensors: truncated: header length "));
  EXPECT_THAT(
      error_of([&] { parse_safetensors(whole.substr(0, whole.size() - 1), "f.safetensors"); }),
      HasSubstr("f.safetensors: tensor \"103_5\": data_offsets [704,768] outside the 767 "
                "data bytes (truncated file?)"));
}

TEST(Safetensors, HugeHeaderLengthIsCheckedAgainstTheFile) {
  std::string bytes(8, '\xff');
  bytes += "{}";
  EXPECT_EQ(
      error_of([&] { parse_safetensors(bytes, "f.safetensors"); }),
      "f.safetensors: truncated: header length 18446744073709551615 exceeds the 10-byte file");
}

TEST(Safetensors, BadHeadersNameTheTensorAndField) {
  auto error_for = [](const json& header, const std::string& data) {
    const std::string bytes = make_safetensors(header, data);
    return error_of([&] { parse_safetensors(bytes, "f.safetensors"); });
  };
  EXPECT_THAT(
      error_of([] { parse_safetensors(make_safetensors(json::array(), ""), "f.safetensors"); }),
      HasSubstr("f.safetensors: header: expected a JSON object, got array"));
  std::string not_json = make_safetensors(json::object(), "");
  not_json.replace(8, 2, "{x");
  EXPECT_THAT(error_of([&] { parse_safetensors(not_json, "f.safetensors"); }),
              HasSubstr("f.safetensors: header: invalid JSON: parse error"));
  EXPECT_EQ(error_for({{"t", {{"dtype", "Q7"}, {"shape", {1}}, {"data_offsets", {0, 1}}}}}, "a"),
            "f.safetensors: tensor \"t\": dtype: unknown dtype \"Q7\"");
  EXPECT_EQ(
      error_for({{"t", {{"dtype", "I64"}, {"shape", {2}}, {"data_offsets", {0, 8}}}}},
                std::string(16, '\0')),
      "f.safetensors: tensor \"t\": data_offsets [0,8] hold 8 bytes, shape [2] of I64 needs 16");
  EXPECT_EQ(error_for({{"t", {{"dtype", "I64"}, {"shape", {-1}}, {"data_offsets", {0, 8}}}}},
                      std::string(8, '\0')),
            "f.safetensors: tensor \"t\": shape: -1 is not a size");
  EXPECT_EQ(error_for({{"t", {{"dtype", "I64"}, {"shape", {1}}}}}, std::string(8, '\0')),
            "f.safetensors: tensor \"t\": data_offsets: expected [begin, end]");
  EXPECT_EQ(error_for({{"t", 5}}, ""),
            "f.safetensors: tensor \"t\": expected an object with dtype, shape and data_offsets, "
            "got number");
  EXPECT_EQ(error_for({{"t",
                        {{"dtype", "U8"},
                         {"shape", {4000000000000LL, 4000000000000LL}},
                         {"data_offsets", {0, 1}}}}},
                      "a"),
            "f.safetensors: tensor \"t\": shape [4000000000000,4000000000000] of U8 is larger than "
            "the file's 1 data bytes (truncated file?)");
}

TEST(Safetensors, MakeI64HelperRoundTrips) {
  const std::string bytes = make_i64_safetensors({{"0_3", {1, 2, 3}}});
  const auto tensors = parse_safetensors(bytes, "f.safetensors");
  ASSERT_EQ(tensors.size(), 1u);
  EXPECT_EQ(tensors[0].at(2), 3);
}

// Every prefix and every single-byte corruption of a real file either parses or throws
// eplb::Error: never a crash or an out-of-bounds read (run under the asan preset).
TEST(Safetensors, PrefixesAndCorruptionsFailCleanly) {
  const std::string whole = slurp(loads_fixture("trtllm_stats/rank1.safetensors"));
  for (size_t n = 0; n < whole.size(); ++n) {
    EXPECT_THROW(parse_safetensors(std::string_view(whole).substr(0, n), "f"), Error) << n;
  }
  for (size_t i = 0; i < whole.size(); ++i) {
    std::string bytes = whole;
    bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
    try {
      for (const SafetensorsTensor& t : parse_safetensors(bytes, "f")) {
        for (size_t k = 0; t.type && k < t.num_elements; ++k) (void)t.at(k);
      }
    } catch (const Error&) {
    }
  }
}

}  // namespace
}  // namespace eplb
