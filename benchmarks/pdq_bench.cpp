// PDQ step alone on one core, per frame: the separable path on 8-bit video
// luma (what videos use) and the reference path on float luma (stills).
// Run: build/bin/frameprint_bench_pdq
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/pdq_backend.h"

namespace {

using namespace frameprint;

std::vector<uint8_t> luma_u8(int w, int h) {
  std::vector<uint8_t> v(static_cast<size_t>(w) * static_cast<size_t>(h));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      v[static_cast<size_t>(y * w + x)] = static_cast<uint8_t>(
          16 + 100 + 99 * std::sin(x * 0.031 + y * 0.017) * std::cos(y * 0.023));
  return v;
}

void BM_PdqVideoFrame(benchmark::State& state) {
  const int w = static_cast<int>(state.range(0)), h = static_cast<int>(state.range(1));
  const auto px = luma_u8(w, h);
  auto backend = pdq::make_cpu_backend();
  const pdq::HashRequest req{LumaPlane{px.data(), w, w, h, SampleType::kU8, 8, false},
                             {},
                             pdq::Downsampler::kSeparable,
                             false};
  for (auto _ : state) benchmark::DoNotOptimize(backend->hash_one(req));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PdqVideoFrame)
    ->Args({512, 512})
    ->Args({720, 480})
    ->Args({1920, 1080})
    ->Unit(benchmark::kMicrosecond);

void BM_PdqVideoFrameRotated(benchmark::State& state) {
  const int w = 1920, h = 1080;
  const auto px = luma_u8(w, h);
  auto backend = pdq::make_cpu_backend();
  const pdq::HashRequest req{LumaPlane{px.data(), w, w, h, SampleType::kU8, 8, false},
                             Orientation::rotation_cw(90), pdq::Downsampler::kSeparable, false};
  for (auto _ : state) benchmark::DoNotOptimize(backend->hash_one(req));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PdqVideoFrameRotated)->Unit(benchmark::kMicrosecond);

void BM_PdqStillImageReference(benchmark::State& state) {
  const int w = static_cast<int>(state.range(0)), h = static_cast<int>(state.range(1));
  const auto px8 = luma_u8(w, h);
  std::vector<float> px(px8.begin(), px8.end());
  auto backend = pdq::make_cpu_backend();
  const pdq::HashRequest req{LumaPlane{px.data(), static_cast<std::ptrdiff_t>(w * sizeof(float)), w,
                                       h, SampleType::kF32, 8, true},
                             {},
                             pdq::Downsampler::kReference,
                             state.range(2) != 0};
  for (auto _ : state) benchmark::DoNotOptimize(backend->hash_one(req));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PdqStillImageReference)
    ->Args({512, 512, 0})
    ->Args({512, 512, 1})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
