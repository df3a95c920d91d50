// Runs the built `eplb` binary (EPLB_CLI_PATH) in a scratch directory and captures its exit
// status, stdout and stderr.
#pragma once

#include <filesystem>
#include <string>

namespace eplb::testing {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// A fresh empty directory under the system temp dir, removed by the destructor.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// `args` is appended to the binary path verbatim (shell words; quote paths with spaces).
CliResult run_eplb(const std::string& args);

// Path of a fixture under tests/data.
std::string test_data(const std::string& relative);

std::string slurp(const std::string& path);

}  // namespace eplb::testing
