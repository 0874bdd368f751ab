// Synthesises small media files for tests with the FFmpeg libraries
// (libavcodec encoders, libavformat muxers), not the ffmpeg CLI.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace frameprint::testing {

// Deterministic 8-bit grey content with strong structure (so PDQ quality is high, > 50)
// that changes visibly from frame to frame (e.g. moving sinusoid patterns / shapes whose
// phase depends on frame_index). Row-major, width*height bytes, full range 0..255.
std::vector<uint8_t> pattern_luma(int width, int height, int frame_index);

struct VideoSpec {
  std::string container = "mp4";  // muxer short name as av_guess_format takes it:
                                  // "mp4","matroska","webm","avi","mov","gif"
  std::string encoder =
      "libx264";  // encoder name for avcodec_find_encoder_by_name:
                  // "libx264","libx265","libvpx-vp9","libaom-av1","libsvtav1","mpeg4","ffv1","gif","mjpeg"
  std::string pix_fmt = "yuv420p";  // e.g. "yuv420p", "yuv420p10le", "yuvj420p", "gray"; for the
                                    // gif encoder use "pal8" (a 256-grey palette)
  int width = 160;
  int height = 120;
  std::vector<double>
      pts_seconds;  // one entry per frame, strictly increasing (variable frame rate allowed)
  int time_base_den = 1000;  // stream time base 1/time_base_den (pts rounded to it)
  int rotation_cw = 0;  // 0/90/180/270: stored with a display matrix as stream side data, meaning a
                        // viewer must rotate the stored picture this many degrees CLOCKWISE
                        // (use av_display_rotation_set(matrix, -rotation_cw), the same convention
                        // as the ffmpeg CLI's -display_rotation / the legacy "rotate" tag)
  bool full_range = false;  // set color_range = AVCOL_RANGE_JPEG (else AVCOL_RANGE_MPEG)
  int gop = 12;             // keyframe interval
  int b_frames = 0;         // > 0: B-frames (x264/x265 then drop zerolatency; x264
                            // uses a B-pyramid from 2 on)
  // Extra encoder options, "key=value" pairs separated by ';' (e.g.
  // "preset=faster;x264-params=open-gop=1:log=-1"); they override the defaults.
  std::string encoder_options;
  // Hostile timestamps: when set, packet k (in write order) is stored with
  // presentation time rewrite_pts(k) and decode time k (milliseconds),
  // so a muxer that allows it writes timestamps that are reversed, equal or
  // absurd. Use an intra-only encoder (ffv1) and a container that keeps
  // per-frame times (matroska); rewrite_pts(k) must be >= k.
  std::function<int64_t(int64_t packet)> rewrite_pts;
  // Luma for frame i (width*height bytes, full-range 0..255 values). Defaults to pattern_luma.
  std::function<std::vector<uint8_t>(int frame_index)> luma;
};

// Encodes the frames and writes the file. For YUV formats the Y plane gets the luma
// (converted to limited range 16..235 unless full_range, scaled for >8-bit formats) and
// chroma is neutral (128 << (bits-8)); "gray" gets the luma directly; "pal8" uses a grey palette.
// Uses low-latency, fast encoder settings (e.g. x264 preset ultrafast, crf ~18; x265 ultrafast with
// log-level none; libaom cpu-used 8; libvpx deadline realtime / cpu-used 8; gop >= 1, no B-frame
// requirement) and keeps encoder output quiet. Flushes the encoder. Throws std::runtime_error on
// failure.
void write_video(const std::filesystem::path& path, const VideoSpec& spec);

// True when this FFmpeg build has the encoder (avcodec_find_encoder_by_name).
bool have_encoder(const std::string& name);

// A WAV file (pcm_s16le, mono, 8 kHz) with `seconds` of a sine tone and no video stream.
void write_audio_only(const std::filesystem::path& path, double seconds);

}  // namespace frameprint::testing
