// GPU figures for the lent H100 (built only with CUDA; without a device each
// benchmark reports the reason and is skipped).
//   build/bin/frameprint_bench_gpu
// BM_DeviceCopy: device-to-device copy bandwidth (bytes read + written).
// BM_CudaPdqBatch: PDQ of 1080p 8-bit luma planes already in device memory,
//   256 per call (issue 3 target: >= 300,000 frames/s on an H100).
// BM_GpuHashSearch: 10,000,000-entry list, 10,000 queries a batch, threshold
//   31 (issue 5 target: >= 100 billion comparisons/s).
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/hash_search_cuda.h"
#include "kernels/pdq_cuda.h"

namespace {

using namespace frameprint;

bool have_device(benchmark::State& state) {
  std::string why;
  if (pdq::cuda_device_count(&why) > 0) return true;
  state.SkipWithError(("no CUDA device: " + why).c_str());
  return false;
}

void BM_DeviceCopy(benchmark::State& state) {
  if (!have_device(state)) return;
  const size_t bytes = size_t{1} << 30;
  cuda::DeviceBuffer a, b;
  a.reserve(bytes);
  b.reserve(bytes);
  for (auto _ : state) {
    cuda::check(cudaMemcpy(b.as<void>(), a.as<void>(), bytes, cudaMemcpyDeviceToDevice), "copy");
    cuda::check(cudaDeviceSynchronize(), "sync");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(2 * bytes));
}
BENCHMARK(BM_DeviceCopy)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_CudaPdqBatch(benchmark::State& state) {
  if (!have_device(state)) return;
  const int w = 1920, h = 1080, batch = 256;
  std::vector<uint8_t> host(static_cast<size_t>(w) * h);
  std::mt19937 rng(1);
  for (auto& p : host) p = static_cast<uint8_t>(16 + rng() % 220);
  cuda::DeviceBuffer planes;
  planes.reserve(host.size() * batch);
  for (int i = 0; i < batch; ++i)
    cuda::check(cudaMemcpy(planes.as<uint8_t>() + host.size() * static_cast<size_t>(i), host.data(),
                           host.size(), cudaMemcpyHostToDevice),
                "upload");
  std::vector<pdq::HashRequest> reqs;
  for (int i = 0; i < batch; ++i)
    reqs.push_back({LumaPlane{planes.as<uint8_t>() + host.size() * static_cast<size_t>(i), w, w, h,
                              SampleType::kU8, 8, false, MemoryLocation::kDevice},
                    {},
                    pdq::Downsampler::kSeparable,
                    false});
  auto backend = pdq::make_cuda_backend(0);
  std::vector<pdq::PdqResult> out(reqs.size());
  backend->hash(reqs, out);  // warm up: plans, buffers
  for (auto _ : state) backend->hash(reqs, out);
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * batch *
                          static_cast<int64_t>(host.size()));
}
BENCHMARK(BM_CudaPdqBatch)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_GpuHashSearch(benchmark::State& state) {
  if (!have_device(state)) return;
  std::mt19937_64 rng(2);
  std::vector<Hash256> list(10'000'000), queries(10'000);
  for (auto& x : list)
    for (auto& word : x.words) word = rng();
  for (auto& x : queries)
    for (auto& word : x.words) word = rng();
  auto gpu = pdq::make_gpu_hash_list(list, 0);
  std::vector<std::vector<pdq::HashHit>> hits;
  for (auto _ : state) gpu->search(queries, 31, hits);
  state.counters["comparisons_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * 1e7 * 1e4, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_GpuHashSearch)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
