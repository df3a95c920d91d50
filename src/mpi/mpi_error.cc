#include "mpi/mpi_error.h"

#include "eplb/error.h"

namespace eplb::mpi {

std::string error_string(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) {
    return "MPI error " + std::to_string(code);
  }
  return std::string(text, static_cast<size_t>(length));
}

void check(int code, const std::string& what) {
  if (code != MPI_SUCCESS) {
    throw Error(what + ": " + error_string(code));
  }
}

}  // namespace eplb::mpi
