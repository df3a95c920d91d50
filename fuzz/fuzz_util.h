// Shared by the libFuzzer targets: each feeds its input to one parser and calls it a pass when
// the parser returns or throws eplb::Error. Anything else (another exception, a sanitizer
// report, a crash, an allocation past -rss_limit_mb) is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "eplb/error.h"

namespace eplb::fuzz {

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs `parse`; eplb::Error is the expected answer to bad input, so it is swallowed.
template <typename Parse>
void expect_parse_or_error(Parse parse) {
  try {
    parse();
  } catch (const eplb::Error&) {
  }
}

}  // namespace eplb::fuzz
