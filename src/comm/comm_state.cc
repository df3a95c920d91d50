// Names of eplb/comm.h's enums, shared by every backend.
#include "eplb/comm.h"

namespace eplb {

const char* comm_state_name(CommState state) {
  switch (state) {
    case CommState::kPending: return "pending";
    case CommState::kDone: return "done";
    case CommState::kFailed: return "failed";
    case CommState::kTimedOut: return "timed_out";
  }
  return "unknown";
}

}  // namespace eplb
