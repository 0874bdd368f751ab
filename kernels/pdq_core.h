// The back half of PDQ, shared by every downsampling path: from the 64x64
// image-domain grid to quality, the 16x16 DCT block and the hash bits.
#pragma once

#include <array>

#include "kernels/hash256.h"
#include "kernels/pdq_math.h"

namespace frameprint::pdq {

using Grid64 = std::array<float, kDownsampleDim * kDownsampleDim>;  // row-major
using Dct16 = std::array<float, kDctDim * kDctDim>;                 // row-major

// The 16x64 DCT-II basis rows for frequencies 1..16, built exactly as the
// reference builds it (double cosine, scaled and stored in float).
const std::array<float, kDctDim * kDownsampleDim>& dct_matrix();

// Quality 0..100 from the gradients of the 64x64 grid.
int quality(const Grid64& grid);

// D * grid * D^T, accumulated in the reference's order, so the result is
// bit-identical to the reference on the same grid.
void dct_64_to_16(const Grid64& grid, Dct16& out);

// The hash of the block as seen through a dihedral transform: bit (i, j) is
// set when that coefficient exceeds the block's median.
Hash256 hash_bits(const Dct16& block, Dihedral transform = Dihedral::kOriginal);

// What a PDQ backend returns for one image or frame.
struct PdqResult {
  Hash256 hash;
  int quality = 0;
  bool has_dihedral = false;
  std::array<Hash256, kDihedralCount> dihedral{};  // indexed by Dihedral; [0] == hash
};

// Grid -> result: quality, DCT, bits (and the seven other dihedral hashes).
PdqResult finish_from_grid(const Grid64& grid, bool want_dihedral);

}  // namespace frameprint::pdq
