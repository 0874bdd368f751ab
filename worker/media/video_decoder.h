// Videos (and animated GIFs): decoding on the CPU (libavcodec) or on NVDEC
// (FFmpeg's CUDA hwaccel), on top of VideoInput (container and stream) and
// FrameLuma (decoded frame to luma plane). Every decoded frame is handed out
// as a luma plane with its index and timestamp.
#pragma once

#include <cstdint>
#include <memory>

#include "kernels/luma_plane.h"
#include "worker/media/limits.h"
#include "worker/media/video_input.h"

namespace frameprint {

class MediaSource;

// Where and how to decode; chosen by the pipeline from the PDQ backend, not
// by the user's limits.
struct DecoderSettings {
  int threads = 0;  // CPU decoder threads; 0 lets FFmpeg choose
  // >= 0: decode with NVDEC on this CUDA device when it can take the stream
  // (frames then stay in device memory); -1: on the CPU.
  int nvdec_device = -1;
  int nvdec_surfaces = 64;  // decoded frames a caller may hold at once
  // The sampler's seconds per hash (0: every frame). Above 0, frames the
  // sampler cannot take are not decoded when no other frame refers to them
  // (frame_sampler.h); indices still count every frame of the stream.
  double seconds_per_hash = 0;
};

struct VideoFrame {
  int64_t index = 0;  // among the stream's frames in presentation order, from 0
  // Seconds from the stream's start: the frame's PTS when the stream's
  // timestamps are sane, else repaired (TimestampGuard in frame_sampler.h).
  double ts = 0;
  LumaPlane plane;  // valid until the next call to next(), or while `hold` is kept
  // For frames in device memory: keeps the decoder's surface (and so the
  // plane) alive until released, so callers can batch them without copying.
  std::shared_ptr<void> hold;
};

class VideoDecoder {
 public:
  // Opens the container and the decoder. Throws MediaError:
  // kUnsupportedFormat, kNoVideoStream, kDecodeFailed, kTooLarge, kTimeout.
  VideoDecoder(const MediaSource& source, const VideoLimits& limits,
               const DecoderSettings& settings = {});
  ~VideoDecoder();
  VideoDecoder(const VideoDecoder&) = delete;
  VideoDecoder& operator=(const VideoDecoder&) = delete;

  const VideoInfo& info() const;

  // The next decoded frame; false after the last. Packets that fail to
  // decode are skipped and counted (corrupt_packets()). Throws MediaError
  // kTooLarge (frame count or size over the limits) or kTimeout.
  bool next(VideoFrame& frame);

  int64_t corrupt_packets() const;
  // Frames that came out of the decoder (skipped ones are not among them).
  int64_t decoded_frames() const;
  // Frames of the stream read so far, decoded or skipped.
  int64_t stream_frames() const;
  // Frames whose timestamps had to be repaired so far.
  int64_t repaired_timestamps() const;
  // Whether frames were sent to the decoder with skipping allowed.
  bool skipped_frames() const;
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
