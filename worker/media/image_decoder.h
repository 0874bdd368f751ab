// Still images: OpenCV imgcodecs decodes (EXIF orientation applied unless
// turned off), then luma is computed as the reference computes it. Images
// larger than 512 in either dimension are first shrunk to exactly 512x512
// by nearest neighbour, as the reference photo hasher does.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kernels/luma_plane.h"
#include "worker/media/probe.h"

namespace frameprint {

struct DecodedImage {
  int width = 0;   // the picture as displayed (after EXIF orientation)
  int height = 0;
  int channels = 0;  // 1 for greyscale input (hashed as luma = grey value)
  int luma_width = 0;  // the plane that is hashed (at most 512x512)
  int luma_height = 0;
  std::vector<float> luma;
  bool truncated = false;  // no end marker: hashed what decoded

  LumaPlane plane() const;
};

// Throws MediaError: kTooLarge (over max_pixels, judged from the header
// before decoding when it can be read), kTruncated (cut, and nothing
// decodes), kDecodeFailed. A cut file whose pixels decode is returned with
// `truncated` set.
DecodedImage decode_image(std::span<const uint8_t> bytes, const ImageProbe& probe,
                          bool apply_exif_orientation, int64_t max_pixels);

// The still-image decoder library, for --version: "opencv: 4.6.0", or a
// line saying the build has none.
std::string image_decoder_library();

}  // namespace frameprint
