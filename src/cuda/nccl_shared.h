// Internals of the NCCL backend (eplb/cuda/nccl_comm.h): the state one communicator shares with
// its handles, the completion event of one posted operation, and error text.
#pragma once

#include <cuda_runtime.h>
#include <nccl.h>

#include <memory>
#include <string>

#include "eplb/cuda/nccl_comm.h"

namespace eplb::cuda::nccl {

// Makes `device` current for the life of the object and restores the previous device.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

// The end of one posted operation on the side stream: `event` is recorded after its NCCL calls,
// at once when they were enqueued, or by settle() when a non-blocking comm enqueues later.
struct Completion {
  explicit Completion(int device);
  ~Completion();
  Completion(const Completion&) = delete;
  Completion& operator=(const Completion&) = delete;

  cudaEvent_t event = nullptr;
  bool recorded = false;
};

// Shared by an NcclCommunicator and its handles (handles keep it alive).
struct Shared {
  ncclComm_t comm = nullptr;  // owned by the caller; freed by abort()
  int rank = 0;
  int num_ranks = 0;
  int device = 0;
  cudaStream_t stream = nullptr;
  NcclOptions options;
  bool aborted = false;
  // The last operation of a non-blocking comm whose enqueue NCCL still reports ncclInProgress.
  std::shared_ptr<Completion> unrecorded;
};

// ncclGetErrorString(result) plus the comm's last error message when there is one.
std::string nccl_error_text(ncclComm_t comm, ncclResult_t result);

// ncclCommGetAsyncError of the comm (ncclSuccess, ncclInProgress or the error); an aborted comm
// is not queried.
ncclResult_t async_error(const Shared& shared);

// Records the event of `shared.unrecorded` once NCCL has enqueued its operation. With `block`,
// waits (spinning briefly) for the enqueue; stops early when the comm reports an error.
void settle(Shared& shared, bool block);

// ncclCommAbort, once; makes `shared.aborted` true.
void abort_comm(Shared& shared);

// "rank 3 -> rank 1, tag 7"
std::string route_text(int from, int to, int64_t tag);

}  // namespace eplb::cuda::nccl
