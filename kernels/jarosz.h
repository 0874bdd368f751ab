// The reference's downsampling, step for step: two passes of running-sum box
// filters along rows then columns over the full-resolution float luma, then
// decimation to 64x64. Used for still images (at most 512x512 after the
// shrink), where hashes must equal the reference's bit for bit.
#pragma once

#include <span>

#include "kernels/pdq_core.h"

namespace frameprint::pdq {

// luma: rows x cols, row-major; it is overwritten (it is the filter's work
// buffer). scratch: at least rows * cols floats. Requires rows, cols >= 1.
void jarosz_downsample(std::span<float> luma, std::span<float> scratch, int rows, int cols,
                       Grid64& out);

// Hash of a float luma image the reference way (quality 0 and an all-zero
// hash for images smaller than 5 pixels in either dimension, as the reference).
PdqResult hash_float_luma_reference(std::span<float> luma, std::span<float> scratch, int rows,
                                    int cols, bool want_dihedral);

}  // namespace frameprint::pdq
