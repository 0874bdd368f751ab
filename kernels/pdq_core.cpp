#include "kernels/pdq_core.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace frameprint::pdq {

const std::array<float, kDctDim * kDownsampleDim>& dct_matrix() {
  static const std::array<float, kDctDim* kDownsampleDim> matrix = [] {
    std::array<float, kDctDim * kDownsampleDim> m{};
    const float scale = static_cast<float>(std::sqrt(2.0 / double{kDownsampleDim}));
    const double step = std::numbers::pi / 2.0 / double{kDownsampleDim};
    for (int i = 0; i < kDctDim; ++i) {
      for (int j = 0; j < kDownsampleDim; ++j) {
        const double angle = step * static_cast<double>(i + 1) * static_cast<double>(2 * j + 1);
        m[i * kDownsampleDim + j] = static_cast<float>(scale * std::cos(angle));
      }
    }
    return m;
  }();
  return matrix;
}

int quality(const Grid64& g) {
  constexpr int n = kDownsampleDim;
  int sum = 0;
  for (int i = 0; i < n - 1; ++i)
    for (int j = 0; j < n; ++j) sum += quality_gradient(g[i * n + j], g[(i + 1) * n + j]);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n - 1; ++j) sum += quality_gradient(g[i * n + j], g[i * n + j + 1]);
  return quality_from_gradient_sum(sum);
}

void dct_64_to_16(const Grid64& a, Dct16& out) {
  constexpr int n = kDownsampleDim;
  constexpr int m = kDctDim;
  const auto& d = dct_matrix();
  // T = D * A. Each T[i][j] is summed over k in increasing order, as in the
  // reference; looping j innermost lets the compiler vectorise across j
  // without changing any element's order of additions.
  std::array<float, m * n> t{};
  for (int i = 0; i < m; ++i) {
    float* trow = &t[i * n];
    for (int k = 0; k < n; ++k) {
      const float dik = d[i * n + k];
      const float* arow = &a[k * n];
      for (int j = 0; j < n; ++j) trow[j] += dik * arow[j];
    }
  }
  // B = T * D^T, again summed over k in increasing order.
  std::array<float, n * m> dt{};  // D transposed: dt[k][j] = D[j][k]
  for (int j = 0; j < m; ++j)
    for (int k = 0; k < n; ++k) dt[k * m + j] = d[j * n + k];
  out.fill(0.0f);
  for (int i = 0; i < m; ++i) {
    float* brow = &out[i * m];
    for (int k = 0; k < n; ++k) {
      const float tik = t[i * n + k];
      const float* dtrow = &dt[k * m];
      for (int j = 0; j < m; ++j) brow[j] += tik * dtrow[j];
    }
  }
}

namespace {
// The reference takes Torben's median of the 256 coefficients, which for an
// even count is the lower median: the 128th smallest value.
float lower_median(const Dct16& block) {
  Dct16 copy = block;
  auto mid = copy.begin() + (kHashBits - 1) / 2;
  std::nth_element(copy.begin(), mid, copy.end());
  return *mid;
}
}  // namespace

Hash256 hash_bits(const Dct16& block, Dihedral transform) {
  // Sign flips move the median, so it is taken on the transformed block,
  // as the reference does.
  Dct16 moved;
  for (int i = 0; i < kDctDim; ++i) {
    for (int j = 0; j < kDctDim; ++j) {
      const CoefficientSource s = dihedral_source(transform, i, j);
      moved[i * kDctDim + j] = s.sign * block[s.i * kDctDim + s.j];
    }
  }
  const float median = lower_median(moved);
  Hash256 h;
  for (int k = 0; k < kHashBits; ++k)
    if (moved[k] > median) h.set_bit(k);
  return h;
}

PdqResult finish_from_grid(const Grid64& grid, bool want_dihedral) {
  PdqResult r;
  r.quality = quality(grid);
  Dct16 block;
  dct_64_to_16(grid, block);
  r.hash = hash_bits(block, Dihedral::kOriginal);
  r.dihedral[0] = r.hash;
  if (want_dihedral) {
    r.has_dihedral = true;
    for (int d = 1; d < kDihedralCount; ++d)
      r.dihedral[d] = hash_bits(block, static_cast<Dihedral>(d));
  }
  return r;
}

}  // namespace frameprint::pdq
