#include "eplb/file_util.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "eplb/error.h"

namespace eplb {

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(path + ": cannot read: is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read: " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(path + ": cannot read: I/O error");
  return buffer.str();
}

void write_file_atomic(const std::string& path, const std::string& content) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  std::random_device seed;
  // Hidden temporary beside the target, so rename() stays on one file system.
  std::string temp_name(".");
  temp_name += target.filename().string();
  temp_name += ".tmp";
  temp_name += std::to_string(seed());
  const fs::path temp = target.parent_path() / temp_name;
  FILE* f = std::fopen(temp.c_str(), "wb");
  if (f == nullptr) throw Error(path + ": cannot write: " + std::strerror(errno));
  const bool written = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  const bool flushed = std::fflush(f) == 0;
  const int saved_errno = errno;
  const bool closed = std::fclose(f) == 0;
  std::error_code ec;
  if (!written || !flushed || !closed) {
    fs::remove(temp, ec);
    throw Error(path + ": cannot write: " + std::strerror(saved_errno));
  }
  fs::rename(temp, target, ec);
  if (ec) {
    const std::string reason = ec.message();
    fs::remove(temp, ec);
    throw Error(path + ": cannot write: " + reason);
  }
}

}  // namespace eplb
