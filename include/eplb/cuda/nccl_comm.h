// The NCCL backend of eplb/comm.h: GPU-to-GPU load all-gathers and expert-weight transfers.
// Built only with EPLB_WITH_CUDA and EPLB_WITH_NCCL (library eplb_cuda). This header includes no
// CUDA or NCCL header: the communicator and the stream are opaque handles, declared here exactly
// as nccl.h and cuda_runtime.h declare them.
//
// Every span passed to the communicator is DEVICE memory (of the communicator's device), or
// memory NCCL can access from it. How the operations map onto NCCL, all enqueued on the
// `side_stream` given at creation (the host never waits for a transfer):
//   all_gather -> ncclAllGather (ncclDouble), broadcast -> ncclBroadcast (ncclUint8, in place),
//   exchange   -> ncclGroupStart, ncclSend / ncclRecv (ncclUint8) ..., ncclGroupEnd;
//                 messages to oneself are cudaMemcpyAsync device-to-device on the same stream.
// Each handle records a cudaEvent after its operations: poll() is cudaEventQuery plus
// ncclCommGetAsyncError (never blocks); wait(timeout) polls with short sleeps.
//
// Tags: NCCL has none; it pairs the sends from rank a to rank b with b's receives from a in
// posting order. exchange() therefore sorts each batch's remote sends and receives by
// (peer, tag), stable for equal keys, and posts them in that order. Peers must post MATCHING
// BATCHES: the k-th exchange() that sends to rank b must meet the k-th exchange() of b that
// receives from this rank, with the same (tag, size) multiset for the pair; sizes must agree
// exactly (a mismatch is undefined behaviour in NCCL and is not detected). Messages of 0 bytes
// are not posted (both sides skip them). Messages to oneself are matched by tag within the batch
// (in posting order for equal tags); a self-send without its receive or with another size fails
// the batch (kFailed) without touching the receive buffer.
//
// Failures and timeouts: an asynchronous NCCL error (ncclCommGetAsyncError: a peer or network
// failure) makes every pending handle kFailed with ncclGetErrorString and ncclGetLastError. NCCL
// operations cannot be cancelled: a wait() that times out returns kTimedOut while the operation
// stays enqueued on the side stream (a later poll() may still report kDone). When a peer is
// known to be gone (kFailed, or kTimedOut that will not recover), call abort(): ncclCommAbort
// stops the kernels, frees the ncclComm and makes every handle kFailed. Until a handle is no
// longer kPending/kTimedOut, or the communicator is aborted, NCCL may still read or write the
// handle's buffers. Destroying a handle whose operation is still in flight waits for it up to
// `NcclOptions::drain_timeout` and then aborts the communicator, so that the caller's buffers
// are free once the destructor returns.
//
// Fault injection: the injector is asked before each send is posted. A refused send is not
// posted; the sender's batch ends kFailed ("injected fault") once its other operations are done.
// The receiver never gets the message: its batch stays pending, its wait(timeout) returns
// kTimedOut, and the pair's NCCL channel is out of step from then on, so both sides must
// abort() their communicators and build new ones. A refused self-send fails the batch and its
// receive is not copied.
//
// Threads: a communicator and its handles are driven from one thread (the rank's serving
// thread), abort() included. With a non-blocking ncclComm (ncclConfig_t::blocking = 0) an
// enqueue that NCCL reports as ncclInProgress is completed later by poll(); the next operation
// posted on the communicator waits for it first.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <span>

#include "eplb/comm.h"

struct ncclComm;
typedef struct ncclComm* ncclComm_t;  // NOLINT(modernize-use-using): as nccl.h declares it
struct CUstream_st;
using cudaStream_t = CUstream_st*;

namespace eplb::cuda {

struct NcclOptions {
  // Sleep between two polls in wait().
  std::chrono::microseconds poll_interval{50};
  // How long destroying an in-flight handle waits before it aborts the communicator.
  std::chrono::milliseconds drain_timeout{5000};
};

// A Communicator over an ncclComm, plus what only NCCL needs.
class NcclCommunicator : public Communicator {
 public:
  // ncclCommAbort on the ncclComm: stops its operations and FREES it (the caller must not call
  // ncclCommDestroy on it afterwards). Every handle becomes kFailed ("communicator aborted") and
  // every later operation throws eplb::Error. Idempotent.
  virtual void abort() = 0;
  virtual bool aborted() const = 0;
  // The CUDA device of the ncclComm (operations are enqueued with it current).
  virtual int device() const = 0;
};

// The backend over `comm`, an initialised ncclComm of `num_ranks` ranks in which this process is
// `rank` (checked against ncclCommCount / ncclCommUserRank). The caller keeps ownership of `comm`
// and `side_stream` (a stream of the comm's device; nullptr is the legacy default stream, which
// serialises with other work: prefer a non-blocking stream): destroy the communicator and its
// handles first, then ncclCommDestroy(comm) unless abort() freed it. Throws eplb::Error when the
// arguments disagree with `comm`.
std::unique_ptr<NcclCommunicator> make_nccl_communicator(ncclComm_t comm, int rank, int num_ranks,
                                                         cudaStream_t side_stream,
                                                         const NcclOptions& options = {});

// ---- Bootstrap helpers ----------------------------------------------------------------------
// One rank creates a unique id, every rank receives it (through MPI, a file, or another
// eplb::Communicator's broadcast) and initialises its comm with it:
//   NcclUniqueId id{};
//   if (rank == 0) id = make_nccl_unique_id();
//   bootstrap.broadcast(std::as_writable_bytes(std::span(id)), 0)->wait(timeout);
//   cudaSetDevice(local_gpu);
//   ncclComm_t comm = init_nccl_comm(id, rank, num_ranks);

// The bytes of an ncclUniqueId (NCCL_UNIQUE_ID_BYTES).
using NcclUniqueId = std::array<std::byte, 128>;

// ncclGetUniqueId. Throws eplb::Error with NCCL's message on failure.
NcclUniqueId make_nccl_unique_id();

// ncclCommInitRank on the CURRENT CUDA device: collective over the `num_ranks` ranks sharing
// `id`, so it blocks until all have joined. The caller owns the result (ncclCommDestroy, or
// destroy_nccl_comm). Throws eplb::Error with NCCL's message on failure.
ncclComm_t init_nccl_comm(const NcclUniqueId& id, int rank, int num_ranks);

// ncclCommDestroy for callers that include no NCCL header; a null comm is ignored.
void destroy_nccl_comm(ncclComm_t comm);

}  // namespace eplb::cuda
