// libFuzzer target: the safetensors reader (src/io/safetensors.cc); every decodable element of
// every tensor is read back, so a view past the data would show under ASan.
#include "fuzz_util.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  eplb::fuzz::expect_parse_or_error([&] {
    double sum = 0;
    for (const auto& t : eplb::parse_safetensors(eplb::fuzz::as_text(data, size), "fuzz")) {
      if (!t.type) continue;
      for (size_t i = 0; i < t.num_elements; ++i) sum += t.at(i);
    }
    (void)sum;
  });
  return 0;
}
