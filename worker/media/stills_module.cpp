// libframeprint_stills.so: still images through OpenCV imgcodecs (every
// format, and the exact route of JPEG). Loaded on demand by
// stills_loader.cpp; see stills_module.h for the boundary.
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <exception>
#include <limits>
#include <new>
#include <string>

#include "kernels/pdq_math.h"
#include "worker/media/stills_module.h"

namespace frameprint::stills {

namespace {

void fail(ColourLuma& out, ErrorCode code, std::string message) {
  out.error = ColourLuma::Error{code, std::move(message)};
}

void decode(const ColourRequest& request, ColourLuma& out) {
  if (request.size > static_cast<size_t>(std::numeric_limits<int>::max()))
    return fail(out, ErrorCode::kTooLarge, "image files over 2 GiB are not decoded");
  // Greyscale stays one channel (luma = grey value); colour becomes 8-bit
  // BGR with any alpha dropped; 16-bit samples are reduced to 8 bits.
  int flags = cv::IMREAD_ANYCOLOR;
  if (!request.apply_exif_orientation) flags |= cv::IMREAD_IGNORE_ORIENTATION;
  cv::Mat img;
  try {
    const cv::Mat buf(1, static_cast<int>(request.size), CV_8UC1,
                      const_cast<uint8_t*>(request.data));
    img = cv::imdecode(buf, flags);
  } catch (const cv::Exception& e) {
    // OpenCV refuses sizes over OPENCV_IO_MAX_IMAGE_PIXELS before allocating.
    if (e.func == "validateInputImageSize")
      return fail(out, ErrorCode::kTooLarge, "its size is over the limit");
    return fail(out, ErrorCode::kDecodeFailed, e.err);
  }
  if (img.empty() || img.depth() != CV_8U || (img.channels() != 1 && img.channels() != 3))
    return fail(out, ErrorCode::kDecodeFailed, "corrupt or unsupported variant");

  out.width = img.cols;
  out.height = img.rows;
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
    if (img.channels() == 1) {
      for (int x = 0; x < out.luma_width; ++x)
        dst[x] = static_cast<float>(row[src_x[static_cast<size_t>(x)]]);
    } else {
      for (int x = 0; x < out.luma_width; ++x) {
        const uint8_t* px = row + 3 * src_x[static_cast<size_t>(x)];
        dst[x] = pdq::luma_from_rgb(px[2], px[1], px[0]);
      }
    }
  }
}

void decode_colour_luma(const ColourRequest& request, ColourLuma& out) noexcept {
  try {
    decode(request, out);
  } catch (const std::bad_alloc&) {
    fail(out, ErrorCode::kInternal, "out of memory while decoding");
  } catch (const std::exception& e) {
    fail(out, ErrorCode::kInternal, std::string("internal error: ") + e.what());
  } catch (...) {
    fail(out, ErrorCode::kInternal, "internal error in the stills module");
  }
  if (out.error) out.luma.clear();
}

const Module kModule{kModuleAbi, sizeof(ColourRequest), sizeof(ColourLuma), &decode_colour_luma};

}  // namespace

}  // namespace frameprint::stills

extern "C" __attribute__((visibility("default"))) const frameprint::stills::Module*
frameprint_stills_module() noexcept {
  return &frameprint::stills::kModule;
}
