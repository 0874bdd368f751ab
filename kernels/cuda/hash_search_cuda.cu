// GPU brute-force Hamming search. The list is stored as four arrays of
// 64-bit words (coalesced loads); each block stages 64 queries in shared
// memory and each thread compares one list entry with all of them. Hits go
// to a buffer through an atomic counter; if it overflows, the batch runs
// again with a buffer of the size the counter reached.
#include <cuda_runtime.h>

#include <algorithm>

#include "kernels/cuda/cuda_check.h"
#include "kernels/hash_search_cuda.h"
#include "kernels/pdq_cuda.h"

namespace frameprint::pdq {

namespace {

constexpr int kThreads = 256;
constexpr int kQueriesPerBlock = 64;

struct DeviceHit {
  uint32_t query;
  uint32_t entry;
  int distance;
};

__global__ void compare_all(const unsigned long long* __restrict__ w0,
                            const unsigned long long* __restrict__ w1,
                            const unsigned long long* __restrict__ w2,
                            const unsigned long long* __restrict__ w3, unsigned n,
                            const unsigned long long* __restrict__ queries, unsigned nq,
                            int threshold, DeviceHit* hits, unsigned capacity, unsigned* count) {
  __shared__ unsigned long long q[kQueriesPerBlock][4];
  const unsigned q0 = blockIdx.y * kQueriesPerBlock;
  for (unsigned k = threadIdx.x; k < kQueriesPerBlock * 4; k += blockDim.x) {
    const unsigned qi = q0 + k / 4;
    q[k / 4][k % 4] = qi < nq ? queries[qi * 4 + k % 4] : 0ull;
  }
  __syncthreads();
  const unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const unsigned long long a = w0[i], b = w1[i], c = w2[i], d = w3[i];
  const unsigned last = min(static_cast<unsigned>(kQueriesPerBlock), nq - q0);
  for (unsigned k = 0; k < last; ++k) {
    const int dist = __popcll(a ^ q[k][0]) + __popcll(b ^ q[k][1]) + __popcll(c ^ q[k][2]) +
                     __popcll(d ^ q[k][3]);
    if (dist <= threshold) {
      const unsigned slot = atomicAdd(count, 1u);
      if (slot < capacity) hits[slot] = DeviceHit{q0 + k, i, dist};
    }
  }
}

class CudaHashList final : public GpuHashList {
 public:
  CudaHashList(std::span<const Hash256> list, int device) : device_(device), n_(list.size()) {
    if (n_ >= 0xFFFFFFFFu) throw std::length_error("GpuHashList: too many entries");
    cuda::use_device(device_);
    std::vector<unsigned long long> words(n_);
    for (int w = 0; w < 4; ++w) {
      for (size_t i = 0; i < n_; ++i) words[i] = list[i].words[static_cast<size_t>(w)];
      words_[w].reserve(n_ * sizeof(unsigned long long) + 8);
      cuda::check(cudaMemcpy(words_[w].as<void>(), words.data(), n_ * sizeof(unsigned long long),
                             cudaMemcpyHostToDevice),
                  "upload list");
    }
    count_.reserve(sizeof(unsigned));
  }

  size_t size() const override { return n_; }

  void search(std::span<const Hash256> queries, int threshold,
              std::vector<std::vector<HashHit>>& out) override {
    cuda::use_device(device_);
    out.assign(queries.size(), {});
    if (queries.empty() || n_ == 0 || threshold < 0) return;
    std::vector<unsigned long long> q(queries.size() * 4);
    for (size_t i = 0; i < queries.size(); ++i)
      for (int w = 0; w < 4; ++w)
        q[i * 4 + static_cast<size_t>(w)] = queries[i].words[static_cast<size_t>(w)];
    queries_.reserve(q.size() * sizeof(unsigned long long));
    cuda::check(
        cudaMemcpyAsync(queries_.as<void>(), q.data(), q.size() * sizeof(unsigned long long),
                        cudaMemcpyHostToDevice, stream_.get()),
        "upload queries");
    for (;;) {
      hits_.reserve(capacity_ * sizeof(DeviceHit));
      cuda::check(cudaMemsetAsync(count_.as<void>(), 0, sizeof(unsigned), stream_.get()),
                  "reset count");
      const dim3 grid(
          static_cast<unsigned>((n_ + kThreads - 1) / kThreads),
          static_cast<unsigned>((queries.size() + kQueriesPerBlock - 1) / kQueriesPerBlock));
      compare_all<<<grid, kThreads, 0, stream_.get()>>>(
          words_[0].as<unsigned long long>(), words_[1].as<unsigned long long>(),
          words_[2].as<unsigned long long>(), words_[3].as<unsigned long long>(),
          static_cast<unsigned>(n_), queries_.as<unsigned long long>(),
          static_cast<unsigned>(queries.size()), threshold, hits_.as<DeviceHit>(),
          static_cast<unsigned>(capacity_), count_.as<unsigned>());
      cuda::check_launch("compare_all");
      unsigned count = 0;
      cuda::check(cudaMemcpyAsync(&count, count_.as<void>(), sizeof count, cudaMemcpyDeviceToHost,
                                  stream_.get()),
                  "download count");
      stream_.sync();
      if (count > capacity_) {  // overflow: run again with room for all
        capacity_ = count;
        continue;
      }
      std::vector<DeviceHit> hits(count);
      if (count > 0)
        cuda::check(cudaMemcpy(hits.data(), hits_.as<void>(), count * sizeof(DeviceHit),
                               cudaMemcpyDeviceToHost),
                    "download hits");
      for (const auto& h : hits) out[h.query].push_back({h.entry, h.distance});
      return;
    }
  }

 private:
  int device_;
  size_t n_;
  cuda::Stream stream_;
  cuda::DeviceBuffer words_[4], queries_, hits_, count_;
  size_t capacity_ = 1 << 16;
};

}  // namespace

std::unique_ptr<GpuHashList> make_gpu_hash_list(std::span<const Hash256> list, int device) {
  std::string why;
  const int n = cuda_device_count(&why);
  if (n == 0) throw std::runtime_error("no usable CUDA device: " + why);
  if (device < 0 || device >= n)
    throw std::runtime_error("CUDA device " + std::to_string(device) + " does not exist");
  return std::make_unique<CudaHashList>(list, device);
}

}  // namespace frameprint::pdq
