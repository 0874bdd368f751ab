#include "separable_downsample.h"

#include <algorithm>
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
  std::vector<int> fill(row_use_begin.begin(), row_use_begin.end() - 1);
  for (int a = 0; a < kDownsampleDim; ++a) {
    for (int t = 0; t < vertical.max_taps; ++t) {
      const float wt = vertical.weights[static_cast<size_t>(a * vertical.max_taps + t)];
      if (wt == 0.0f) continue;
      const int y = vertical.first[static_cast<size_t>(a)] + t;
      const auto slot = static_cast<size_t>(fill[static_cast<size_t>(y)]++);
      row_use_output[slot] = a;
      row_use_weight[slot] = wt;
    }
  }
}

namespace {

template <typename T>
void convert_row(const T* src, float* dst, int n, LumaScale s) {
  if (s.clamp) {
    for (int x = 0; x < n; ++x) {
      float v = (static_cast<float>(src[x]) - s.offset) * s.gain;
      v = v < 0.0f ? 0.0f : v;
      dst[x] = v > 255.0f ? 255.0f : v;
    }
  } else {
    for (int x = 0; x < n; ++x) dst[x] = (static_cast<float>(src[x]) - s.offset) * s.gain;
  }
}

void accumulate(float* __restrict acc, const float* __restrict row, float w, int n) {
  for (int x = 0; x < n; ++x) acc[x] += w * row[x];
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
  scratch.assign(width * (kDownsampleDim + 1), 0.0f);
  float* acc = scratch.data();                       // 64 rows of w floats
  float* row = scratch.data() + width * kDownsampleDim;  // one converted input row
  const LumaScale scale = luma_scale(plane.bit_depth, plane.full_range);

  for (int y = 0; y < plane.height; ++y) {
    const int begin = plan.row_use_begin[static_cast<size_t>(y)];
    const int end = plan.row_use_begin[static_cast<size_t>(y) + 1];
    if (begin == end) continue;
    const float* src = row;
    switch (plane.type) {
      case SampleType::kU8: convert_row(plane.row<uint8_t>(y), row, w, scale); break;
      case SampleType::kU16: convert_row(plane.row<uint16_t>(y), row, w, scale); break;
      case SampleType::kF32: src = plane.row<float>(y); break;
    }
    for (int u = begin; u < end; ++u)
      accumulate(acc + width * static_cast<size_t>(plan.row_use_output[static_cast<size_t>(u)]),
                 src, plan.row_use_weight[static_cast<size_t>(u)], w);
  }

  const AxisTaps& hz = plan.horizontal;
  for (int a = 0; a < kDownsampleDim; ++a) {
    const float* arow = acc + width * static_cast<size_t>(a);
    for (int b = 0; b < kDownsampleDim; ++b) {
      const float* wts = &hz.weights[static_cast<size_t>(b * hz.max_taps)];
      const float* in = arow + hz.first[static_cast<size_t>(b)];
      float sum = 0.0f;
      for (int t = 0; t < hz.max_taps; ++t) sum += wts[t] * in[t];
      // G[a][b]; transposed plans put stored rows along displayed columns.
      if (plan.orientation.transpose) out[static_cast<size_t>(b * kDownsampleDim + a)] = sum;
      else out[static_cast<size_t>(a * kDownsampleDim + b)] = sum;
    }
  }
}

}  // namespace frameprint::pdq
