// The MPI backend of eplb/comm.h: one process per rank (OpenMPI, MPICH, ...). Built only with
// -DEPLB_WITH_MPI=ON (library eplb_mpi); this header does not include <mpi.h>, so code that
// merely creates the communicator needs no MPI include path.
//
// How the operations map onto MPI (all nonblocking; poll() progresses them with MPI_Testsome,
// which, unlike MPI_Testall, reports each failed request as soon as it fails):
//   all_gather -> MPI_Iallgather (MPI_DOUBLE), broadcast -> MPI_Ibcast (MPI_BYTE),
//   exchange   -> MPI_Irecv / MPI_Isend (MPI_BYTE), receives posted before sends.
// Messages over `MpiOptions::max_message_bytes` (default INT_MAX, MPI's int count limit) are
// split into chunks; chunks of one message share its MPI tag and arrive in order (MPI's
// non-overtaking rule), the all-gather receives each chunk through a strided datatype.
//
// Tags: an exchange tag t (int64) is sent as MPI tag t when 0 <= t <= MPI_TAG_UB (2^31-1 in
// OpenMPI), else as t folded into [0, MPI_TAG_UB]. Every message is preceded by a 16-byte
// header {tag, bytes} on the same MPI tag, so a folded-tag collision or a size disagreement
// between sender and receiver fails the batch (kFailed, naming both tags/sizes) instead of
// delivering the wrong bytes. No per-batch numbering is used: batches of one rank pair are told
// apart by their order (non-overtaking), so callers that retry after a timeout should use fresh
// tags (e.g. include the rebalance cycle in the tag).
//
// Failures: every MPI call runs under MPI_ERRORS_RETURN on a private duplicate of the given
// communicator; an MPI error makes the operation kFailed with MPI_Error_string's text and the
// place ("rank 3 -> rank 1, tag 7: MPI_Isend: ..."). A handle reports kDone/kFailed only once
// none of its requests is active any more, so the caller's buffers are free to reuse as soon as
// the handle is not kPending.
//
// Fault injection: the injector is asked before each send is posted; a refused send is not
// posted, and the sender's batch ends kFailed ("injected fault") once its other requests are
// done. Its receiver never gets the message: the receiver's wait(timeout) returns kTimedOut,
// which MPI_Cancels its pending receives (local, prompt), so nothing hangs.
//
// Timeouts and cancellation (wait() past its timeout, or destroying a pending handle): pending
// receives are cancelled with MPI_Cancel and completed; pending sends are cancelled too where
// the MPI library allows (OpenMPI's ob1 does not cancel sends) and waited for at most
// `MpiOptions::send_drain_timeout`; sends still unmatched then are released with
// MPI_Request_free and named in error(): their buffers must then outlive the communicator.
// Collectives cannot be cancelled in MPI: a collective's wait() may return kTimedOut while it
// continues (a later poll() can still report kDone), and destroying it waits for it to finish.
//
// Threads: MPI is initialised with at least MPI_THREAD_SERIALIZED; a communicator and its
// handles are used by one thread at a time (the rank's serving thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "eplb/comm.h"

namespace eplb {

struct MpiOptions {
  // Largest single MPI message in bytes; larger buffers are split. Tests lower it to exercise
  // chunking without gigabyte buffers. Must be >= 8 (one double).
  int64_t max_message_bytes = 2147483647;
  // How long cancelling a handle waits for sends that MPI cannot cancel.
  std::chrono::milliseconds send_drain_timeout{5000};
};

// Initialises MPI for the life of the object (MPI_Init_thread asking MPI_THREAD_SERIALIZED)
// unless MPI is initialised already, and finalises it on destruction only if it initialised
// it. Communicators must be destroyed before it. Throws eplb::Error when MPI cannot be
// initialised or offers less than MPI_THREAD_SERIALIZED.
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  // Rank and size of MPI_COMM_WORLD.
  int world_rank() const;
  int world_size() const;

 private:
  bool owns_ = false;
};

// A communicator over all processes of MPI_COMM_WORLD (duplicated: eplb's messages never match
// the application's, nor those of another eplb communicator). Collective (MPI_Comm_dup): every
// rank creates its communicators in the same order. Destroy it before MPI is finalised, and
// its handles before it. Throws eplb::Error when MPI is not initialised or the options are
// invalid.
std::unique_ptr<Communicator> make_mpi_communicator(const MpiOptions& options = {});

// The same over another MPI communicator: `mpi_comm` points at an MPI_Comm (opaque here so that
// this header needs no <mpi.h>); it is duplicated, the caller keeps ownership of the original.
std::unique_ptr<Communicator> make_mpi_communicator(const void* mpi_comm,
                                                    const MpiOptions& options = {});

}  // namespace eplb
