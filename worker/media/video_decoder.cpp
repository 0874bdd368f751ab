#include "worker/media/video_decoder.h"

#include <string>

extern "C" {
#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>
}

#include "worker/media/ffmpeg_handles.h"
#include "worker/media/frame_luma.h"
#include "worker/media/media_error.h"

namespace frameprint {

struct VideoDecoder::State {
  State(const MediaSource& source, const VideoLimits& l, const DecoderSettings& s)
      : limits(l), settings(s), deadline(l.max_seconds), input(source, l, deadline) {}

  VideoLimits limits;
  DecoderSettings settings;
  Deadline deadline;
  VideoInput input;
  VideoInfo info;
  ffmpeg::CodecContextPtr codec;
  ffmpeg::PacketPtr packet{av_packet_alloc()};
  ffmpeg::FramePtr frame{av_frame_alloc()};
  FrameLuma luma;
  int64_t decoded = 0;
  int64_t corrupt = 0;
  int64_t concealed = 0;
  bool flushing = false;
  bool finished = false;
  int64_t start_pts = AV_NOPTS_VALUE;
  double last_ts = -1;

  void open_decoder();
  void try_nvdec(const AVCodec* decoder);
  static AVPixelFormat pick_format(AVCodecContext* ctx, const AVPixelFormat* formats);
  bool receive(VideoFrame& out);
  double timestamp(const AVFrame* f);
};

void VideoDecoder::State::open_decoder() {
  info = input.info();
  const AVStream* stream = input.stream();
  if (stream->start_time != AV_NOPTS_VALUE) start_pts = stream->start_time;
  const AVCodecParameters* par = stream->codecpar;
  const AVCodec* decoder = avcodec_find_decoder(par->codec_id);
  if (!decoder)
    throw MediaError(ErrorCode::kUnsupportedFormat, "no decoder for video codec " + info.codec);
  codec.reset(avcodec_alloc_context3(decoder));
  if (!codec) throw MediaError(ErrorCode::kInternal, "out of memory");
  if (avcodec_parameters_to_context(codec.get(), par) < 0)
    throw MediaError(ErrorCode::kDecodeFailed, "invalid " + info.codec + " stream parameters");
  codec->pkt_timebase = stream->time_base;
  if (settings.nvdec_device >= 0) try_nvdec(decoder);
  codec->thread_count = settings.threads;
  codec->max_pixels = limits.max_pixels;  // FFmpeg refuses larger frames before allocating
  const int err = avcodec_open2(codec.get(), decoder, nullptr);
  if (err < 0)
    throw MediaError(ErrorCode::kDecodeFailed, "cannot open the " + info.codec + " decoder (" +
                                                   ffmpeg::error_string(err) + ")");
  if (!packet || !frame) throw MediaError(ErrorCode::kInternal, "out of memory");
}

// NVDEC through FFmpeg's CUDA hwaccel, when the codec has it and a device
// context can be made; anything short of that leaves the CPU decoder.
void VideoDecoder::State::try_nvdec(const AVCodec* decoder) {
  bool supported = false;
  for (int i = 0;; ++i) {
    const AVCodecHWConfig* cfg = avcodec_get_hw_config(decoder, i);
    if (!cfg) break;
    supported |= (cfg->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) &&
                 cfg->device_type == AV_HWDEVICE_TYPE_CUDA;
  }
  if (!supported) return;
  AVBufferRef* device = nullptr;
  // Flag 1 is AV_CUDA_USE_PRIMARY_CONTEXT (libavutil/hwcontext_cuda.h, which
  // needs the CUDA headers): share the context the CUDA runtime uses, so
  // decoded surfaces are valid device pointers for our kernels.
  const std::string index = std::to_string(settings.nvdec_device);
  if (av_hwdevice_ctx_create(&device, AV_HWDEVICE_TYPE_CUDA, index.c_str(), nullptr, 1) < 0)
    return;
  codec->hw_device_ctx = device;  // the codec context owns it now
  codec->opaque = this;
  codec->get_format = &State::pick_format;
  codec->extra_hw_frames = settings.nvdec_surfaces;
  info.decoder = "nvdec";
}

AVPixelFormat VideoDecoder::State::pick_format(AVCodecContext* ctx, const AVPixelFormat* formats) {
  auto* self = static_cast<State*>(ctx->opaque);
  for (const AVPixelFormat* p = formats; *p != AV_PIX_FMT_NONE; ++p)
    if (*p == AV_PIX_FMT_CUDA) return *p;
  // NVDEC cannot take this stream (profile, size): decode on the CPU.
  self->info.decoder = "cpu";
  for (const AVPixelFormat* p = formats; *p != AV_PIX_FMT_NONE; ++p) {
    const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(*p);
    if (d && !(d->flags & AV_PIX_FMT_FLAG_HWACCEL)) return *p;
  }
  return AV_PIX_FMT_NONE;
}

// Seconds from the stream's start, from the frame's PTS; frames without one
// follow the previous frame by one frame interval.
double VideoDecoder::State::timestamp(const AVFrame* f) {
  const int64_t pts = f->best_effort_timestamp;
  if (pts != AV_NOPTS_VALUE && start_pts == AV_NOPTS_VALUE) start_pts = pts;
  double ts;
  int64_t since_start = 0;
  if (pts != AV_NOPTS_VALUE && !__builtin_sub_overflow(pts, start_pts, &since_start)) {
    ts = static_cast<double>(since_start) * av_q2d(input.stream()->time_base);
  } else {
    ts = last_ts < 0 ? 0.0 : last_ts + (info.fps > 0 ? 1.0 / info.fps : 0.0);
  }
  last_ts = ts;
  return ts;
}

bool VideoDecoder::State::receive(VideoFrame& out) {
  for (;;) {
    deadline.check();
    const int err = avcodec_receive_frame(codec.get(), frame.get());
    if (err == 0) {
      if (++decoded > limits.max_frames)
        throw MediaError(ErrorCode::kTooLarge, "video has more than " +
                                                   std::to_string(limits.max_frames) +
                                                   " frames (--max-frames)");
      out.index = decoded - 1;
      // Decoders conceal damage (and still return the frame); count it.
      if ((frame->flags & AV_FRAME_FLAG_CORRUPT) || frame->decode_error_flags) ++concealed;
      check_picture_size(frame->width, frame->height, limits.max_pixels);
      out.ts = timestamp(frame.get());
      out.plane = luma.plane(frame.get());
      out.hold.reset();
      if (out.plane.location == MemoryLocation::kDevice) {
        AVFrame* clone = av_frame_clone(frame.get());
        if (!clone) throw MediaError(ErrorCode::kInternal, "out of memory");
        out.hold = std::shared_ptr<void>(clone, [](void* p) {
          auto* x = static_cast<AVFrame*>(p);
          av_frame_free(&x);
        });
      }
      return true;
    }
    if (err == AVERROR_EOF) {
      finished = true;
      return false;
    }
    if (err != AVERROR(EAGAIN)) {
      ++corrupt;  // a frame that failed to decode; keep going
      continue;
    }
    if (flushing) {  // EAGAIN while flushing should not happen; stop cleanly
      finished = true;
      return false;
    }
    // The decoder wants input.
    if (!input.read(packet.get())) {
      avcodec_send_packet(codec.get(), nullptr);  // drain what is buffered
      flushing = true;
      continue;
    }
    const int sent = avcodec_send_packet(codec.get(), packet.get());
    if (sent < 0 && sent != AVERROR(EAGAIN)) ++corrupt;
    av_packet_unref(packet.get());
  }
}

VideoDecoder::VideoDecoder(const MediaSource& source, const VideoLimits& limits,
                           const DecoderSettings& settings)
    : s_(std::make_unique<State>(source, limits, settings)) {
  s_->open_decoder();
}

VideoDecoder::~VideoDecoder() = default;

const VideoInfo& VideoDecoder::info() const { return s_->info; }

bool VideoDecoder::next(VideoFrame& frame) {
  if (s_->finished) return false;
  return s_->receive(frame);
}

int64_t VideoDecoder::corrupt_packets() const { return s_->corrupt; }
int64_t VideoDecoder::concealed_frames() const { return s_->concealed; }
int64_t VideoDecoder::indexed_frames() const { return s_->input.indexed_frames(); }
bool VideoDecoder::read_error() const { return s_->input.read_error(); }

}  // namespace frameprint
