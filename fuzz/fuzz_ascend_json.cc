// libFuzzer target: the ascend placement parser (src/io/ascend_json_format.cc), then
// check_placement on what it returns and, for a consistent placement, a write and re-read.
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
    eplb::Placement p = pf::parse_ascend_json(text, kPath, 0);
    if (p.num_ranks == 0) p.num_ranks = 1;
    if (!eplb::check_placement(p).empty()) return;
    const std::string written = eplb::format_placement(p, eplb::PlacementFormat::kAscend);
    (void)eplb::check_placement(pf::parse_ascend_json(written, kPath, 0));
  });
  return 0;
}
