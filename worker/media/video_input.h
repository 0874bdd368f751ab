// The container side of video decoding: FFmpeg reads the source's bytes
// through custom I/O (never a file name or URL), the container is probed and
// checked against an allow-list, and the video stream to hash is chosen.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "worker/media/limits.h"

struct AVPacket;
struct AVStream;

namespace frameprint {

class MediaSource;

struct VideoInfo {
  std::string container;  // demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  std::string codec;      // e.g. "h264"
  int width = 0;          // stored (coded) picture size
  int height = 0;
  int rotation_cw = 0;          // display matrix: rotate the stored picture this much clockwise
  double duration_s = 0;        // 0 when unknown
  double fps = 0;               // average frame rate; 0 when unknown
  std::string decoder = "cpu";  // "nvdec" when frames come from the GPU's decoder
  // Why frames were decoded on the CPU although NVDEC was asked for; "" when
  // it was not asked for or was used.
  std::string nvdec_fallback;
};

class VideoInput {
 public:
  // Opens and probes the container and picks the video stream. `source` and
  // `deadline` must outlive this object. Throws MediaError:
  // kUnsupportedFormat, kNoVideoStream, kDecodeFailed, kTooLarge, kTimeout.
  VideoInput(const MediaSource& source, const VideoLimits& limits, const Deadline& deadline);
  ~VideoInput();
  VideoInput(const VideoInput&) = delete;
  VideoInput& operator=(const VideoInput&) = delete;

  const VideoInfo& info() const;
  const AVStream* stream() const;

  // The next packet of the chosen stream (the caller unrefs it); false at
  // the end of the input, or when reading failed (then read_error()).
  bool read(AVPacket* packet);
  bool read_error() const;  // the container ended with an error, not a clean EOF
  // Frames the container's index lists (0 when it has none, e.g. Matroska).
  int64_t indexed_frames() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace frameprint
