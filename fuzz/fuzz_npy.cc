// libFuzzer target: the .npy reader and the npy load reader (src/io/npy.cc, npy_loads.cc),
// without and with a one-step --window.
#include "fuzz_util.h"
#include "io/load_formats.h"
#include "io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes = eplb::fuzz::as_text(data, size);
  eplb::fuzz::expect_parse_or_error([&] {
    const eplb::NpyArray array = eplb::parse_npy(bytes, "fuzz.npy");
    double sum = 0;
    for (size_t i = 0; i < array.num_elements; ++i) sum += array.at(i);
    (void)sum;
  });
  eplb::fuzz::expect_parse_or_error(
      [&] { eplb::parse_npy_loads(bytes, "fuzz.npy", std::nullopt).validate("fuzz.npy"); });
  eplb::fuzz::expect_parse_or_error([&] {
    eplb::parse_npy_loads(bytes, "fuzz.npy", eplb::IndexRange{1, 2}).validate("fuzz.npy");
  });
  return 0;
}
