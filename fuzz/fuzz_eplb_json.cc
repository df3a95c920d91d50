// libFuzzer target: the eplb placement parser (src/io/eplb_json_format.cc), then check_placement on
// what it returns and, for a consistent placement, a write and re-read.
#include <string>

#include "eplb/placement.h"
#include "eplb/placement_io.h"
#include "fuzz_util.h"
#include "io/placement_formats.h"

namespace pf = eplb::placement_formats;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string kPath = "fuzz.json";
  const std::string text(eplb::fuzz::as_text(data, size));
  eplb::fuzz::expect_parse_or_error([&] {
    eplb::Placement p = pf::parse_eplb_json(text, kPath);
    if (p.num_ranks == 0) p.num_ranks = 1;
    if (!eplb::check_placement(p).empty()) return;
    const std::string written = eplb::format_placement(p, eplb::PlacementFormat::kEplb);
    (void)eplb::check_placement(pf::parse_eplb_json(written, kPath));
  });
  return 0;
}
