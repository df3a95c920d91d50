// libFuzzer target: the CSV load reader (src/io/csv_loads.cc) on arbitrary bytes.
#include "fuzz_util.h"
#include "io/load_formats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  eplb::fuzz::expect_parse_or_error([&] {
    eplb::parse_csv_loads(eplb::fuzz::as_text(data, size), "fuzz.csv").validate("fuzz.csv");
  });
  return 0;
}
