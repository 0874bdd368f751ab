#include "worker/media/image_decoder.h"

#include <algorithm>
#include <string>

#include "kernels/pdq_math.h"
#include "worker/media/limits.h"
#include "worker/media/media_error.h"

#if FRAMEPRINT_HAVE_IMAGES
#include <opencv2/core/version.hpp>

#include "worker/media/jpeg_luma.h"
#include "worker/media/stills_loader.h"
#endif

namespace frameprint {

std::string image_decoder_library() {
#if FRAMEPRINT_HAVE_IMAGES
  // The version the module is built against (a header macro: nothing of
  // OpenCV is loaded to say it).
  return std::string("opencv: ") + CV_VERSION + " (loaded for stills that need it)";
#else
  return "opencv: none (built with FRAMEPRINT_IMAGES=OFF)";
#endif
}

LumaPlane DecodedImage::plane() const {
  if (route == StillRoute::kJpegLuma)
    return LumaPlane{grey.data(),
                     static_cast<std::ptrdiff_t>(luma_width),
                     luma_width,
                     luma_height,
                     SampleType::kU8,
                     8,
                     true};
  return LumaPlane{luma.data(),
                   static_cast<std::ptrdiff_t>(luma_width * sizeof(float)),
                   luma_width,
                   luma_height,
                   SampleType::kF32,
                   8,
                   true};
}

int jpeg_dct_scale(int width, int height) {
  const int shorter = std::min(width, height);
  int scale = 1;
  while (scale < 8 && shorter / (2 * scale) >= pdq::kMaxReferenceDim) scale *= 2;
  return scale;
}

namespace {

#if FRAMEPRINT_HAVE_IMAGES

// EXIF orientation 1..8 as a transform of the stored picture (OpenCV's
// ExifTransform: 2 mirrors, 3 turns 180, 4 flips, 5 transposes, 6 turns
// 90 clockwise, 7 transposes the other way, 8 turns 270 clockwise).
Orientation exif_orientation(int tag) {
  switch (tag) {
    case 2: return {false, true, false};
    case 3: return {false, true, true};
    case 4: return {false, false, true};
    case 5: return {true, false, false};
    case 6: return {true, true, false};
    case 7: return {true, true, true};
    case 8: return {true, false, true};
    default: return {};
  }
}

// Decodes the JPEG's Y rows and keeps only the pixels of the plane to hash:
// the picture as displayed through `o` and, when that is larger than 512
// in either dimension, shrunk to exactly 512x512 by nearest neighbour --
// the very pixels the reference's resize picks from the upright picture,
// taken from where they are stored. The whole plane is never held.
void read_upright_shrunk(JpegLumaReader& reader, Orientation o, DecodedImage& out) {
  const int sw = reader.width();
  const int sh = reader.height();
  const int dw = o.transpose ? sh : sw;  // displayed size
  const int dh = o.transpose ? sw : sh;
  const bool shrink = dw > pdq::kMaxReferenceDim || dh > pdq::kMaxReferenceDim;
  const int w = shrink ? pdq::kMaxReferenceDim : dw;
  const int h = shrink ? pdq::kMaxReferenceDim : dh;
  out.luma_width = w;
  out.luma_height = h;
  // Output column x shows displayed column tx[x]; output row y, row ty[y].
  std::vector<int> tx(static_cast<size_t>(w)), ty(static_cast<size_t>(h));
  for (int x = 0; x < w; ++x) {
    const int d = shrink ? pdq::shrink_index(x, dw) : x;
    tx[static_cast<size_t>(x)] = o.flip_x ? dw - 1 - d : d;
  }
  for (int y = 0; y < h; ++y) {
    const int d = shrink ? pdq::shrink_index(y, dh) : y;
    ty[static_cast<size_t>(y)] = o.flip_y ? dh - 1 - d : d;
  }
  // Upright, a stored row fills output rows (at the columns tx); transposed,
  // output columns (at the rows ty). `users` lists them per stored row.
  const std::vector<int>& user_of = o.transpose ? tx : ty;  // output row/column -> stored row
  const std::vector<int>& picks = o.transpose ? ty : tx;    // along a stored row
  std::vector<int> begin(static_cast<size_t>(sh) + 1, 0);
  for (int s : user_of) ++begin[static_cast<size_t>(s) + 1];
  for (size_t k = 1; k < begin.size(); ++k) begin[k] += begin[k - 1];
  std::vector<int> users(user_of.size());
  {
    std::vector<int> fill(begin.begin(), begin.end() - 1);
    for (size_t u = 0; u < user_of.size(); ++u)
      users[static_cast<size_t>(fill[static_cast<size_t>(user_of[u])]++)] = static_cast<int>(u);
  }

  out.grey.resize(static_cast<size_t>(w) * static_cast<size_t>(h));
  uint8_t* const dst = out.grey.data();
  const auto stride = static_cast<size_t>(w);
  std::vector<uint8_t> batch(static_cast<size_t>(sw) * 16);
  for (int got; (got = reader.read(batch)) > 0;) {
    const int first = reader.next_row() - got;
    for (int k = 0; k < got; ++k) {
      const uint8_t* row = batch.data() + static_cast<size_t>(k) * static_cast<size_t>(sw);
      const auto s = static_cast<size_t>(first + k);
      for (int i = begin[s]; i < begin[s + 1]; ++i) {
        const auto u = static_cast<size_t>(users[static_cast<size_t>(i)]);
        if (!o.transpose) {
          uint8_t* line = dst + u * stride;
          for (size_t x = 0; x < stride; ++x) line[x] = row[picks[x]];
        } else {
          for (size_t y = 0; y < static_cast<size_t>(h); ++y) dst[y * stride + u] = row[picks[y]];
        }
      }
    }
  }
  reader.finish();
}

DecodedImage jpeg_luma_route(std::span<const uint8_t> bytes, const ImageProbe& probe,
                             const StillOptions& o) {
  DecodedImage out;
  out.route = StillRoute::kJpegLuma;
  out.dct_scale = o.dct_scale > 0 ? o.dct_scale : jpeg_dct_scale(probe.width, probe.height);
  JpegLumaReader reader(bytes, probe.width, probe.height, out.dct_scale, o.max_seconds);
  const Orientation orient =
      o.apply_exif_orientation ? exif_orientation(probe.exif_orientation) : Orientation{};
  out.width = orient.transpose ? probe.height : probe.width;
  out.height = orient.transpose ? probe.width : probe.height;
  read_upright_shrunk(reader, orient, out);
  return out;
}

DecodedImage colour_route(std::span<const uint8_t> bytes, const ImageProbe& probe,
                          const StillOptions& o) {
  const stills::Module& module = stills_module();
  stills::ColourLuma decoded;
  module.decode_colour_luma({bytes.data(), bytes.size(), o.apply_exif_orientation}, decoded);
  if (decoded.error)
    throw MediaError(decoded.error->code, "cannot decode " +
                                              std::string(image_format_name(probe.format)) +
                                              " image: " + decoded.error->message);
  check_picture_size(decoded.width, decoded.height, o.max_pixels, "image is");
  DecodedImage out;
  out.route = StillRoute::kColour;
  out.width = decoded.width;
  out.height = decoded.height;
  out.luma_width = decoded.luma_width;
  out.luma_height = decoded.luma_height;
  out.luma = std::move(decoded.luma);
  return out;
}

#endif

}  // namespace

DecodedImage decode_image(std::span<const uint8_t> bytes, const ImageProbe& probe,
                          const StillOptions& o) {
  const std::string fmt(image_format_name(probe.format));
#if FRAMEPRINT_HAVE_IMAGES
  // The size must be known before decoding: an image whose header does not
  // state it (in a way we read the same as the decoder) is not decoded.
  if ((probe.width <= 0 || probe.height <= 0) && probe.truncated)
    throw MediaError(ErrorCode::kTruncated, fmt + " file is truncated before its picture size");
  if (probe.width <= 0 || probe.height <= 0)
    throw MediaError(ErrorCode::kDecodeFailed,
                     "cannot read the " + fmt + " image's size from its header");
  check_picture_size(probe.width, probe.height, o.max_pixels, "image is");
  // A file cut at (or just before) its end marker decodes fully once the
  // marker is back: libpng refuses a PNG without IEND and libjpeg reads a
  // JPEG without EOI with a short tail. Data cut inside decodes as far as
  // it goes (JPEG, grey below) or not at all (PNG).
  std::vector<uint8_t> repaired;
  if (probe.truncated &&
      (probe.format == ImageFormat::kJpeg || probe.format == ImageFormat::kPng)) {
    static constexpr uint8_t kEoi[] = {0xFF, 0xD9};
    static constexpr uint8_t kIend[] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    const std::span<const uint8_t> end = probe.format == ImageFormat::kJpeg
                                             ? std::span<const uint8_t>(kEoi)
                                             : std::span<const uint8_t>(kIend);
    repaired.reserve(bytes.size() + end.size());
    repaired.assign(bytes.begin(), bytes.end());
    repaired.insert(repaired.end(), end.begin(), end.end());
    bytes = repaired;
  }
  if (probe.scans > kMaxJpegScans)  // counted by the probe, before any route decodes
    throw MediaError(ErrorCode::kDecodeFailed,
                     "the jpeg image has more than " + std::to_string(kMaxJpegScans) +
                         " scans (real ones have a few dozen); not decoded");
  DecodedImage out;
  try {
    // JPEGs with a luma plane take the luma route unless asked to be exact;
    // 4-component (CMYK, YCCK) ones have none and go through colour.
    out = !o.exact && probe.format == ImageFormat::kJpeg &&
                  (probe.components == 1 || probe.components == 3)
              ? jpeg_luma_route(bytes, probe, o)
              : colour_route(bytes, probe, o);
  } catch (const MediaError& e) {
    if (probe.truncated && e.code() == ErrorCode::kDecodeFailed)
      throw MediaError(
          ErrorCode::kTruncated,
          fmt + " file is truncated (no end marker) and its pixels do not decode: " + e.what());
    throw;
  }
  // Hashed like a viewer shows it; the result says the file was cut.
  out.truncated = probe.truncated;
  return out;
#else
  (void)bytes;
  (void)o;
  throw MediaError(
      ErrorCode::kUnsupportedFormat,
      fmt + " images cannot be decoded by this build (built with FRAMEPRINT_IMAGES=OFF)");
#endif
}

}  // namespace frameprint
