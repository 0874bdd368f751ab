// Still images to the luma plane PDQ hashes, by one of two routes:
// - colour (every format; JPEG too with --exact, or with 4 components):
//   OpenCV decodes to colour (EXIF orientation applied unless turned off),
//   pictures larger than 512 in either dimension are shrunk to exactly
//   512x512 by nearest neighbour, as the reference photo hasher does, and
//   luma is computed from RGB as the reference computes it. Runs in the
//   OpenCV module (stills_module.h), loaded on first use.
// - JPEG luma (the default for JPEG): libjpeg decodes only the Y plane, scaled
//   down in the DCT domain while at least 512 samples remain on each axis
//   (jpeg_dct_scale); the EXIF orientation (read by the probe as OpenCV
//   reads it) and the same nearest-neighbour shrink are applied as the
//   pixels are copied into the plane.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kernels/luma_plane.h"
#include "worker/media/probe.h"

namespace frameprint {

struct StillOptions {
  bool exact = false;  // the colour route for every format
  bool apply_exif_orientation = true;
  int64_t max_pixels = 0;
  int dct_scale = 0;  // JPEG luma: 0 chooses by jpeg_dct_scale; 1, 2, 4, 8 force one (measurements)
  double max_seconds = 0;  // JPEG luma: wall-time budget (0: none); the colour route is
                           // bounded by the decoder process it runs in (pool, serve)
};

// A JPEG with more scans than this is refused before decoding (each scan of
// a progressive JPEG walks the whole picture again; real ones have a few
// dozen at most).
inline constexpr int kMaxJpegScans = 256;

enum class StillRoute { kColour, kJpegLuma };

struct DecodedImage {
  int width = 0;  // the picture as displayed (after EXIF orientation), full size
  int height = 0;
  StillRoute route = StillRoute::kColour;
  int dct_scale = 1;   // JPEG luma: the DCT-domain scale it was decoded at
  int luma_width = 0;  // the plane that is hashed (at most 512x512), upright
  int luma_height = 0;
  std::vector<float> luma;    // colour route: float luma
  std::vector<uint8_t> grey;  // JPEG luma route: full-range Y codes
  bool truncated = false;     // no end marker: hashed what decoded

  LumaPlane plane() const;
};

// The DCT-domain scale (1, 2, 4 or 8) for a JPEG of this size: the largest
// that leaves at least 512 samples on each axis. The reference samples 512
// pixels per axis of a larger picture, so each sample still comes from its
// own decoded pixel (then the mean of a scale x scale block, not one pixel).
int jpeg_dct_scale(int width, int height);

// Throws MediaError: kTooLarge (over max_pixels, judged from the header
// before decoding when it can be read), kTruncated (cut, and nothing
// decodes), kDecodeFailed, kUnsupportedFormat (the OpenCV module is missing
// or this build has none). A cut file whose pixels decode is returned with
// `truncated` set.
DecodedImage decode_image(std::span<const uint8_t> bytes, const ImageProbe& probe,
                          const StillOptions& options);

// The still-image decoder library, for --version: "opencv: 4.6.0", or a
// line saying the build has none.
std::string image_decoder_library();

}  // namespace frameprint
