#include "kernels/jarosz.h"

namespace frameprint::pdq {

namespace {

// Running-sum box filter of one vector (length n, elements `stride` apart).
// The window grows from the left edge, slides, and shrinks at the right edge;
// the sums and divisions happen in the same order as the reference's, which
// is what keeps the float results identical.
void box_1d(const float* in, float* out, int n, int stride, int window) {
  const BoxExtent e = box_extent(window);
  const int half = e.right + 1;
  const int warmup = half - 1;
  const int growing = window - half + 1;
  const int sliding = n - window;
  const int shrinking = half - 1;

  long li = 0, ri = 0, oi = 0;
  float sum = 0.0f;
  int count = 0;
  for (int i = 0; i < warmup; ++i, ri += stride) {
    sum += in[ri];
    ++count;
  }
  for (int i = 0; i < growing; ++i, ri += stride, oi += stride) {
    sum += in[ri];
    ++count;
    out[oi] = sum / static_cast<float>(count);
  }
  for (int i = 0; i < sliding; ++i, li += stride, ri += stride, oi += stride) {
    sum += in[ri];
    sum -= in[li];
    out[oi] = sum / static_cast<float>(count);
  }
  for (int i = 0; i < shrinking; ++i, li += stride, oi += stride) {
    sum -= in[li];
    --count;
    out[oi] = sum / static_cast<float>(count);
  }
}

}  // namespace

void jarosz_downsample(std::span<float> luma, std::span<float> scratch, int rows, int cols,
                       Grid64& out) {
  const int window_along_rows = jarosz_window_size(cols);
  const int window_along_cols = jarosz_window_size(rows);
  float* a = luma.data();
  float* b = scratch.data();
  for (int pass = 0; pass < kJaroszPasses; ++pass) {
    for (int r = 0; r < rows; ++r)
      box_1d(a + static_cast<long>(r) * cols, b + static_cast<long>(r) * cols, cols, 1,
             window_along_rows);
    for (int c = 0; c < cols; ++c) box_1d(b + c, a + c, rows, cols, window_along_cols);
  }
  for (int i = 0; i < kDownsampleDim; ++i) {
    const long src_row = decimate_index(i, rows);
    for (int j = 0; j < kDownsampleDim; ++j)
      out[i * kDownsampleDim + j] = a[src_row * cols + decimate_index(j, cols)];
  }
}

PdqResult hash_float_luma_reference(std::span<float> luma, std::span<float> scratch, int rows,
                                    int cols, bool want_dihedral) {
  if (rows < kMinHashableDim || cols < kMinHashableDim) {
    PdqResult r;
    r.has_dihedral = want_dihedral;
    return r;
  }
  Grid64 grid;
  jarosz_downsample(luma, scratch, rows, cols, grid);
  return finish_from_grid(grid, want_dihedral);
}

}  // namespace frameprint::pdq
