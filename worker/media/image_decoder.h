// Still images: OpenCV imgcodecs decodes (EXIF orientation applied unless
// turned off), then luma is computed as the reference computes it. Images
// larger than 512 in either dimension are first shrunk to exactly 512x512
// by nearest neighbour, as the reference photo hasher does. OpenCV runs in
// a module loaded on the first still image (stills_module.h).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/luma_plane.h"
#include "worker/media/probe.h"

namespace frameprint {

struct DecodedImage {
  int width = 0;   // the picture as displayed (after EXIF orientation)
  int height = 0;
  int luma_width = 0;  // the plane that is hashed (at most 512x512)
  int luma_height = 0;
  std::vector<float> luma;

  LumaPlane plane() const;
};

// Throws MediaError: kTooLarge (over max_pixels, judged from the header
// before decoding when it can be read), kTruncated, kDecodeFailed,
// kUnsupportedFormat (the OpenCV module is missing or this build has none).
DecodedImage decode_image(std::span<const uint8_t> bytes, const ImageProbe& probe,
                          bool apply_exif_orientation, int64_t max_pixels);

}  // namespace frameprint
