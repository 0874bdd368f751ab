// The per-pixel and per-coefficient steps of PDQ, written once and shared by
// the CPU backend and the CUDA kernels. Everything here is inline and usable
// from host and device code; nothing allocates or touches I/O.
//
// Floating-point expressions follow Meta's reference implementation operation
// by operation (float where it uses float, double where it uses double), since
// hashes of the same bytes must be bit-identical to the reference's.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define FP_HD __host__ __device__ __forceinline__
#else
#define FP_HD inline
#endif

namespace frameprint::pdq {

inline constexpr int kDownsampleDim = 64;  // the image-domain grid PDQ works on
inline constexpr int kDctDim = 16;         // coefficients 1..16 of the 64-point DCT
inline constexpr int kHashBits = kDctDim * kDctDim;
inline constexpr int kMinHashableDim = 5;     // smaller inputs hash to zero, quality 0
inline constexpr int kJaroszPasses = 2;       // two box passes per axis = tent filter
inline constexpr int kMaxReferenceDim = 512;  // still images are shrunk to this first

// Luma of an RGB pixel, in float, with the reference's float coefficients.
FP_HD float luma_from_rgb(uint8_t r, uint8_t g, uint8_t b) {
  const float cr = 0.299f, cg = 0.587f, cb = 0.114f;
  return cr * static_cast<float>(r) + cg * static_cast<float>(g) + cb * static_cast<float>(b);
}

// Box-filter window for one axis: half of old/new, rounded up.
FP_HD int jarosz_window_size(int old_dim, int new_dim = kDownsampleDim) {
  return (old_dim + 2 * new_dim - 1) / (2 * new_dim);
}

// The box filter of the reference averages in[o - left .. o + right], clipped
// to the vector. For window 7 that is 3 and 3, for window 8 it is 3 and 4.
struct BoxExtent {
  int left;
  int right;
};
FP_HD BoxExtent box_extent(int window) {
  const int half = (window + 2) / 2;
  return BoxExtent{window - half, half - 1};
}

// Which input row (or column) feeds output row (or column) `out` of the
// decimation to 64: the sample nearest the centre of its cell.
FP_HD int decimate_index(int out, int in_dim, int out_dim = kDownsampleDim) {
  return static_cast<int>(((out + 0.5) * in_dim) / out_dim);
}

// Nearest-neighbour source index when a still image is first shrunk to 512
// (the reference's CImg resize): floor(out * in_dim / out_dim).
FP_HD int shrink_index(int out, int in_dim, int out_dim = kMaxReferenceDim) {
  return static_cast<int>((static_cast<int64_t>(out) * in_dim) / out_dim);
}

// One term of the quality metric: the quantised gradient between two
// neighbouring cells of the 64x64 grid.
FP_HD int quality_gradient(float u, float v) {
  const int d = static_cast<int>(((u - v) * 100) / 255);
  return d < 0 ? -d : d;
}

// Quality from the summed gradients, 0..100.
FP_HD int quality_from_gradient_sum(int gradient_sum) {
  const int q = gradient_sum / 90;
  return q > 100 ? 100 : q;
}

// Mapping of a video luma sample to the 0..255 scale of RGB-derived luma.
// Limited ("MPEG") range puts black at 16 and white at 235 (scaled by
// 2^(bits-8)); values beyond are clamped as an RGB conversion would.
struct LumaScale {
  float offset;  // subtracted first
  float gain;    // then multiplied
  bool clamp;
};
FP_HD LumaScale luma_scale(int bit_depth, bool full_range) {
  const float unit = static_cast<float>(1 << (bit_depth - 8));
  if (full_range) {
    const float max_code = static_cast<float>((1 << bit_depth) - 1);
    return LumaScale{0.0f, 255.0f / max_code, false};
  }
  return LumaScale{16.0f * unit, 255.0f / (219.0f * unit), true};
}
// The two mappings, branch-free so loops over a row vectorise.
FP_HD float luma_from_code_linear(float code, LumaScale s) { return (code - s.offset) * s.gain; }
FP_HD float luma_from_code_clamped(float code, LumaScale s) {
  float v = (code - s.offset) * s.gain;
  v = v < 0.0f ? 0.0f : v;
  return v > 255.0f ? 255.0f : v;
}
FP_HD float apply_luma_scale(float code, LumaScale s) {
  return s.clamp ? luma_from_code_clamped(code, s) : luma_from_code_linear(code, s);
}

// The eight dihedral transforms of an image and their effect on the 16x16
// DCT block: output coefficient (i, j) is sign * input (src_i, src_j).
enum class Dihedral : int {
  kOriginal = 0,
  kRotate90 = 1,
  kRotate180 = 2,
  kRotate270 = 3,
  kFlipX = 4,
  kFlipY = 5,
  kFlipPlus1 = 6,
  kFlipMinus1 = 7,
};
inline constexpr int kDihedralCount = 8;

struct CoefficientSource {
  int i;
  int j;
  float sign;
};
// Coefficient (i, j) of the transformed image's block, in terms of the
// original block. Coefficient index k here is frequency k+1, so "odd" in the
// sign rules below is about the 0-based index.
FP_HD CoefficientSource dihedral_source(Dihedral d, int i, int j) {
  switch (d) {
    case Dihedral::kOriginal: return {i, j, 1.0f};
    case Dihedral::kRotate90: return {j, i, (i & 1) ? 1.0f : -1.0f};
    case Dihedral::kRotate180: return {i, j, ((i + j) & 1) ? -1.0f : 1.0f};
    case Dihedral::kRotate270: return {j, i, (j & 1) ? 1.0f : -1.0f};
    case Dihedral::kFlipX: return {i, j, (i & 1) ? 1.0f : -1.0f};
    case Dihedral::kFlipY: return {i, j, (j & 1) ? 1.0f : -1.0f};
    case Dihedral::kFlipPlus1: return {j, i, 1.0f};
    case Dihedral::kFlipMinus1: return {j, i, ((i + j) & 1) ? -1.0f : 1.0f};
  }
  return {i, j, 1.0f};
}

}  // namespace frameprint::pdq
