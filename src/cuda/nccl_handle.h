// The CommHandle of the NCCL backend: one operation (a collective or an exchange batch) on the
// side stream, finished when its completion event is reached.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "cuda/nccl_shared.h"
#include "eplb/comm.h"

namespace eplb::cuda::nccl {

class NcclHandle final : public CommHandle {
 public:
  // An operation whose calls were made: `completion` ends it; a non-empty `local_error` (an
  // injected fault, a self-send without its receive) makes it kFailed once the event is reached.
  NcclHandle(std::shared_ptr<Shared> shared, std::shared_ptr<Completion> completion,
             std::string local_error);
  // An operation that failed before anything was enqueued.
  NcclHandle(std::shared_ptr<Shared> shared, std::string error);
  // Waits for an operation still on the stream up to options.drain_timeout, then aborts the
  // communicator (see eplb/cuda/nccl_comm.h).
  ~NcclHandle() override;

  CommState poll() override;
  CommState wait(std::chrono::milliseconds timeout) override;
  std::string error() const override { return error_; }

 private:
  CommState finish(CommState state, std::string error);
  // True once the completion event has been reached (or nothing is left on the stream).
  bool stream_done();

  std::shared_ptr<Shared> shared_;
  std::shared_ptr<Completion> completion_;  // null when nothing was enqueued
  std::string local_error_;
  CommState state_ = CommState::kPending;  // kDone or kFailed once final
  std::string error_;
};

}  // namespace eplb::cuda::nccl
