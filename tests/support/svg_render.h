// Renders an SVG file to PNG with rsvg-convert (Debian package librsvg2-bin) and parses it with
// xmllint (libxml2-utils) when they are on PATH, so tests can check that a real renderer and a
// real XML parser accept what the plot builders write.
#pragma once

#include <cstdlib>
#include <string>

#include "support/test_support.h"

namespace eplb::testing {

inline bool have_rsvg_convert() {
  return std::system("command -v rsvg-convert > /dev/null 2>&1") == 0;
}

// The PNG bytes rsvg-convert makes of `svg_path` (written next to it as <svg_path>.png), or
// "" when it fails. Call only when have_rsvg_convert().
inline std::string render_png(const std::string& svg_path) {
  const std::string png = svg_path + ".png";
  const std::string command = "rsvg-convert -o '" + png + "' '" + svg_path + "' 2>&1";
  if (std::system(command.c_str()) != 0) return "";
  return slurp(png);
}

inline bool have_xmllint() { return std::system("command -v xmllint > /dev/null 2>&1") == 0; }

// True when xmllint (Debian libxml2-utils) parses `path` as well-formed XML. Call only when
// have_xmllint().
inline bool xmllint_accepts(const std::string& path) {
  const std::string command = "xmllint --noout '" + path + "' 2>&1";
  return std::system(command.c_str()) == 0;
}

// True when `bytes` starts with the PNG signature.
inline bool is_png(const std::string& bytes) {
  return bytes.size() > 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
}

}  // namespace eplb::testing
