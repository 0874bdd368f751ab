// CUDA PDQ backend. Per batch: one kernel weighs the input rows into the 64
// accumulator rows of every frame (the separable downsampler's vertical
// pass, each pixel read about once), one kernel per frame finishes the
// 64x64 grid, quality, DCT, median and bits (and dihedral hashes). The
// per-pixel and per-coefficient steps are the shared ones in pdq_math.h and
// the float sums run in the CPU backend's order (built with --fmad=false),
// so results match the CPU backend on the same planes.
#include <cuda_runtime.h>

#include <cstring>
#include <deque>
#include <map>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/pdq_cuda.h"
#include "kernels/pending_copies.h"
#include "kernels/separable_downsample.h"

namespace frameprint::pdq {

namespace {

constexpr int kFinishThreads = 256;

struct FrameJob {
  const uint8_t* plane;
  long long pitch;
  int width;
  int height;
  int type;  // SampleType
  LumaScale scale;
  const int* vfirst;      // [64]
  const float* vweights;  // [64 * vtaps]
  int vtaps;
  const int* hfirst;    // [64]
  const float* hbytap;  // [htaps * 64]
  int htaps;
  int transpose;
  int dihedral;  // compute all 8 hashes
  float* acc;    // [64 * width]
};

struct FrameOut {
  int quality;
  uint32_t bits[kDihedralCount][8];
};

__device__ float sample(const FrameJob& f, int y, int x) {
  const uint8_t* row = f.plane + static_cast<long long>(y) * f.pitch;
  switch (f.type) {
    case static_cast<int>(SampleType::kU8):
      return f.scale.clamp ? luma_from_code_clamped(static_cast<float>(row[x]), f.scale)
                           : luma_from_code_linear(static_cast<float>(row[x]), f.scale);
    case static_cast<int>(SampleType::kU16): {
      const float c = static_cast<float>(reinterpret_cast<const uint16_t*>(row)[x]);
      return f.scale.clamp ? luma_from_code_clamped(c, f.scale) : luma_from_code_linear(c, f.scale);
    }
    default: return reinterpret_cast<const float*>(row)[x];
  }
}

// grid: (ceil(max width / 128), 64 output rows, frames)
__global__ void vertical_pass(const FrameJob* jobs) {
  const FrameJob& f = jobs[blockIdx.z];
  const int x = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  const int a = static_cast<int>(blockIdx.y);
  if (x >= f.width) return;
  float sum = 0.0f;
  const int first = f.vfirst[a];
  for (int t = 0; t < f.vtaps; ++t) {
    const float w = f.vweights[a * f.vtaps + t];
    if (w == 0.0f) continue;
    sum += w * sample(f, first + t, x);
  }
  f.acc[static_cast<long long>(a) * f.width + x] = sum;
}

// One block per frame.
__global__ void finish(const FrameJob* jobs, const float* dct, FrameOut* out) {
  __shared__ float grid[kDownsampleDim * kDownsampleDim];
  __shared__ float t16x64[kDctDim * kDownsampleDim];
  __shared__ float block[kDctDim * kDctDim];
  __shared__ float moved[kHashBits];
  __shared__ int gradient_sum;
  __shared__ float median;
  const FrameJob& f = jobs[blockIdx.x];
  const int tid = static_cast<int>(threadIdx.x);
  if (tid == 0) gradient_sum = 0;

  // Horizontal pass: the 64x64 grid (tap-major sums, as on the CPU).
  for (int idx = tid; idx < kDownsampleDim * kDownsampleDim; idx += blockDim.x) {
    const int a = idx >> 6, b = idx & 63;
    const float* arow = f.acc + static_cast<long long>(a) * f.width + f.hfirst[b];
    float sum = 0.0f;
    for (int t = 0; t < f.htaps; ++t) sum += f.hbytap[t * kDownsampleDim + b] * arow[t];
    grid[f.transpose ? b * kDownsampleDim + a : a * kDownsampleDim + b] = sum;
  }
  __syncthreads();

  // Quality: integer sums, so the order does not matter.
  int local = 0;
  for (int idx = tid; idx < kDownsampleDim * kDownsampleDim; idx += blockDim.x) {
    const int i = idx >> 6, j = idx & 63;
    if (i < 63) local += quality_gradient(grid[i * 64 + j], grid[(i + 1) * 64 + j]);
    if (j < 63) local += quality_gradient(grid[i * 64 + j], grid[i * 64 + j + 1]);
  }
  atomicAdd(&gradient_sum, local);

  // T = D * G, then B = T * D^T, each sum over k in increasing order.
  for (int idx = tid; idx < kDctDim * kDownsampleDim; idx += blockDim.x) {
    const int i = idx >> 6, j = idx & 63;
    float sum = 0.0f;
    for (int k = 0; k < kDownsampleDim; ++k) sum += dct[i * 64 + k] * grid[k * 64 + j];
    t16x64[idx] = sum;
  }
  __syncthreads();
  {
    const int i = tid >> 4, j = tid & 15;
    float sum = 0.0f;
    for (int k = 0; k < kDownsampleDim; ++k) sum += t16x64[i * 64 + k] * dct[j * 64 + k];
    block[tid] = sum;
  }
  __syncthreads();
  if (tid == 0) out[blockIdx.x].quality = quality_from_gradient_sum(gradient_sum);

  const int transforms = f.dihedral ? kDihedralCount : 1;
  for (int d = 0; d < transforms; ++d) {
    const CoefficientSource s = dihedral_source(static_cast<Dihedral>(d), tid >> 4, tid & 15);
    moved[tid] = s.sign * block[s.i * kDctDim + s.j];
    __syncthreads();
    // The lower median (128th smallest): the value whose rank range covers 127.
    const float v = moved[tid];
    int less = 0, leq = 0;
    for (int u = 0; u < kHashBits; ++u) {
      less += moved[u] < v;
      leq += moved[u] <= v;
    }
    if (less <= 127 && 127 < leq) median = v;
    __syncthreads();
    const unsigned word = __ballot_sync(0xffffffffu, v > median);
    if ((tid & 31) == 0) out[blockIdx.x].bits[d][tid >> 5] = word;
    __syncthreads();
  }
}

struct DevicePlan {
  cuda::DeviceBuffer vfirst, vweights, hfirst, hbytap;
  int vtaps = 0, htaps = 0;
  bool transpose = false;
};

template <typename T>
void upload(cuda::DeviceBuffer& buf, const std::vector<T>& v) {
  buf.reserve(v.size() * sizeof(T) + 1);
  cuda::check(cudaMemcpy(buf.as<void>(), v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice),
              "upload plan");
}

// A staged frame's device memory and the event that marks its copy done.
// The backend keeps them from one video to the next: allocating and freeing
// device memory per video would cost a cudaMalloc per frame and, worse, a
// cudaFree, which waits for the whole device (every job's work).
struct StagingSlot {
  cuda::DeviceBuffer memory;
  cuda::Event copied;
};
using StagingSlots =
    std::deque<StagingSlot>;  // stable addresses: events stay where the ring saw them

// Stages frames for CudaBackend::hash on the backend's stream: host planes
// are uploaded, device planes (NVDEC surfaces) copied device-to-device, and
// each surface goes back to the decoder as soon as its copy has completed
// (at most kMaxHeldSources in flight), without a host wait per frame.
class CudaStager final : public FrameStager {
 public:
  CudaStager(int device, cudaStream_t stream, StagingSlots& slots, bool& in_use)
      : device_(device),
        stream_(stream),
        slots_(slots),
        in_use_(in_use),
        pending_(
            kMaxHeldSources,
            [](const cudaEvent_t& e) { return cudaEventQuery(e) != cudaErrorNotReady; },
            [](const cudaEvent_t& e) {
              cuda::check(cudaEventSynchronize(e), "wait for a staged copy");
            }) {
    in_use_ = true;
  }
  ~CudaStager() override {
    try {
      pending_.drain();
    } catch (...) {  // a failed copy was reported by hash(); release the surfaces anyway
    }
    in_use_ = false;
  }

  LumaPlane stage(const LumaPlane& p, std::shared_ptr<void> hold) override {
    cuda::use_device(device_);
    if (used_ == slots_.size()) slots_.emplace_back();
    StagingSlot& slot = slots_[used_++];
    const size_t rb = p.row_bytes();
    void* dst = slot.memory.reserve(rb * static_cast<size_t>(p.height) + 1);
    const bool device = p.location == MemoryLocation::kDevice;
    // A pageable host source is copied out before this call returns; a
    // device source must stay alive until the copy has run on the stream.
    cuda::check(
        cudaMemcpy2DAsync(dst, rb, p.data, static_cast<size_t>(p.pitch), rb,
                          static_cast<size_t>(p.height),
                          device ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice, stream_),
        "stage plane");
    if (device && hold) {
      cuda::check(cudaEventRecord(slot.copied.get(), stream_), "cudaEventRecord");
      pending_.add(slot.copied.get(), std::move(hold));
    }
    LumaPlane out = p;
    out.data = dst;
    out.pitch = static_cast<std::ptrdiff_t>(rb);
    out.location = MemoryLocation::kDevice;
    return out;
  }

  void reset() override {
    pending_.drain();
    used_ = 0;
  }

 private:
  int device_;
  cudaStream_t stream_;
  StagingSlots& slots_;  // the backend's
  bool& in_use_;
  size_t used_ = 0;
  PendingCopies<cudaEvent_t> pending_;
};

class CudaBackend final : public PdqBackend {
 public:
  explicit CudaBackend(int device) : device_(device) {
    cuda::use_device(device_);
    stream_ = std::make_unique<cuda::Stream>();
    const auto& d = dct_matrix();
    dct_.reserve(sizeof(float) * d.size());
    cuda::check(
        cudaMemcpy(dct_.as<void>(), d.data(), sizeof(float) * d.size(), cudaMemcpyHostToDevice),
        "upload DCT");
  }

  std::string_view name() const override { return "cuda"; }
  size_t preferred_batch() const override { return 64; }
  int cuda_device() const override { return device_; }
  // One stager at a time: it borrows the backend's slots (a backend serves
  // one thread, which hashes one video at a time), and the backend outlives it.
  std::unique_ptr<FrameStager> make_stager() override {
    if (stager_in_use_) throw std::logic_error("cuda backend: one stager at a time");
    return std::make_unique<CudaStager>(device_, stream_->get(), slots_, stager_in_use_);
  }

  void hash(std::span<const HashRequest> requests, std::span<PdqResult> out) override {
    if (requests.size() != out.size())
      throw std::invalid_argument("PdqBackend::hash: size mismatch");
    for (const HashRequest& r : requests)
      if (r.downsampler != Downsampler::kSeparable)
        throw std::invalid_argument("cuda backend: only the separable downsampler runs on the GPU");
    cuda::use_device(device_);
    std::vector<size_t> on_gpu;
    size_t staging_bytes = 0, acc_floats = 0;
    int max_width = 0;
    for (size_t i = 0; i < requests.size(); ++i) {
      const LumaPlane& p = requests[i].plane;
      out[i] = PdqResult{};
      out[i].has_dihedral = requests[i].want_dihedral;
      if (p.width < kMinHashableDim || p.height < kMinHashableDim) continue;
      on_gpu.push_back(i);
      if (p.location == MemoryLocation::kHost)
        staging_bytes += p.row_bytes() * static_cast<size_t>(p.height);
      acc_floats += static_cast<size_t>(kDownsampleDim) * static_cast<size_t>(p.width);
      max_width = std::max(max_width, p.width);
    }
    if (on_gpu.empty()) return;

    uint8_t* staging = static_cast<uint8_t*>(staging_.reserve(staging_bytes + 1));
    float* acc = static_cast<float*>(acc_.reserve(acc_floats * sizeof(float)));
    std::vector<FrameJob> jobs;
    size_t staged = 0, acc_used = 0;
    for (size_t i : on_gpu) {
      const HashRequest& r = requests[i];
      const LumaPlane& p = r.plane;
      const DevicePlan& plan = plan_for(p.width, p.height, r.orientation);
      FrameJob j{};
      if (p.location == MemoryLocation::kHost) {
        const size_t rb = p.row_bytes();
        cuda::check(cudaMemcpy2DAsync(staging + staged, rb, p.data, static_cast<size_t>(p.pitch),
                                      rb, static_cast<size_t>(p.height), cudaMemcpyHostToDevice,
                                      stream_->get()),
                    "upload plane");
        j.plane = staging + staged;
        j.pitch = static_cast<long long>(rb);
        staged += rb * static_cast<size_t>(p.height);
      } else {
        j.plane = static_cast<const uint8_t*>(p.data);
        j.pitch = p.pitch;
      }
      j.width = p.width;
      j.height = p.height;
      j.type = static_cast<int>(p.type);
      j.scale = p.type == SampleType::kF32 ? LumaScale{0.0f, 1.0f, false}
                                           : luma_scale(p.bit_depth, p.full_range);
      j.vfirst = plan.vfirst.as<int>();
      j.vweights = plan.vweights.as<float>();
      j.vtaps = plan.vtaps;
      j.hfirst = plan.hfirst.as<int>();
      j.hbytap = plan.hbytap.as<float>();
      j.htaps = plan.htaps;
      j.transpose = plan.transpose ? 1 : 0;
      j.dihedral = r.want_dihedral ? 1 : 0;
      j.acc = acc + acc_used;
      acc_used += static_cast<size_t>(kDownsampleDim) * static_cast<size_t>(p.width);
      jobs.push_back(j);
    }
    const size_t n = jobs.size();
    auto* host_jobs = static_cast<FrameJob*>(host_jobs_.reserve(n * sizeof(FrameJob)));
    std::memcpy(host_jobs, jobs.data(), n * sizeof(FrameJob));
    auto* dev_jobs = static_cast<FrameJob*>(jobs_.reserve(n * sizeof(FrameJob)));
    cuda::check(cudaMemcpyAsync(dev_jobs, host_jobs, n * sizeof(FrameJob), cudaMemcpyHostToDevice,
                                stream_->get()),
                "upload jobs");
    auto* dev_out = static_cast<FrameOut*>(results_.reserve(n * sizeof(FrameOut)));

    for (size_t first = 0; first < n; first += 65535) {  // grid.z limit
      const auto count = static_cast<unsigned>(std::min<size_t>(65535, n - first));
      const dim3 grid(static_cast<unsigned>((max_width + 127) / 128), kDownsampleDim, count);
      vertical_pass<<<grid, 128, 0, stream_->get()>>>(dev_jobs + first);
      cuda::check_launch("vertical_pass");
    }
    finish<<<static_cast<unsigned>(n), kFinishThreads, 0, stream_->get()>>>(
        dev_jobs, dct_.as<float>(), dev_out);
    cuda::check_launch("finish");
    auto* host_out = static_cast<FrameOut*>(host_out_.reserve(n * sizeof(FrameOut)));
    cuda::check(cudaMemcpyAsync(host_out, dev_out, n * sizeof(FrameOut), cudaMemcpyDeviceToHost,
                                stream_->get()),
                "download results");
    stream_->sync();

    for (size_t k = 0; k < n; ++k) {
      PdqResult& r = out[on_gpu[k]];
      r.quality = host_out[k].quality;
      const int transforms = requests[on_gpu[k]].want_dihedral ? kDihedralCount : 1;
      for (int d = 0; d < transforms; ++d) {
        Hash256 h;
        for (int w = 0; w < 4; ++w)
          h.words[static_cast<size_t>(w)] = uint64_t{host_out[k].bits[d][2 * w]} |
                                            (uint64_t{host_out[k].bits[d][2 * w + 1]} << 32);
        r.dihedral[static_cast<size_t>(d)] = h;
      }
      r.hash = r.dihedral[0];
    }
  }

 private:
  const DevicePlan& plan_for(int w, int h, Orientation o) {
    const auto key = std::make_tuple(w, h, o.transpose, o.flip_x, o.flip_y);
    auto it = plans_.find(key);
    if (it != plans_.end()) return it->second;
    const DownsamplePlan host(w, h, o);  // the CPU backend's weights, shared
    DevicePlan d;
    upload(d.vfirst, host.vertical.first);
    upload(d.vweights, host.vertical.weights);
    upload(d.hfirst, host.horizontal.first);
    upload(d.hbytap, host.horizontal_by_tap);
    d.vtaps = host.vertical.max_taps;
    d.htaps = host.horizontal.max_taps;
    d.transpose = o.transpose;
    if (plans_.size() > 64) plans_.clear();  // videos change size rarely; bound the cache
    return plans_.emplace(key, std::move(d)).first->second;
  }

  int device_;
  std::unique_ptr<cuda::Stream> stream_;
  cuda::DeviceBuffer dct_, staging_, acc_, jobs_, results_;
  cuda::PinnedBuffer host_jobs_, host_out_;
  std::map<std::tuple<int, int, bool, bool, bool>, DevicePlan> plans_;
  StagingSlots slots_;  // declared after stream_: destroyed first
  bool stager_in_use_ = false;
};

}  // namespace

bool cuda_built() { return true; }

int cuda_device_count(std::string* why) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    if (why) *why = cudaGetErrorString(e);
    cudaGetLastError();  // clear the sticky error
    return 0;
  }
  if (n == 0 && why) *why = "no CUDA device";
  return n;
}

std::unique_ptr<PdqBackend> make_cuda_backend(int device) {
  std::string why;
  const int n = cuda_device_count(&why);
  if (n == 0) throw std::runtime_error("no usable CUDA device: " + why);
  if (device < 0 || device >= n)
    throw std::runtime_error("CUDA device " + std::to_string(device) + " does not exist (" +
                             std::to_string(n) + " found)");
  return std::make_unique<CudaBackend>(device);
}

}  // namespace frameprint::pdq
