// The shape of an animated GIF, read from its block structure before any
// frame is decoded: the logical screen (canvas), how many frames it has
// and the rectangle they draw on. FFmpeg composes every frame on the whole
// canvas, so a 7 KB GIF with a 9000x9000 screen and 300 one-pixel frames
// costs gigabytes of memory traffic and its whole time limit; this is what
// the GIF limits (media_hasher) are judged on.
#pragma once

#include <cstdint>

namespace frameprint {

class MediaSource;

struct GifShape {
  int width = 0, height = 0;  // logical screen
  int64_t frames = 0;         // image descriptors
  // The smallest rectangle (clipped to the screen) that holds every frame.
  int64_t drawn_pixels = 0;
  int64_t canvas_pixels() const { return int64_t{width} * height; }
};

// Reads block headers only (bounded by the file's size). A structure that
// breaks off is scanned as far as it goes (FFmpeg judges the rest).
GifShape scan_gif(const MediaSource& source);

// A screen larger than this may not be more than kGifIdleCanvasRatio times
// the rectangle its frames draw: the rest would be composed and hashed
// for nothing.
inline constexpr int64_t kGifFreeCanvasPixels = 4'000'000;
inline constexpr int64_t kGifIdleCanvasRatio = 16;

}  // namespace frameprint
