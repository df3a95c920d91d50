// libFuzzer target: the SGLang JSON load reader (src/io/sglang_loads.cc), without and with a
// --window.
#include "fuzz_util.h"
#include "io/load_formats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = eplb::fuzz::as_text(data, size);
  eplb::fuzz::expect_parse_or_error(
      [&] { eplb::parse_sglang_loads(text, "fuzz.json", std::nullopt).validate("fuzz.json"); });
  eplb::fuzz::expect_parse_or_error([&] {
    eplb::parse_sglang_loads(text, "fuzz.json", eplb::IndexRange{1, std::nullopt})
        .validate("fuzz.json");
  });
  return 0;
}
