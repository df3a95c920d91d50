#include <charconv>
#include <string>

#include "eplb/error.h"
#include "eplb/load_reader.h"

namespace eplb {
namespace {

// One side of "A:B": an optional non-negative integer.
std::optional<int64_t> parse_bound(const std::string& text, const std::string& whole,
                                   const std::string& flag) {
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
    throw Error(flag + " " + whole + ": expected A:B with non-negative integers A < B");
  }
  return value;
}

}  // namespace

IndexRange parse_index_range(const std::string& text, const std::string& flag) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos || text.find(':', colon + 1) != std::string::npos) {
    throw Error(flag + " " + text + ": expected A:B (half-open range, e.g. 0:10)");
  }
  IndexRange range;
  range.begin = parse_bound(text.substr(0, colon), text, flag).value_or(0);
  range.end = parse_bound(text.substr(colon + 1), text, flag);
  if (range.end && *range.end <= range.begin) {
    throw Error(flag + " " + text + ": empty range (B must be greater than A)");
  }
  return range;
}

}  // namespace eplb
