#include "worker/media/frame_luma.h"

extern "C" {
#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>
}

#include "kernels/pdq_math.h"
#include "worker/media/media_error.h"

namespace frameprint {

namespace {

bool is_full_range(const AVFrame* f, const AVPixFmtDescriptor* d) {
  if (f->color_range == AVCOL_RANGE_JPEG) return true;
  switch (f->format) {
    case AV_PIX_FMT_YUVJ420P:
    case AV_PIX_FMT_YUVJ422P:
    case AV_PIX_FMT_YUVJ444P:
    case AV_PIX_FMT_YUVJ440P:
    case AV_PIX_FMT_YUVJ411P: return true;
    default: break;
  }
  // Greyscale without a stated range is full range (as FFmpeg converts it).
  return f->color_range == AVCOL_RANGE_UNSPECIFIED && d->nb_components <= 2;
}

// A pixel format whose first plane is plain luma we can read in place.
bool has_direct_luma(const AVPixFmtDescriptor* d) {
  if (!d || (d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_HWACCEL |
                         AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_FLOAT | AV_PIX_FMT_FLAG_BE)))
    return false;
  if (d->nb_components < 1) return false;
  const AVComponentDescriptor& y = d->comp[0];
  if (y.plane != 0 || y.shift != 0 || y.offset != 0) return false;
  if (y.depth == 8) return y.step == 1;
  return y.depth > 8 && y.depth <= 16 && y.step == 2;
}

SampleType sample_type(int depth) { return depth == 8 ? SampleType::kU8 : SampleType::kU16; }

}  // namespace

LumaPlane FrameLuma::plane(const AVFrame* f) {
  if (f->width <= 0 || f->height <= 0)
    throw MediaError(ErrorCode::kDecodeFailed, "decoded frame has no size");
  if (f->format == AV_PIX_FMT_CUDA && f->hw_frames_ctx) {
    // A surface in device memory: its first plane is luma (NV12, P010, P016,
    // YUV444P16). P010 keeps 10 bits in the top of 16, which maps exactly
    // like 16-bit codes.
    const auto* frames = reinterpret_cast<const AVHWFramesContext*>(f->hw_frames_ctx->data);
    const AVPixFmtDescriptor* sd = av_pix_fmt_desc_get(frames->sw_format);
    if (!sd || sd->comp[0].plane != 0 || sd->nb_components < 1)
      throw MediaError(ErrorCode::kDecodeFailed, "unexpected NVDEC surface format");
    const int depth = sd->comp[0].depth + sd->comp[0].shift;
    return LumaPlane{f->data[0],
                     f->linesize[0],
                     f->width,
                     f->height,
                     sample_type(depth),
                     depth,
                     f->color_range == AVCOL_RANGE_JPEG,
                     MemoryLocation::kDevice};
  }
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(f->format));
  // Up to kNoBlurDim pixels on a side PDQ's box filter has a window of one
  // pixel: it samples single pixels, and the small differences between a
  // frame's Y codes and the luma the reference computes from its RGB
  // conversion are not averaged away (about 10 bits on a 64x48 clip). Such
  // frames take the reference's route: RGB24 as it converts them, then luma.
  const bool tiny = f->width <= kNoBlurDim || f->height <= kNoBlurDim;
  if (has_direct_luma(d) && !tiny) {
    const int depth = d->comp[0].depth;
    return LumaPlane{f->data[0],         f->linesize[0], f->width,           f->height,
                     sample_type(depth), depth,          is_full_range(f, d)};
  }
  // Anything else (RGB, palette, ...), and tiny frames: convert to RGB24
  // with the flags the reference vPDQ hasher uses (SWS_AREA, no colour
  // details: at the same size only the chroma upsampling depends on them),
  // then luma as PDQ computes it from RGB.
  sws_.reset(sws_getCachedContext(sws_.release(), f->width, f->height,
                                  static_cast<AVPixelFormat>(f->format), f->width, f->height,
                                  AV_PIX_FMT_RGB24, SWS_AREA, nullptr, nullptr, nullptr));
  if (!sws_)
    throw MediaError(ErrorCode::kDecodeFailed, "unsupported pixel format for luma conversion");
  if (!rgb_) throw MediaError(ErrorCode::kInternal, "out of memory");
  if (rgb_->width != f->width || rgb_->height != f->height) {
    av_frame_unref(rgb_.get());
    rgb_->format = AV_PIX_FMT_RGB24;
    rgb_->width = f->width;
    rgb_->height = f->height;
    if (av_frame_get_buffer(rgb_.get(), 0) < 0)
      throw MediaError(ErrorCode::kInternal, "out of memory");
  }
  sws_scale(sws_.get(), f->data, f->linesize, 0, f->height, rgb_->data, rgb_->linesize);
  luma_.resize(static_cast<size_t>(f->width) * static_cast<size_t>(f->height));
  for (int y = 0; y < f->height; ++y) {
    const uint8_t* row = rgb_->data[0] + static_cast<std::ptrdiff_t>(y) * rgb_->linesize[0];
    float* dst = luma_.data() + static_cast<size_t>(y) * static_cast<size_t>(f->width);
    for (int x = 0; x < f->width; ++x)
      dst[x] = pdq::luma_from_rgb(row[3 * x], row[3 * x + 1], row[3 * x + 2]);
  }
  return LumaPlane{luma_.data(),
                   static_cast<std::ptrdiff_t>(f->width * sizeof(float)),
                   f->width,
                   f->height,
                   SampleType::kF32,
                   8,
                   true};
}

}  // namespace frameprint
