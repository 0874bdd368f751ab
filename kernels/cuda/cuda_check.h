// Error checking and RAII owners for the CUDA runtime API.
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace frameprint::cuda {

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string("CUDA: ") + what + ": " + cudaGetErrorString(e));
}
// After a kernel launch: launch errors now, execution errors at the next sync.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

// Device memory, grown on demand (contents are not kept when it grows).
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  void* reserve(size_t bytes) {
    if (bytes > size_) {
      if (ptr_) check(cudaFree(ptr_), "cudaFree");
      ptr_ = nullptr;
      check(cudaMalloc(&ptr_, bytes), "cudaMalloc");
      size_ = bytes;
    }
    return ptr_;
  }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
  size_t size_ = 0;
};

// Page-locked host memory, for asynchronous copies.
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  ~PinnedBuffer() {
    if (ptr_) cudaFreeHost(ptr_);
  }
  void* reserve(size_t bytes) {
    if (bytes > size_) {
      if (ptr_) check(cudaFreeHost(ptr_), "cudaFreeHost");
      ptr_ = nullptr;
      check(cudaMallocHost(&ptr_, bytes), "cudaMallocHost");
      size_ = bytes;
    }
    return ptr_;
  }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
  size_t size_ = 0;
};

class Stream {
 public:
  Stream() { check(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking), "cudaStreamCreate"); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() { cudaStreamDestroy(s_); }
  cudaStream_t get() const { return s_; }
  void sync() const { check(cudaStreamSynchronize(s_), "cudaStreamSynchronize"); }

 private:
  cudaStream_t s_{};
};

}  // namespace frameprint::cuda
