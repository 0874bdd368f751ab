// Limits on what one input may cost, checked before anything is allocated
// for it, and the wall-clock budget that bounds decoding.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace frameprint {

// Frames wider or taller than this are refused whatever their pixel count
// (a 1,000,000 x 8 stream is an attack, not a video).
inline constexpr int64_t kMaxDimension = 32768;

struct VideoLimits {
  int64_t max_pixels = 100'000'000;  // per frame (and per still image)
  int64_t max_frames = 1'000'000;    // decoded frames per file
  double max_seconds = 300.0;        // wall time to decode one file
  // An animated GIF's screen pixels x frames composed (gif_scan.h): about
  // twenty 100-megapixel frames, or 240 of 4K; frames beyond are not decoded.
  int64_t max_gif_pixel_frames = 2'000'000'000;
};

// Throws MediaError kTooLarge when a w x h picture breaks the limits; `what`
// starts the message ("image is", "video frames are").
void check_picture_size(int64_t width, int64_t height, int64_t max_pixels,
                        std::string_view what = "video frames are");

// A point in time after which decoding stops with kTimeout.
class Deadline {
 public:
  explicit Deadline(double seconds);
  bool expired() const { return std::chrono::steady_clock::now() > end_; }
  void check() const;  // throws MediaError kTimeout once expired

 private:
  std::chrono::steady_clock::time_point end_;
  double seconds_;
};

}  // namespace frameprint
