// Runs the built `eplb` binary (EPLB_CLI_PATH) and captures its exit status, stdout and stderr.
#pragma once

#include <string>

#include "support/test_support.h"

namespace eplb::testing {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// `args` is appended to the binary path verbatim (shell words; quote paths with spaces).
CliResult run_eplb(const std::string& args);

}  // namespace eplb::testing
