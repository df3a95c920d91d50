// Helpers of the CUDA tests: device detection (tests skip with a reason, never pass silently
// without a GPU), a device buffer that owns its memory, and a checked-call macro.
#pragma once

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

namespace eplb::cuda::testing {

// True when the runtime loads and sees at least one device.
inline bool has_cuda_device() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

// Device array of T, copied from / to host vectors with the synchronous runtime calls.
template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t size) : size_(size) {
    if (size_ > 0) {
      EXPECT_EQ(cudaMalloc(&data_, sizeof(T) * size_), cudaSuccess);
    }
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
  ~DeviceBuffer() {
    if (data_ != nullptr) cudaFree(data_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* get() const { return static_cast<T*>(data_); }
  size_t size() const { return size_; }
  void upload(const std::vector<T>& host) {
    ASSERT_EQ(host.size(), size_);
    if (size_ > 0) {
      ASSERT_EQ(cudaMemcpy(data_, host.data(), sizeof(T) * size_, cudaMemcpyHostToDevice),
                cudaSuccess);
    }
  }
  std::vector<T> download() const {
    std::vector<T> host(size_);
    if (size_ > 0) {
      EXPECT_EQ(cudaMemcpy(host.data(), data_, sizeof(T) * size_, cudaMemcpyDeviceToHost),
                cudaSuccess);
    }
    return host;
  }

 private:
  size_t size_;
  void* data_ = nullptr;
};

}  // namespace eplb::cuda::testing

// First statement of every test that needs a GPU.
#define EPLB_REQUIRE_CUDA_DEVICE()                   \
  do {                                               \
    if (!::eplb::cuda::testing::has_cuda_device()) { \
      GTEST_SKIP() << "no CUDA device";              \
    }                                                \
  } while (0)

#define EPLB_ASSERT_CUDA(call)                                                                 \
  do {                                                                                         \
    const cudaError_t eplb_status_ = (call);                                                   \
    ASSERT_EQ(eplb_status_, cudaSuccess) << #call << ": " << cudaGetErrorString(eplb_status_); \
  } while (0)
