// Error checking and RAII owners for the CUDA runtime API.
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace frameprint::cuda {

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    throw std::runtime_error(std::string("CUDA: ") + what + ": " + cudaGetErrorString(e));
}
// After a kernel launch: launch errors now, execution errors at the next sync.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

// Makes `device` current, with the primary context's scheduling flags set to
// blocking sync. FFmpeg's NVDEC (AV_CUDA_USE_PRIMARY_CONTEXT) shares that
// context only when its flags are CU_CTX_SCHED_BLOCKING_SYNC; with the
// runtime's default flags it refuses ("Primary context already active with
// incompatible flags") and every video falls back to the CPU decoder. Every
// CUDA object in this process goes through here, so the context is made (or
// re-flagged) once with the flags both sides accept.
inline void use_device(int device) {
  check(cudaSetDevice(device), "cudaSetDevice");
  unsigned flags = 0;
  check(cudaGetDeviceFlags(&flags), "cudaGetDeviceFlags");
  if ((flags & cudaDeviceScheduleMask) != cudaDeviceScheduleBlockingSync)
    check(cudaSetDeviceFlags(cudaDeviceScheduleBlockingSync), "cudaSetDeviceFlags(blocking sync)");
}

// Memory from a CUDA allocator, grown on demand (contents are not kept
// when it grows): device memory, or page-locked host memory for
// asynchronous copies.
template <cudaError_t (*Alloc)(void**, size_t), cudaError_t (*Free)(void*)>
class CudaMemory {
 public:
  CudaMemory() = default;
  CudaMemory(const CudaMemory&) = delete;
  CudaMemory& operator=(const CudaMemory&) = delete;
  CudaMemory(CudaMemory&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  ~CudaMemory() {
    if (ptr_) Free(ptr_);
  }
  void* reserve(size_t bytes) {
    if (bytes > size_) {
      if (ptr_) check(Free(ptr_), "free");
      ptr_ = nullptr;
      check(Alloc(&ptr_, bytes), "allocate");
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

inline cudaError_t device_alloc(void** p, size_t n) { return cudaMalloc(p, n); }
inline cudaError_t device_free(void* p) { return cudaFree(p); }
inline cudaError_t pinned_alloc(void** p, size_t n) { return cudaMallocHost(p, n); }
inline cudaError_t pinned_free(void* p) { return cudaFreeHost(p); }

using DeviceBuffer = CudaMemory<device_alloc, device_free>;
using PinnedBuffer = CudaMemory<pinned_alloc, pinned_free>;

class Stream {
 public:
  // A blocking stream: it waits for work on the legacy default stream, where
  // FFmpeg's NVDEC copies decoded surfaces, before ours reads them.
  Stream() { check(cudaStreamCreateWithFlags(&s_, cudaStreamDefault), "cudaStreamCreate"); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() { cudaStreamDestroy(s_); }
  cudaStream_t get() const { return s_; }
  void sync() const { check(cudaStreamSynchronize(s_), "cudaStreamSynchronize"); }

 private:
  cudaStream_t s_{};
};

// An event that only orders and signals (no timing).
class Event {
 public:
  Event() { check(cudaEventCreateWithFlags(&e_, cudaEventDisableTiming), "cudaEventCreate"); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  Event(Event&& o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
  ~Event() {
    if (e_) cudaEventDestroy(e_);
  }
  cudaEvent_t get() const { return e_; }

 private:
  cudaEvent_t e_{};
};

}  // namespace frameprint::cuda
