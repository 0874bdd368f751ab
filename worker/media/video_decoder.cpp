#include "worker/media/video_decoder.h"

#include <deque>
#include <optional>
#include <string>

extern "C" {
#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>
}

#include "worker/media/ffmpeg_handles.h"
#include "worker/media/frame_luma.h"
#include "worker/media/frame_sampler.h"
#include "worker/media/media_error.h"

namespace frameprint {

struct VideoDecoder::State {
  State(const MediaSource& src, const VideoLimits& l, const DecoderSettings& s)
      : source(src), limits(l), settings(s), deadline(l.max_seconds) {
    input.emplace(source, limits, deadline);
  }

  const MediaSource& source;
  VideoLimits limits;
  DecoderSettings settings;
  Deadline deadline;
  std::optional<VideoInput> input;
  VideoInfo info;
  ffmpeg::CodecContextPtr codec;
  ffmpeg::FramePtr frame{av_frame_alloc()};
  FrameLuma luma;
  SkipPlanner planner{0};
  std::deque<ffmpeg::PacketPtr> window;  // packets read ahead, for the planner
  bool input_done = false;
  int64_t decoded = 0;
  int64_t corrupt = 0;
  int64_t concealed = 0;
  bool flushing = false;
  bool finished = false;
  int64_t start_pts = AV_NOPTS_VALUE;
  TimestampGuard guard{0, 0};
  bool cuda_offered = false;    // get_format was offered (and took) the CUDA format
  bool restart_on_cpu = false;  // the decoder cannot go on without NVDEC
  bool hwaccel_only = false;    // the decoder decodes only through a hwaccel (AV1's native one)

  void make_context(const AVCodec* decoder);
  void open_decoder(bool want_nvdec);
  const AVCodec* nvdec_decoder(AVCodecID id) const;
  bool try_nvdec();
  void fall_back(std::string why) {
    info.decoder = "cpu";
    if (info.nvdec_fallback.empty()) info.nvdec_fallback = std::move(why);
  }
  static AVPixelFormat pick_format(AVCodecContext* ctx, const AVPixelFormat* formats);
  bool receive(VideoFrame& out);
  std::optional<double> timestamp(const AVFrame* f);
  std::optional<double> packet_ts(const AVPacket* p) const;
  bool send_next_packet();
};

// A decoder for `id` that has FFmpeg's CUDA hwaccel: the default one when it
// has it, else another (AV1: the default is libdav1d, which has none, while
// FFmpeg's native "av1" decoder has NVDEC). nullptr when none has.
const AVCodec* VideoDecoder::State::nvdec_decoder(AVCodecID id) const {
  auto has_cuda = [](const AVCodec* c) {
    for (int i = 0;; ++i) {
      const AVCodecHWConfig* cfg = avcodec_get_hw_config(c, i);
      if (!cfg) return false;
      if ((cfg->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) &&
          cfg->device_type == AV_HWDEVICE_TYPE_CUDA)
        return true;
    }
  };
  const AVCodec* first = avcodec_find_decoder(id);
  if (first && has_cuda(first)) return first;
  void* it = nullptr;
  while (const AVCodec* c = av_codec_iterate(&it))
    if (c->id == id && av_codec_is_decoder(c) && has_cuda(c)) return c;
  return nullptr;
}

void VideoDecoder::State::make_context(const AVCodec* decoder) {
  if (!decoder)
    throw MediaError(ErrorCode::kUnsupportedFormat, "no decoder for video codec " + info.codec);
  const AVStream* stream = input->stream();
  codec.reset(avcodec_alloc_context3(decoder));
  if (!codec) throw MediaError(ErrorCode::kInternal, "out of memory");
  if (avcodec_parameters_to_context(codec.get(), stream->codecpar) < 0)
    throw MediaError(ErrorCode::kDecodeFailed, "invalid " + info.codec + " stream parameters");
  codec->pkt_timebase = stream->time_base;
  codec->thread_count = settings.threads;
  codec->max_pixels = limits.max_pixels;  // FFmpeg refuses larger frames before allocating
}

void VideoDecoder::State::open_decoder(bool want_nvdec) {
  info = input->info();
  start_pts = input->stream()->start_time;
  // Packets are timed against the stream's start; without one, decode all.
  planner = SkipPlanner(start_pts == AV_NOPTS_VALUE ? 0.0 : settings.seconds_per_hash);
  guard = TimestampGuard(info.fps, info.duration_s);
  window.clear();
  input_done = false;
  const AVCodecID id = input->stream()->codecpar->codec_id;
  const AVCodec* decoder = avcodec_find_decoder(id);  // the CPU's
  // Tiny frames are hashed from an RGB conversion on the host (frame_luma.h)
  // and cost little to decode: they stay on the CPU.
  if (info.width <= kNoBlurDim || info.height <= kNoBlurDim) want_nvdec = false;
  if (want_nvdec) {
    const AVCodec* hw = nvdec_decoder(id);
    if (!hw) {
      fall_back("this FFmpeg has no NVDEC decoder for " + info.codec);
    } else {
      make_context(hw);
      if (try_nvdec()) {
        decoder = hw;
        hwaccel_only = hw != avcodec_find_decoder(id);
      }
    }
  }
  if (!codec || codec->codec != decoder) make_context(decoder);
  const int err = avcodec_open2(codec.get(), decoder, nullptr);
  if (err < 0)
    throw MediaError(ErrorCode::kDecodeFailed, "cannot open the " + info.codec + " decoder (" +
                                                   ffmpeg::error_string(err) + ")");
  if (!frame) throw MediaError(ErrorCode::kInternal, "out of memory");
}

// NVDEC through FFmpeg's CUDA hwaccel on the codec context; false (with the
// reason recorded) when no device context can be made.
bool VideoDecoder::State::try_nvdec() {
  AVBufferRef* device = nullptr;
  // Flag 1 is AV_CUDA_USE_PRIMARY_CONTEXT (libavutil/hwcontext_cuda.h, which
  // needs the CUDA headers): share the context the CUDA runtime uses, so
  // decoded surfaces are valid device pointers for our kernels. The backend
  // has set that context's flags to blocking sync, as FFmpeg requires
  // (kernels/cuda/cuda_check.h, docs/gpu.md).
  const std::string index = std::to_string(settings.nvdec_device);
  const int err = av_hwdevice_ctx_create(&device, AV_HWDEVICE_TYPE_CUDA, index.c_str(), nullptr, 1);
  if (err < 0) {
    fall_back("cannot use CUDA device " + index + " for NVDEC (" + ffmpeg::error_string(err) + ")");
    return false;
  }
  codec->hw_device_ctx = device;  // the codec context owns it now
  codec->opaque = this;
  codec->get_format = &State::pick_format;
  // The decoder's surface pool is its reference frames plus these; NVDEC
  // takes at most 32 in all. The pipeline stages frames out at once, and
  // frame threads would each add surfaces: one thread, the engine decodes.
  codec->extra_hw_frames = settings.nvdec_surfaces;
  codec->thread_count = 1;
  info.decoder = "nvdec";
  return true;
}

AVPixelFormat VideoDecoder::State::pick_format(AVCodecContext* ctx, const AVPixelFormat* formats) {
  auto* self = static_cast<State*>(ctx->opaque);
  bool software = false;
  for (const AVPixelFormat* p = formats; *p != AV_PIX_FMT_NONE; ++p) {
    if (*p == AV_PIX_FMT_CUDA) {
      self->cuda_offered = true;
      return *p;
    }
    const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(*p);
    software |= d && !(d->flags & AV_PIX_FMT_FLAG_HWACCEL);
  }
  // NVDEC cannot take this stream: FFmpeg offers no CUDA format (profile,
  // chroma format, size), or offers it again without CUDA after the
  // hwaccel failed to start (too many surfaces, or an engine without this
  // codec: the H200's has no AV1, "Hardware is lacking required
  // capabilities"). A decoder that decodes only through a hwaccel lists its
  // software format too but cannot use it: it is replaced.
  const char* sw = av_get_pix_fmt_name(ctx->sw_pix_fmt);
  const char* profile = avcodec_profile_name(ctx->codec_id, ctx->profile);
  self->fall_back(std::string(self->cuda_offered ? "NVDEC failed to start for this stream ("
                                                 : "NVDEC cannot decode this stream (") +
                  self->info.codec + (profile ? std::string(" ") + profile : "") + ", " +
                  (sw ? sw : "unknown pixel format") + ")");
  if (!software || self->hwaccel_only) {
    self->restart_on_cpu = true;  // a hwaccel-only decoder: start again with the default one
    return AV_PIX_FMT_NONE;
  }
  for (const AVPixelFormat* p = formats; *p != AV_PIX_FMT_NONE; ++p) {
    const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(*p);
    if (d && !(d->flags & AV_PIX_FMT_FLAG_HWACCEL)) return *p;
  }
  return AV_PIX_FMT_NONE;
}

// Seconds from the stream's start, from the frame's PTS (nullopt without
// one, or when it cannot be subtracted).
std::optional<double> VideoDecoder::State::timestamp(const AVFrame* f) {
  const int64_t pts = f->best_effort_timestamp;
  if (pts != AV_NOPTS_VALUE && start_pts == AV_NOPTS_VALUE) start_pts = pts;
  int64_t since_start = 0;
  if (pts == AV_NOPTS_VALUE || __builtin_sub_overflow(pts, start_pts, &since_start))
    return std::nullopt;
  return static_cast<double>(since_start) * av_q2d(input->stream()->time_base);
}

bool VideoDecoder::State::receive(VideoFrame& out) {
  for (;;) {
    deadline.check();
    if (restart_on_cpu && decoded == 0) {
      // The hwaccel-only decoder refused the stream before any frame: read
      // the input again with the default (CPU) decoder.
      restart_on_cpu = false;
      const std::string why = info.nvdec_fallback;
      codec.reset();
      input.reset();
      input.emplace(source, limits, deadline);
      hwaccel_only = false;
      open_decoder(false);
      info.nvdec_fallback = why;
      corrupt = concealed = 0;
      flushing = finished = false;
    }
    const int err = avcodec_receive_frame(codec.get(), frame.get());
    if (err == 0) {
      if (++decoded > limits.max_frames)
        throw MediaError(
            ErrorCode::kTooLarge,
            "video has more than " + std::to_string(limits.max_frames) + " frames (--max-frames)");
      // Decoders conceal damage (and still return the frame); count it.
      if ((frame->flags & AV_FRAME_FLAG_CORRUPT) || frame->decode_error_flags) ++concealed;
      check_picture_size(frame->width, frame->height, limits.max_pixels);
      const std::optional<double> raw = timestamp(frame.get());
      out.ts = guard(raw);
      out.index = planner.index_of(raw ? *raw : out.ts);
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
    if (!send_next_packet()) {
      avcodec_send_packet(codec.get(), nullptr);  // drain what is buffered
      flushing = true;
    }
  }
}

std::optional<double> VideoDecoder::State::packet_ts(const AVPacket* p) const {
  int64_t since_start = 0;
  if (p->pts == AV_NOPTS_VALUE || start_pts == AV_NOPTS_VALUE ||
      __builtin_sub_overflow(p->pts, start_pts, &since_start))
    return std::nullopt;
  return static_cast<double>(since_start) * av_q2d(input->stream()->time_base);
}

// Sends the next packet; false at the end of the input. With a sampling
// interval, packets are read some way ahead so that the planner knows, for
// the packet going in, whether an earlier frame of its interval exists
// (B-frames arrive out of presentation order); a frame the sampler cannot
// take is decoded only if other frames refer to it.
bool VideoDecoder::State::send_next_packet() {
  constexpr size_t kLookahead = 48;  // packets; H.264/HEVC reorder at most 16 frames
  const size_t want = planner.active() ? kLookahead : 1;
  while (window.size() < want && !input_done) {
    ffmpeg::PacketPtr p(av_packet_alloc());
    if (!p) throw MediaError(ErrorCode::kInternal, "out of memory");
    if (!input->read(p.get())) {
      input_done = true;
      break;
    }
    planner.saw(packet_ts(p.get()));
    window.push_back(std::move(p));
  }
  if (window.empty()) return false;
  ffmpeg::PacketPtr p = std::move(window.front());
  window.pop_front();
  const std::optional<double> ts = packet_ts(p.get());
  const bool may_be_taken = planner.may_be_taken(ts);
  codec->skip_frame = may_be_taken ? AVDISCARD_DEFAULT : AVDISCARD_NONREF;
  if (!may_be_taken) planner.skip_requested(*ts);
  const int sent = avcodec_send_packet(codec.get(), p.get());
  if (sent < 0 && sent != AVERROR(EAGAIN)) ++corrupt;
  return true;
}

VideoDecoder::VideoDecoder(const MediaSource& source, const VideoLimits& limits,
                           const DecoderSettings& settings)
    : s_(std::make_unique<State>(source, limits, settings)) {
  s_->open_decoder(settings.nvdec_device >= 0);
}

VideoDecoder::~VideoDecoder() = default;

const VideoInfo& VideoDecoder::info() const { return s_->info; }

bool VideoDecoder::next(VideoFrame& frame) {
  if (s_->finished) return false;
  return s_->receive(frame);
}

int64_t VideoDecoder::corrupt_packets() const { return s_->corrupt; }
int64_t VideoDecoder::decoded_frames() const { return s_->decoded; }
int64_t VideoDecoder::stream_frames() const { return s_->planner.frames(); }
int64_t VideoDecoder::repaired_timestamps() const { return s_->guard.repaired(); }
bool VideoDecoder::skipped_frames() const { return s_->planner.skipped_any(); }
int64_t VideoDecoder::concealed_frames() const { return s_->concealed; }
int64_t VideoDecoder::indexed_frames() const { return s_->input->indexed_frames(); }
bool VideoDecoder::read_error() const { return s_->input->read_error(); }

}  // namespace frameprint
