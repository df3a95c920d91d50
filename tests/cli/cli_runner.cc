#include "cli_runner.h"

#include <sys/wait.h>

#include <cstdlib>

namespace eplb::testing {

CliResult run_eplb(const std::string& args) {
  ScratchDir capture;
  const std::string out = capture.path("stdout");
  const std::string err = capture.path("stderr");
  const std::string command =
      std::string(EPLB_CLI_PATH) + " " + args + " >" + out + " 2>" + err + " </dev/null";
  const int status = std::system(command.c_str());
  CliResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = slurp(out);
  result.err = slurp(err);
  return result;
}

}  // namespace eplb::testing
