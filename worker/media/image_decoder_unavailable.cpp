// Built with FRAMEPRINT_IMAGES=OFF (a lean build without OpenCV, e.g. the
// bundle carried to a GPU machine): still images are refused clearly.
#include "worker/media/image_decoder.h"
#include "worker/media/media_error.h"

namespace frameprint {

LumaPlane DecodedImage::plane() const {
  return LumaPlane{luma.data(), static_cast<std::ptrdiff_t>(luma_width * sizeof(float)), luma_width,
                   luma_height, SampleType::kF32, 8, true};
}

DecodedImage decode_image(std::span<const uint8_t>, const ImageProbe& probe, bool, int64_t) {
  throw MediaError(ErrorCode::kUnsupportedFormat,
                   std::string(image_format_name(probe.format)) +
                       " images cannot be decoded by this build (built with FRAMEPRINT_IMAGES=OFF)");
}

std::string image_decoder_library() { return "opencv: none (built with FRAMEPRINT_IMAGES=OFF; still images are refused)"; }

}  // namespace frameprint
