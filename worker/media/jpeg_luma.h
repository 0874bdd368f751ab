// JPEG luma straight from libjpeg(-turbo): the Y plane as stored, without
// colour conversion or chroma upsampling, optionally scaled down by 2, 4 or
// 8 in the DCT domain (the inverse DCT computes the smaller picture
// directly). This is what PDQ needs of a JPEG: its luma is Y. Rows are
// handed out in batches, so a caller that keeps a sample of them never
// holds the whole plane.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

namespace frameprint {

// The scaled size libjpeg produces: ceil(size / scale).
int jpeg_scaled_size(int size, int scale);

class JpegLumaReader {
 public:
  // Reads the header of a JPEG of 1 (grey) or 3 (YCbCr or RGB) components
  // whose size the caller has already checked against its limits, as
  // `width` x `height`, and starts decoding at `scale` (1, 2, 4 or 8).
  // Throws MediaError(kDecodeFailed): libjpeg's message, 4 components (no
  // luma plane to take), or a frame size other than the one checked.
  // With `max_seconds` > 0, decoding stops with MediaError(kTimeout) once
  // that long has passed (libjpeg's progress monitor checks between rows
  // and scans).
  JpegLumaReader(std::span<const uint8_t> bytes, int width, int height, int scale,
                 double max_seconds = 0);
  ~JpegLumaReader();
  JpegLumaReader(const JpegLumaReader&) = delete;
  JpegLumaReader& operator=(const JpegLumaReader&) = delete;

  int width() const { return width_; }  // as stored (no EXIF orientation), scaled
  int height() const { return height_; }
  int next_row() const;  // index of the row read() gives next

  // Decodes the next rows (at most out.size() / width(), and at least one
  // while rows remain) into `out`, full-range (JFIF) Y codes, width()
  // bytes apart. Returns how many; 0 at the end. Throws MediaError.
  int read(std::span<uint8_t> out);
  // After the last row: checks the rest of the stream. Throws MediaError.
  void finish();

 private:
  class Decompressor;
  std::unique_ptr<Decompressor> d_;
  int width_ = 0;
  int height_ = 0;
};

}  // namespace frameprint
