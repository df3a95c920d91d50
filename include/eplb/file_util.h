// Small file helpers shared by every reader and writer.
#pragma once

#include <string>

namespace eplb {

// Whole file as bytes; throws eplb::Error "<path>: cannot read: <reason>".
std::string read_file(const std::string& path);

// Writes `content` to a temporary file in the same directory, flushes it, then renames it
// over `path`, so readers never see a half-written file. Throws eplb::Error naming the path;
// the temporary file is removed on failure.
void write_file_atomic(const std::string& path, const std::string& content);

}  // namespace eplb
