// Float luma from an OpenCV image the way the reference computes it, for
// kernel-level tests that bypass the project's decoders.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

#include "kernels/luma_plane.h"
#include "kernels/pdq_math.h"

namespace frameprint::testing {

struct FloatLuma {
  int width = 0, height = 0;
  std::vector<float> px;
  LumaPlane plane() const {
    return LumaPlane{px.data(),
                     static_cast<std::ptrdiff_t>(width * sizeof(float)),
                     width,
                     height,
                     SampleType::kF32,
                     8,
                     true};
  }
};

// 8-bit grey: luma = grey; 8-bit BGR/BGRA: 0.299 R + 0.587 G + 0.114 B.
inline FloatLuma float_luma_like_reference(const cv::Mat& img) {
  FloatLuma out{img.cols, img.rows, std::vector<float>(img.total())};
  for (int y = 0; y < img.rows; ++y) {
    const uint8_t* row = img.ptr<uint8_t>(y);
    for (int x = 0; x < img.cols; ++x) {
      const uint8_t* p = row + x * img.channels();
      out.px[static_cast<size_t>(y * img.cols + x)] =
          img.channels() == 1 ? static_cast<float>(p[0]) : pdq::luma_from_rgb(p[2], p[1], p[0]);
    }
  }
  return out;
}

}  // namespace frameprint::testing
