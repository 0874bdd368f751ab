// From a decoded AVFrame to the luma plane PDQ hashes. YUV frames give their
// Y plane in place (no RGB conversion); NVDEC surfaces give their device Y
// plane; other pixel formats (RGB, palette) and tiny frames are converted to
// RGB and their luma computed as PDQ defines it.
#pragma once

#include <vector>

#include "kernels/luma_plane.h"
#include "worker/media/ffmpeg_handles.h"

namespace frameprint {

// Frames this small on a side hash through the reference's RGB route.
inline constexpr int kNoBlurDim = 128;

class FrameLuma {
 public:
  // The frame's luma. The plane points into `frame` (or into this object's
  // buffer for converted frames) and is valid until the frame is unref'd or
  // the next call. Throws MediaError kDecodeFailed for a frame without
  // usable luma.
  LumaPlane plane(const AVFrame* frame);

 private:
  ffmpeg::SwsContextPtr sws_;
  ffmpeg::FramePtr rgb_{av_frame_alloc()};
  std::vector<float> luma_;
};

}  // namespace frameprint
