// Turning MPI return codes into eplb's errors. Internal to the MPI backend (includes <mpi.h>).
#pragma once

#include <mpi.h>

#include <string>

namespace eplb::mpi {

// MPI_Error_string's text for `code`, e.g. "MPI_ERR_TRUNCATE: message truncated".
std::string error_string(int code);

// Throws eplb::Error "<what>: <error_string(code)>" unless code == MPI_SUCCESS. For set-up
// calls (communicator creation); operations report failures through their handles instead.
void check(int code, const std::string& what);

}  // namespace eplb::mpi
