#include "worker/media/image_decoder.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <limits>
#include <string>

#include "kernels/pdq_math.h"
#include "worker/media/media_error.h"
#include "worker/media/limits.h"

namespace frameprint {

std::string image_decoder_library() { return std::string("opencv: ") + CV_VERSION; }

LumaPlane DecodedImage::plane() const {
  return LumaPlane{luma.data(), static_cast<std::ptrdiff_t>(luma_width * sizeof(float)),
                   luma_width, luma_height, SampleType::kF32, 8, true};
}


DecodedImage decode_image(std::span<const uint8_t> bytes, const ImageProbe& probe,
                          bool apply_exif_orientation, int64_t max_pixels) {
  const std::string fmt(image_format_name(probe.format));
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    throw MediaError(ErrorCode::kTooLarge, "image files over 2 GiB are not decoded");
  // The size must be known before decoding: an image whose header does not
  // state it (in a way we read the same as the decoder) is not decoded.
  if ((probe.width <= 0 || probe.height <= 0) && probe.truncated)
    throw MediaError(ErrorCode::kTruncated, fmt + " file is truncated before its picture size");
  if (probe.width <= 0 || probe.height <= 0)
    throw MediaError(ErrorCode::kDecodeFailed, "cannot read the " + fmt + " image's size from its header");
  check_picture_size(probe.width, probe.height, max_pixels, "image is");

  // Greyscale stays one channel (luma = grey value); colour becomes 8-bit
  // BGR with any alpha dropped; 16-bit samples are reduced to 8 bits.
  int flags = cv::IMREAD_ANYCOLOR;
  if (!apply_exif_orientation) flags |= cv::IMREAD_IGNORE_ORIENTATION;
  cv::Mat img;
  try {
    // A file cut at (or just before) its end marker decodes fully once the
    // marker is back: libpng refuses a PNG without IEND and libjpeg reads a
    // JPEG without EOI with a short tail. Data cut inside decodes as far as
    // it goes (JPEG) or not at all (PNG).
    std::vector<uint8_t> repaired;
    if (probe.truncated && (probe.format == ImageFormat::kJpeg || probe.format == ImageFormat::kPng)) {
      static constexpr uint8_t kEoi[] = {0xFF, 0xD9};
      static constexpr uint8_t kIend[] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
      const std::span<const uint8_t> end =
          probe.format == ImageFormat::kJpeg ? std::span<const uint8_t>(kEoi) : std::span<const uint8_t>(kIend);
      repaired.reserve(bytes.size() + end.size());
      repaired.assign(bytes.begin(), bytes.end());
      repaired.insert(repaired.end(), end.begin(), end.end());
      bytes = repaired;
    }
    const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<uint8_t*>(bytes.data()));
    img = cv::imdecode(buf, flags);
  } catch (const cv::Exception& e) {
    // OpenCV refuses sizes over OPENCV_IO_MAX_IMAGE_PIXELS before allocating.
    if (e.func == "validateInputImageSize")
      throw MediaError(ErrorCode::kTooLarge, "cannot decode " + fmt + " image: its size is over the limit");
    throw MediaError(ErrorCode::kDecodeFailed, "cannot decode " + fmt + " image: " + e.err);
  }
  if (img.empty() && probe.truncated)
    throw MediaError(ErrorCode::kTruncated, fmt + " file is truncated (no end marker) and its pixels do not decode");
  if (img.empty() || img.depth() != CV_8U || (img.channels() != 1 && img.channels() != 3))
    throw MediaError(ErrorCode::kDecodeFailed, "cannot decode " + fmt + " image (corrupt or unsupported variant)");
  check_picture_size(img.cols, img.rows, max_pixels, "image is");

  DecodedImage out;
  // Hashed like a viewer shows it: what decodes (a decoder fills missing
  // JPEG data grey); the result says the file was cut.
  out.truncated = probe.truncated;
  out.width = img.cols;
  out.height = img.rows;
  out.channels = img.channels();
  const bool shrink = img.cols > pdq::kMaxReferenceDim || img.rows > pdq::kMaxReferenceDim;
  out.luma_width = shrink ? pdq::kMaxReferenceDim : img.cols;
  out.luma_height = shrink ? pdq::kMaxReferenceDim : img.rows;
  out.luma.resize(static_cast<size_t>(out.luma_width) * static_cast<size_t>(out.luma_height));

  // Nearest-neighbour shrink and luma in one pass: luma is per pixel, so
  // computing it only at the sampled pixels gives the same values.
  std::vector<int> src_x(static_cast<size_t>(out.luma_width));
  for (int x = 0; x < out.luma_width; ++x)
    src_x[static_cast<size_t>(x)] = shrink ? pdq::shrink_index(x, img.cols) : x;
  for (int y = 0; y < out.luma_height; ++y) {
    const uint8_t* row = img.ptr<uint8_t>(shrink ? pdq::shrink_index(y, img.rows) : y);
    float* dst = out.luma.data() + static_cast<size_t>(y) * static_cast<size_t>(out.luma_width);
    if (out.channels == 1) {
      for (int x = 0; x < out.luma_width; ++x) dst[x] = static_cast<float>(row[src_x[static_cast<size_t>(x)]]);
    } else {
      for (int x = 0; x < out.luma_width; ++x) {
        const uint8_t* px = row + 3 * src_x[static_cast<size_t>(x)];
        dst[x] = pdq::luma_from_rgb(px[2], px[1], px[0]);
      }
    }
  }
  return out;
}

}  // namespace frameprint
