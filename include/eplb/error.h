// The one exception type of the eplb library.
//
// Library code never exits and never prints; it throws eplb::Error with a message that
// names the place (file, field, flag) and the offending value, e.g.
//   "trtllm.yaml: initial_global_assignments[3][17]: expert 301 out of range [0, 256)".
// Callers at an edge (CLI, Python) turn it into a one-line message / exception.
#pragma once

#include <stdexcept>
#include <string>

namespace eplb {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace eplb
