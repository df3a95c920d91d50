#include "cuda/nccl_handle.h"

#include <algorithm>
#include <thread>
#include <utility>

namespace eplb::cuda::nccl {

NcclHandle::NcclHandle(std::shared_ptr<Shared> shared, std::shared_ptr<Completion> completion,
                       std::string local_error)
    : shared_(std::move(shared)),
      completion_(std::move(completion)),
      local_error_(std::move(local_error)) {}

NcclHandle::NcclHandle(std::shared_ptr<Shared> shared, std::string error)
    : shared_(std::move(shared)), state_(CommState::kFailed), error_(std::move(error)) {}

NcclHandle::~NcclHandle() {
  try {
    if (stream_done()) return;
    const auto deadline = std::chrono::steady_clock::now() + shared_->options.drain_timeout;
    while (!stream_done()) {
      const ncclResult_t state = async_error(*shared_);
      if ((state != ncclSuccess && state != ncclInProgress) ||
          std::chrono::steady_clock::now() >= deadline) {
        // NCCL cannot cancel an operation: aborting the comm is the only way to release the
        // caller's buffers.
        abort_comm(*shared_);
        return;
      }
      std::this_thread::sleep_for(shared_->options.poll_interval);
    }
  } catch (...) {  // a destructor must not throw; CUDA errors here leave nothing to release
  }
}

bool NcclHandle::stream_done() {
  if (!completion_ || shared_->aborted) return true;
  if (!completion_->recorded) {
    settle(*shared_, /*block=*/false);
    if (!completion_->recorded) {
      // Never enqueued because the comm failed: nothing of it is on the stream.
      return shared_->unrecorded != completion_;
    }
  }
  return cudaEventQuery(completion_->event) != cudaErrorNotReady;
}

CommState NcclHandle::finish(CommState state, std::string error) {
  state_ = state;
  error_ = std::move(error);
  return state_;
}

CommState NcclHandle::poll() {
  if (state_ != CommState::kPending) return state_;
  const std::string place = "rank " + std::to_string(shared_->rank) + ": ";
  if (shared_->aborted) return finish(CommState::kFailed, place + "communicator aborted");
  if (!completion_->recorded) settle(*shared_, /*block=*/false);
  const ncclResult_t state = async_error(*shared_);
  if (state != ncclSuccess && state != ncclInProgress) {
    return finish(CommState::kFailed, place + nccl_error_text(shared_->comm, state));
  }
  if (!completion_->recorded) return CommState::kPending;
  const cudaError_t query = cudaEventQuery(completion_->event);
  if (query == cudaErrorNotReady) return CommState::kPending;
  if (query != cudaSuccess) {
    return finish(CommState::kFailed, place + "cudaEventQuery: " + cudaGetErrorName(query) + ": " +
                                          cudaGetErrorString(query));
  }
  if (!local_error_.empty()) return finish(CommState::kFailed, local_error_);
  return finish(CommState::kDone, {});
}

CommState NcclHandle::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const CommState state = poll();
    if (state != CommState::kPending) return state;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return CommState::kTimedOut;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        shared_->options.poll_interval, deadline - now));
  }
}

}  // namespace eplb::cuda::nccl
