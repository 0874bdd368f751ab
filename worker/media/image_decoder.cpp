#include "worker/media/image_decoder.h"

#include <string>

#include "worker/media/limits.h"
#include "worker/media/media_error.h"

#if FRAMEPRINT_HAVE_IMAGES
#include "worker/media/stills_loader.h"
#endif

namespace frameprint {

LumaPlane DecodedImage::plane() const {
  return LumaPlane{luma.data(), static_cast<std::ptrdiff_t>(luma_width * sizeof(float)), luma_width,
                   luma_height, SampleType::kF32, 8, true};
}

DecodedImage decode_image(std::span<const uint8_t> bytes, const ImageProbe& probe, bool apply_exif_orientation,
                          int64_t max_pixels) {
  const std::string fmt(image_format_name(probe.format));
#if FRAMEPRINT_HAVE_IMAGES
  if (probe.truncated)
    throw MediaError(ErrorCode::kTruncated, fmt + " file is truncated (no end marker)");
  // The size must be known before decoding: an image whose header does not
  // state it (in a way we read the same as the decoder) is not decoded.
  if (probe.width <= 0 || probe.height <= 0)
    throw MediaError(ErrorCode::kDecodeFailed, "cannot read the " + fmt + " image's size from its header");
  check_picture_size(probe.width, probe.height, max_pixels, "image is");

  const stills::Module& module = stills_module();
  stills::ColourLuma decoded;
  module.decode_colour_luma({bytes.data(), bytes.size(), apply_exif_orientation}, decoded);
  if (decoded.error)
    throw MediaError(decoded.error->code, "cannot decode " + fmt + " image: " + decoded.error->message);
  check_picture_size(decoded.width, decoded.height, max_pixels, "image is");
  DecodedImage out;
  out.width = decoded.width;
  out.height = decoded.height;
  out.luma_width = decoded.luma_width;
  out.luma_height = decoded.luma_height;
  out.luma = std::move(decoded.luma);
  return out;
#else
  (void)bytes;
  (void)apply_exif_orientation;
  (void)max_pixels;
  throw MediaError(ErrorCode::kUnsupportedFormat,
                   fmt + " images cannot be decoded by this build (built with FRAMEPRINT_IMAGES=OFF)");
#endif
}

}  // namespace frameprint
