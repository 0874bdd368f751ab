// The one hand-off type between decoding and hashing: a view of a luma plane.
// Decoders produce it (a video frame's Y plane, or float luma computed from
// RGB); PDQ backends consume it. It owns nothing.
#pragma once

#include <cstddef>
#include <cstdint>

namespace frameprint {

enum class SampleType : uint8_t {
  kU8,   // 8-bit luma codes
  kU16,  // 9..16-bit luma codes in the low bits of native-endian 16-bit words
  kF32,  // luma already on the 0..255 scale (computed from RGB as PDQ defines it)
};

enum class MemoryLocation : uint8_t { kHost, kDevice };

struct LumaPlane {
  const void* data = nullptr;
  std::ptrdiff_t pitch = 0;  // bytes from one row to the next
  int width = 0;
  int height = 0;
  SampleType type = SampleType::kU8;
  int bit_depth = 8;        // for kU8 and kU16
  bool full_range = false;  // false: limited ("MPEG") range codes, mapped to 0..255
  MemoryLocation location = MemoryLocation::kHost;

  // Bytes of one sample, and of the visible part of one row.
  size_t sample_bytes() const {
    return type == SampleType::kU8 ? 1 : (type == SampleType::kU16 ? 2 : 4);
  }
  size_t row_bytes() const { return sample_bytes() * static_cast<size_t>(width); }

  template <typename T>
  const T* row(int y) const {
    return reinterpret_cast<const T*>(static_cast<const uint8_t*>(data) + pitch * y);
  }
};

// How the stored plane maps to the picture a viewer sees: first transpose
// (if set), then mirror left-right (flip_x) and/or top-bottom (flip_y).
struct Orientation {
  bool transpose = false;
  bool flip_x = false;
  bool flip_y = false;

  // Clockwise display rotation in degrees (0, 90, 180 or 270).
  static Orientation rotation_cw(int degrees);
  friend bool operator==(const Orientation&, const Orientation&) = default;
};

inline Orientation Orientation::rotation_cw(int degrees) {
  switch (((degrees % 360) + 360) % 360) {
    case 90: return {true, true, false};
    case 180: return {false, true, true};
    case 270: return {true, false, true};
    default: return {};
  }
}

}  // namespace frameprint
