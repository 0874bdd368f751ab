// Recognises still-image formats from their first bytes (never from the file
// name) and reads the picture size from the header, so that size limits are
// checked before a decoder allocates anything.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace frameprint {

enum class ImageFormat { kJpeg, kPng, kWebp, kBmp, kTiff, kGif };

struct ImageProbe {
  ImageFormat format;
  int width = 0;  // 0 when the header could not be read
  int height = 0;
  bool truncated = false;  // the file ends before the format's end marker
  // JPEG only: colour components in the frame header (1 grey, 3 YCbCr or
  // RGB, 4 CMYK or YCCK; 0 when not read), and the EXIF orientation (1..8;
  // 1 when absent or unreadable) read the way OpenCV 4.6 reads it, so that
  // every route turns a picture alike.
  int components = 0;
  int exif_orientation = 1;
  // JPEG only: start-of-scan markers of the picture (from its first scan to
  // its end marker, or to the end of a cut file), counted before decoding.
  int scans = 0;
};

std::string_view image_format_name(ImageFormat f);

// nullopt when the bytes do not start like one of the formats above; such
// input goes to the media-container path (FFmpeg).
std::optional<ImageProbe> probe_image(std::span<const uint8_t> bytes);

}  // namespace frameprint
