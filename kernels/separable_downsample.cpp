#include "kernels/separable_downsample.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

namespace frameprint::pdq {

AxisTaps AxisTaps::for_length(int n) {
  if (n < 1) throw std::invalid_argument("AxisTaps: length must be positive");
  const BoxExtent e = box_extent(jarosz_window_size(n));
  auto lo = [&](int o) { return std::max(0, o - e.left); };
  auto hi = [&](int o) { return std::min(n - 1, o + e.right); };

  // Weight of input k in output i: the box filter applied twice, sampled at
  // the decimation index s: sum over m in box(s) of 1/|box(s)| * 1/|box(m)|.
  struct Row {
    int first;
    std::vector<double> w;
  };
  std::vector<Row> rows(kDownsampleDim);
  int max_taps = 0;
  for (int i = 0; i < kDownsampleDim; ++i) {
    const int s = decimate_index(i, n);
    const int first = lo(lo(s));
    const int last = hi(hi(s));
    Row r{first, std::vector<double>(static_cast<size_t>(last - first + 1), 0.0)};
    const double ws = 1.0 / (hi(s) - lo(s) + 1);
    for (int m = lo(s); m <= hi(s); ++m) {
      const double wm = ws / (hi(m) - lo(m) + 1);
      for (int k = lo(m); k <= hi(m); ++k) r.w[static_cast<size_t>(k - first)] += wm;
    }
    max_taps = std::max(max_taps, static_cast<int>(r.w.size()));
    rows[static_cast<size_t>(i)] = std::move(r);
  }

  AxisTaps t;
  t.input_length = n;
  t.max_taps = max_taps;
  t.first.resize(kDownsampleDim);
  t.weights.assign(static_cast<size_t>(kDownsampleDim * max_taps), 0.0f);
  for (int i = 0; i < kDownsampleDim; ++i) {
    const Row& r = rows[static_cast<size_t>(i)];
    // Keep the padded window inside the axis: shift it left if needed.
    const int first = std::min(r.first, n - max_taps);
    t.first[static_cast<size_t>(i)] = first;
    for (size_t k = 0; k < r.w.size(); ++k)
      t.weights[static_cast<size_t>(i * max_taps) + static_cast<size_t>(r.first - first) + k] =
          static_cast<float>(r.w[k]);
  }
  return t;
}

AxisTaps AxisTaps::reversed() const {
  AxisTaps t = *this;
  for (int i = 0; i < kDownsampleDim; ++i) {
    t.first[static_cast<size_t>(i)] = input_length - (first[static_cast<size_t>(i)] + max_taps);
    for (int k = 0; k < max_taps; ++k)
      t.weights[static_cast<size_t>(i * max_taps + k)] =
          weights[static_cast<size_t>(i * max_taps + (max_taps - 1 - k))];
  }
  return t;
}

DownsamplePlan::DownsamplePlan(int w, int h, Orientation o)
    : stored_width(w), stored_height(h), orientation(o) {
  const AxisTaps rows = AxisTaps::for_length(displayed_height());
  const AxisTaps cols = AxisTaps::for_length(displayed_width());
  if (!o.transpose) {
    vertical = o.flip_y ? rows.reversed() : rows;
    horizontal = o.flip_x ? cols.reversed() : cols;
  } else {
    // Stored rows run along the displayed columns and vice versa.
    vertical = o.flip_x ? cols.reversed() : cols;
    horizontal = o.flip_y ? rows.reversed() : rows;
  }

  std::vector<int> count(static_cast<size_t>(h) + 1, 0);
  for (int a = 0; a < kDownsampleDim; ++a)
    for (int t = 0; t < vertical.max_taps; ++t)
      if (vertical.weights[static_cast<size_t>(a * vertical.max_taps + t)] != 0.0f)
        ++count[static_cast<size_t>(vertical.first[static_cast<size_t>(a)] + t) + 1];
  row_use_begin.assign(static_cast<size_t>(h) + 1, 0);
  for (int y = 0; y < h; ++y)
    row_use_begin[static_cast<size_t>(y) + 1] =
        row_use_begin[static_cast<size_t>(y)] + count[static_cast<size_t>(y) + 1];
  row_use_output.resize(static_cast<size_t>(row_use_begin.back()));
  row_use_weight.resize(static_cast<size_t>(row_use_begin.back()));
  row_use_first.resize(static_cast<size_t>(row_use_begin.back()));
  std::vector<int> fill(row_use_begin.begin(), row_use_begin.end() - 1);
  for (int a = 0; a < kDownsampleDim; ++a) {
    bool first = true;
    for (int t = 0; t < vertical.max_taps; ++t) {
      const float wt = vertical.weights[static_cast<size_t>(a * vertical.max_taps + t)];
      if (wt == 0.0f) continue;
      const int y = vertical.first[static_cast<size_t>(a)] + t;
      const auto slot = static_cast<size_t>(fill[static_cast<size_t>(y)]++);
      row_use_output[slot] = a;
      row_use_weight[slot] = wt;
      row_use_first[slot] = first ? 1 : 0;
      first = false;
    }
  }

  const int taps = horizontal.max_taps;
  horizontal_by_tap.resize(static_cast<size_t>(taps * kDownsampleDim));
  for (int b = 0; b < kDownsampleDim; ++b)
    for (int t = 0; t < taps; ++t)
      horizontal_by_tap[static_cast<size_t>(t * kDownsampleDim + b)] =
          horizontal.weights[static_cast<size_t>(b * taps + t)];
}

namespace {

// The hot loops: one pass over the plane. Built for AVX2 and baseline x86-64
// and picked at run time; no fused multiply-add, so both give the same sums.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define FP_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define FP_MULTIVERSION
#endif

// dst (=|+=) w * map(src): the first row an output uses stores, later ones add.
template <typename T, typename Map>
inline void weigh_row(float* __restrict dst, const T* __restrict src, int n, float w, Map map,
                      bool store) {
  if (store)
    for (int x = 0; x < n; ++x) dst[x] = w * map(static_cast<float>(src[x]));
  else
    for (int x = 0; x < n; ++x) dst[x] += w * map(static_cast<float>(src[x]));
}

// Limited-range codes are clamped to 0..255 as an RGB conversion would;
// full-range codes and float luma map linearly.
template <typename T>
inline void weigh_codes(float* dst, const T* src, int n, float w, LumaScale s, bool store) {
  if (s.clamp)
    weigh_row(
        dst, src, n, w, [s](float c) { return luma_from_code_clamped(c, s); }, store);
  else
    weigh_row(
        dst, src, n, w, [s](float c) { return luma_from_code_linear(c, s); }, store);
}

FP_MULTIVERSION void weigh_row_u8(float* dst, const uint8_t* src, int n, float w, LumaScale s,
                                  bool store) {
  weigh_codes(dst, src, n, w, s, store);
}
FP_MULTIVERSION void weigh_row_u16(float* dst, const uint16_t* src, int n, float w, LumaScale s,
                                   bool store) {
  weigh_codes(dst, src, n, w, s, store);
}
FP_MULTIVERSION void weigh_row_f32(float* dst, const float* src, int n, float w, bool store) {
  weigh_row(
      dst, src, n, w, [](float v) { return v; }, store);
}

}  // namespace

void separable_downsample(const LumaPlane& plane, const DownsamplePlan& plan, Grid64& out,
                          std::vector<float>& scratch) {
  if (plane.location != MemoryLocation::kHost)
    throw std::invalid_argument("separable_downsample: plane is not in host memory");
  if (plane.width != plan.stored_width || plane.height != plan.stored_height)
    throw std::invalid_argument("separable_downsample: plane size does not match the plan");
  const int w = plane.width;
  const auto width = static_cast<size_t>(w);
  // 64 accumulator rows; each is stored by its first input row, so no
  // clearing is needed.
  scratch.resize(width * kDownsampleDim);
  float* acc = scratch.data();
  const LumaScale scale = luma_scale(plane.bit_depth, plane.full_range);

  // Vertical pass: every input row is read once and weighed into the
  // (usually one or two) output rows whose taps cover it.
  for (int y = 0; y < plane.height; ++y) {
    const auto begin = static_cast<size_t>(plan.row_use_begin[static_cast<size_t>(y)]);
    const auto end = static_cast<size_t>(plan.row_use_begin[static_cast<size_t>(y) + 1]);
    for (size_t u = begin; u < end; ++u) {
      float* dst = acc + width * static_cast<size_t>(plan.row_use_output[u]);
      const float wt = plan.row_use_weight[u];
      const bool store = plan.row_use_first[u] != 0;
      switch (plane.type) {
        case SampleType::kU8: weigh_row_u8(dst, plane.row<uint8_t>(y), w, wt, scale, store); break;
        case SampleType::kU16:
          weigh_row_u16(dst, plane.row<uint16_t>(y), w, wt, scale, store);
          break;
        case SampleType::kF32: weigh_row_f32(dst, plane.row<float>(y), w, wt, store); break;
      }
    }
  }

  // Horizontal pass over the 64 rows: tap-major, so the 64 sums of a row
  // accumulate side by side.
  const AxisTaps& hz = plan.horizontal;
  const int* first = hz.first.data();
  for (int a = 0; a < kDownsampleDim; ++a) {
    const float* arow = acc + width * static_cast<size_t>(a);
    std::array<float, kDownsampleDim> sums{};
    for (int t = 0; t < hz.max_taps; ++t) {
      const float* wt = &plan.horizontal_by_tap[static_cast<size_t>(t * kDownsampleDim)];
      for (int b = 0; b < kDownsampleDim; ++b)
        sums[static_cast<size_t>(b)] += wt[b] * arow[first[b] + t];
    }
    // G[a][b]; transposed plans put stored rows along displayed columns.
    for (int b = 0; b < kDownsampleDim; ++b) {
      if (plan.orientation.transpose)
        out[static_cast<size_t>(b * kDownsampleDim + a)] = sums[static_cast<size_t>(b)];
      else out[static_cast<size_t>(a * kDownsampleDim + b)] = sums[static_cast<size_t>(b)];
    }
  }
}

}  // namespace frameprint::pdq
