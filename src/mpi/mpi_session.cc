// MpiSession and the make_mpi_communicator factories of eplb/mpi_comm.h.
#include <mpi.h>

#include "eplb/error.h"
#include "eplb/mpi_comm.h"
#include "mpi/mpi_communicator.h"
#include "mpi/mpi_error.h"

namespace eplb {

MpiSession::MpiSession(int* argc, char*** argv) {
  int initialized = 0;
  mpi::check(MPI_Initialized(&initialized), "MPI_Initialized");
  int provided = MPI_THREAD_SINGLE;
  if (initialized == 0) {
    mpi::check(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
    owns_ = true;
  } else {
    mpi::check(MPI_Query_thread(&provided), "MPI_Query_thread");
  }
  if (provided < MPI_THREAD_SERIALIZED) {
    if (owns_) {
      MPI_Finalize();
    }
    throw Error("MpiSession: the MPI library provides thread level " + std::to_string(provided) +
                ", eplb needs at least MPI_THREAD_SERIALIZED (" +
                std::to_string(MPI_THREAD_SERIALIZED) + ")");
  }
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (owns_ && finalized == 0) {
    MPI_Finalize();
  }
}

int MpiSession::world_rank() const {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int MpiSession::world_size() const {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

std::unique_ptr<Communicator> make_mpi_communicator(const MpiOptions& options) {
  return std::make_unique<mpi::MpiCommunicator>(MPI_COMM_WORLD, options);
}

std::unique_ptr<Communicator> make_mpi_communicator(const void* mpi_comm,
                                                    const MpiOptions& options) {
  if (mpi_comm == nullptr) {
    throw Error("make_mpi_communicator: mpi_comm is null (pass the address of an MPI_Comm)");
  }
  return std::make_unique<mpi::MpiCommunicator>(*static_cast<const MPI_Comm*>(mpi_comm), options);
}

}  // namespace eplb
