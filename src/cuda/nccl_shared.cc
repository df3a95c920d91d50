#include "cuda/nccl_shared.h"

#include <string>
#include <thread>

#include "cuda/cuda_check.h"

namespace eplb::cuda::nccl {

DeviceGuard::DeviceGuard(int device) {
  if (cudaGetDevice(&previous_) != cudaSuccess || previous_ != device) {
    EPLB_CUDA_CHECK("nccl communicator", cudaSetDevice(device));
  } else {
    previous_ = -1;  // nothing to restore
  }
}

DeviceGuard::~DeviceGuard() {
  if (previous_ >= 0) cudaSetDevice(previous_);
}

Completion::Completion(int device) {
  DeviceGuard guard(device);
  EPLB_CUDA_CHECK("nccl communicator", cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
}

Completion::~Completion() {
  // Destroying an event that is recorded but not reached yet is allowed: CUDA releases it once
  // it completes.
  if (event != nullptr) cudaEventDestroy(event);
}

std::string nccl_error_text(ncclComm_t comm, ncclResult_t result) {
  std::string text = ncclGetErrorString(result);
  const char* last = comm != nullptr ? ncclGetLastError(comm) : nullptr;
  if (last != nullptr && last[0] != '\0') text += std::string(" (") + last + ")";
  return text;
}

ncclResult_t async_error(const Shared& shared) {
  if (shared.aborted) return ncclSuccess;
  ncclResult_t result = ncclSuccess;
  const ncclResult_t call = ncclCommGetAsyncError(shared.comm, &result);
  return call != ncclSuccess ? call : result;
}

void settle(Shared& shared, bool block) {
  while (shared.unrecorded && !shared.aborted) {
    const ncclResult_t state = async_error(shared);
    if (state == ncclInProgress) {
      if (!block) return;
      std::this_thread::yield();
      continue;
    }
    if (state == ncclSuccess) {
      DeviceGuard guard(shared.device);
      EPLB_CUDA_CHECK("nccl communicator",
                      cudaEventRecord(shared.unrecorded->event, shared.stream));
      shared.unrecorded->recorded = true;
    }
    // On an error the event stays unrecorded: its handle reports the error.
    shared.unrecorded.reset();
  }
}

void abort_comm(Shared& shared) {
  if (shared.aborted) return;
  DeviceGuard guard(shared.device);
  // The result is not actionable: the comm is freed either way.
  ncclCommAbort(shared.comm);
  shared.aborted = true;
  shared.comm = nullptr;
  shared.unrecorded.reset();
}

std::string route_text(int from, int to, int64_t tag) {
  return "rank " + std::to_string(from) + " -> rank " + std::to_string(to) + ", tag " +
         std::to_string(tag);
}

}  // namespace eplb::cuda::nccl
