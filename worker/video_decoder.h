// Videos (and animated GIFs): FFmpeg demuxes and decodes from memory; each
// decoded frame is handed out as a luma plane. YUV frames give their Y plane
// directly (no RGB conversion); other pixel formats (RGB, palette) are
// converted and their luma computed as PDQ defines it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "kernels/luma_plane.h"

namespace frameprint {

class MediaSource;

// Frames wider or taller than this are refused whatever their pixel count
// (a 1,000,000 x 8 stream is an attack, not a video).
inline constexpr int64_t kMaxDimension = 32768;

struct VideoLimits {
  int64_t max_pixels = 100'000'000;  // per frame
  int64_t max_frames = 1'000'000;    // decoded frames per file
  double max_seconds = 300.0;        // wall time to decode one file
  int threads = 0;                   // decoder threads; 0 lets FFmpeg choose
  // >= 0: decode with NVDEC on this CUDA device when it can take the stream
  // (frames then stay in device memory); otherwise, or -1, on the CPU.
  int nvdec_device = -1;
  int nvdec_surfaces = 64;           // decoded frames a caller may hold at once
};

struct VideoInfo {
  std::string container;  // demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  std::string codec;      // e.g. "h264"
  int width = 0;          // stored (coded) picture size
  int height = 0;
  int rotation_cw = 0;    // display matrix: rotate the stored picture this much clockwise
  double duration_s = 0;  // 0 when unknown
  double fps = 0;         // average frame rate; 0 when unknown
  std::string decoder = "cpu";  // "nvdec" when frames come from the GPU's decoder
};

struct VideoFrame {
  int64_t index = 0;   // among decoded frames, from 0
  double ts = 0;       // seconds from the stream's start, from the frame's PTS
  LumaPlane plane;     // valid until the next call to next(), or while `hold` is kept
  // For frames in device memory: keeps the decoder's surface (and so the
  // plane) alive until released, so callers can batch them without copying.
  std::shared_ptr<void> hold;
};

class VideoDecoder {
 public:
  // Opens the container and the decoder. Throws MediaError:
  // kUnsupportedFormat, kNoVideoStream, kDecodeFailed, kTooLarge, kTimeout.
  VideoDecoder(const MediaSource& source, const VideoLimits& limits);
  ~VideoDecoder();
  VideoDecoder(const VideoDecoder&) = delete;
  VideoDecoder& operator=(const VideoDecoder&) = delete;

  const VideoInfo& info() const;

  // The next decoded frame; false after the last. Packets that fail to
  // decode are skipped and counted (corrupt_packets()). Throws MediaError
  // kTooLarge (frame count or size over the limits) or kTimeout.
  bool next(VideoFrame& frame);

  int64_t corrupt_packets() const;
  // Frames the decoder returned with damage concealed (flagged corrupt).
  int64_t concealed_frames() const;
  // Frames the container's index lists (0 when it has none, e.g. Matroska).
  int64_t indexed_frames() const;
  bool read_error() const;  // the container ended with an error, not a clean EOF

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace frameprint
