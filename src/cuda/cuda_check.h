// Error handling of the CUDA edge: every runtime call and launch is checked and turned into
// eplb::Error "eplb::cuda::<where>: <call>: <CUDA error name>: <description>".
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "eplb/error.h"

namespace eplb::cuda::detail {

inline void check(cudaError_t status, const char* where, const char* call) {
  if (status == cudaSuccess) return;
  throw Error(std::string("eplb::cuda::") + where + ": " + call + ": " + cudaGetErrorName(status) +
              ": " + cudaGetErrorString(status));
}

// Threads per block of every eplb kernel.
inline constexpr int kBlockThreads = 256;

}  // namespace eplb::cuda::detail

// Checks a CUDA runtime call; `where` names the public function it serves.
#define EPLB_CUDA_CHECK(where, call) ::eplb::cuda::detail::check((call), (where), #call)
// Checks the launch just made (configuration errors; asynchronous faults surface later).
#define EPLB_CUDA_CHECK_LAUNCH(where) \
  ::eplb::cuda::detail::check(cudaGetLastError(), (where), "kernel launch")
