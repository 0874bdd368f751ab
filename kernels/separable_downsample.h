// PDQ's blur-and-decimate as one linear map. Two box passes per axis followed
// by picking 64 samples is, per axis, a fixed weighted sum of nearby inputs,
// so only the 64x64 outputs are computed: one pass that reads each input row
// about twice. Mathematically equal to the reference's filter; the floats are
// summed in another order, so results can differ from it in the last bits.
// This is the path for video frames and the one the CUDA kernels implement.
#pragma once

#include <vector>

#include "kernels/luma_plane.h"
#include "kernels/pdq_core.h"

namespace frameprint::pdq {

// Weights of the 64 outputs of one axis over the input indices.
struct AxisTaps {
  int input_length = 0;
  int max_taps = 0;            // weights per output, padded with zeros
  std::vector<int> first;      // [64] first input index of each output
  std::vector<float> weights;  // [64 * max_taps]

  // Taps of the displayed axis of length n (weights computed in double).
  static AxisTaps for_length(int n);
  // The same taps over the axis read backwards (a mirrored picture).
  AxisTaps reversed() const;
};

// Everything needed to downsample planes of one size and orientation.
struct DownsamplePlan {
  int stored_width = 0;
  int stored_height = 0;
  Orientation orientation;
  AxisTaps vertical;    // over stored rows
  AxisTaps horizontal;  // over stored columns
  // For each stored row, which vertical outputs use it and with what weight
  // (CSR layout), so each row is converted to float once.
  std::vector<int> row_use_begin;  // [stored_height + 1]
  std::vector<int> row_use_output;
  std::vector<float> row_use_weight;
  std::vector<uint8_t> row_use_first;  // the output's first row: store instead of add
  // Horizontal weights transposed, [max_taps][64], so the 64 sums of a row
  // are independent (no latency-bound reduction per output).
  std::vector<float> horizontal_by_tap;

  DownsamplePlan(int stored_width, int stored_height, Orientation orientation);
  int displayed_width() const { return orientation.transpose ? stored_height : stored_width; }
  int displayed_height() const { return orientation.transpose ? stored_width : stored_height; }
};

// Downsample a host plane to the displayed picture's 64x64 grid. `scratch`
// is resized as needed (64 * plane width floats); keep it to avoid
// reallocating per frame.
void separable_downsample(const LumaPlane& plane, const DownsamplePlan& plan, Grid64& out,
                          std::vector<float>& scratch);

}  // namespace frameprint::pdq
