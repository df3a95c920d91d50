// A guard run before nlohmann::json parses untrusted text: nlohmann builds the tree without
// recursion, but dump() and destruction-free walks of it recurse, so a file nesting brackets
// 10^6 deep would overflow the stack later. No eplb format nests deeper than 4.
#pragma once

#include <string>
#include <string_view>

namespace eplb {

constexpr int kMaxJsonDepth = 256;

// Throws eplb::Error "<path>: JSON nests deeper than 256 levels ..." when `text` opens more
// than kMaxJsonDepth arrays or objects at once ('[' and '{' inside strings do not count).
// Malformed text is left for the JSON parser to report. O(text.size()), allocates nothing.
void check_json_depth(std::string_view text, const std::string& path);

}  // namespace eplb
