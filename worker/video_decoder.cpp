#include "video_decoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

extern "C" {
#include <libavutil/dict.h>
#include <libavutil/hwcontext.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
}

#include "kernels/pdq_math.h"
#include "worker/ffmpeg_handles.h"
#include "worker/media_error.h"
#include "worker/media_source.h"

namespace frameprint {

namespace {

using Clock = std::chrono::steady_clock;

// Feeds the source's bytes to FFmpeg's custom I/O.
struct SourceReader {
  const MediaSource* source = nullptr;
  uint64_t pos = 0;

  static int read(void* opaque, uint8_t* buf, int size) {
    auto* r = static_cast<SourceReader*>(opaque);
    size_t n = 0;
    try {
      n = r->source->read_at(r->pos, std::span<uint8_t>(buf, static_cast<size_t>(size)));
    } catch (const MediaError&) {
      return AVERROR(EIO);
    }
    if (n == 0) return AVERROR_EOF;
    r->pos += n;
    return static_cast<int>(n);
  }

  static int64_t seek(void* opaque, int64_t offset, int whence) {
    auto* r = static_cast<SourceReader*>(opaque);
    const auto size = static_cast<int64_t>(r->source->size());
    int64_t target;
    switch (whence & ~AVSEEK_FORCE) {
      case AVSEEK_SIZE: return size;
      case SEEK_SET: target = offset; break;
      case SEEK_CUR: target = static_cast<int64_t>(r->pos) + offset; break;
      case SEEK_END: target = size + offset; break;
      default: return AVERROR(EINVAL);
    }
    if (target < 0 || target > size) return AVERROR(EINVAL);
    r->pos = static_cast<uint64_t>(target);
    return target;
  }
};

// Demuxers for media files people upload. Anything else — playlists and
// manifests (hls, dash, concat) that would open other files or URLs, image
// sequences, raw formats — is refused.
bool allowed_container(std::string_view name) {
  static constexpr std::string_view kAllowed[] = {
      "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi", "flv", "mpegts", "mpeg", "mpegvideo", "asf", "ogg",
      "nut", "mxf", "rm", "dv", "gif", "h264", "hevc", "m4v", "vc1", "av1", "obu", "ivf", "mjpeg",
      "yuv4mpegpipe", "wav", "mp3", "aac", "flac", "aiff", "amr", "w64", "caf", "wv"};
  return std::find(std::begin(kAllowed), std::end(kAllowed), name) != std::end(kAllowed);
}

// FFmpeg must never open anything but the bytes it was given.
int refuse_nested_open(AVFormatContext*, AVIOContext**, const char*, int, AVDictionary**) {
  return AVERROR(EPERM);
}

// Per-stream options for avformat_find_stream_info, owned here.
class StreamOptions {
 public:
  StreamOptions(unsigned streams, int64_t max_pixels) : dicts_(streams, nullptr) {
    for (auto& d : dicts_) av_dict_set_int(&d, "max_pixels", max_pixels, 0);
  }
  ~StreamOptions() {
    for (auto& d : dicts_) av_dict_free(&d);
  }
  StreamOptions(const StreamOptions&) = delete;
  StreamOptions& operator=(const StreamOptions&) = delete;
  AVDictionary** get() { return dicts_.data(); }

 private:
  std::vector<AVDictionary*> dicts_;
};

int rotation_from_display_matrix(const AVStream* st) {
  const int32_t* matrix = nullptr;
#if LIBAVFORMAT_VERSION_MAJOR >= 61
  const AVPacketSideData* sd = av_packet_side_data_get(
      st->codecpar->coded_side_data, st->codecpar->nb_coded_side_data, AV_PKT_DATA_DISPLAYMATRIX);
  if (sd && sd->size >= 9 * sizeof(int32_t)) matrix = reinterpret_cast<const int32_t*>(sd->data);
#else
  size_t size = 0;
  const uint8_t* sd = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (sd && size >= 9 * sizeof(int32_t)) matrix = reinterpret_cast<const int32_t*>(sd);
#endif
  if (!matrix) return 0;
  const double ccw = av_display_rotation_get(matrix);
  if (std::isnan(ccw)) return 0;
  // FFmpeg reports the counter-clockwise angle; viewers turn clockwise by
  // its negation. Only quarter turns are meaningful for pictures.
  const long cw = (std::lround(-ccw) % 360 + 360) % 360;
  const long quarter = std::lround(static_cast<double>(cw) / 90.0) * 90 % 360;
  return std::abs(cw - quarter) <= 1 || std::abs(cw - quarter) >= 359 ? static_cast<int>(quarter) : 0;
}

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

}  // namespace

struct VideoDecoder::State {
  VideoLimits limits;
  Clock::time_point deadline;
  SourceReader reader;
  ffmpeg::IoContextPtr io;
  ffmpeg::FormatContextPtr fmt;
  ffmpeg::CodecContextPtr codec;
  ffmpeg::PacketPtr packet{av_packet_alloc()};
  ffmpeg::FramePtr frame{av_frame_alloc()};
  ffmpeg::FramePtr rgb{av_frame_alloc()};
  ffmpeg::SwsContextPtr sws;
  std::vector<float> luma;  // for frames without a direct luma plane
  AVStream* stream = nullptr;
  VideoInfo info;
  int64_t decoded = 0;
  int64_t corrupt = 0;
  int64_t concealed = 0;
  bool read_error = false;
  bool flushing = false;
  bool finished = false;
  int64_t start_pts = AV_NOPTS_VALUE;
  double last_ts = -1;

  bool expired() const { return Clock::now() > deadline; }
  void check_deadline() const {
    if (expired())
      throw MediaError(ErrorCode::kTimeout, "decoding took longer than the limit of " +
                                                std::to_string(limits.max_seconds) + " s (--max-seconds)");
  }
  static int interrupt(void* opaque) { return static_cast<State*>(opaque)->expired() ? 1 : 0; }

  void open(const MediaSource& source);
  void try_nvdec(const AVCodec* decoder);
  static AVPixelFormat pick_format(AVCodecContext* ctx, const AVPixelFormat* formats);
  void check_size(int64_t width, int64_t height) const;
  bool receive(VideoFrame& out);
  void to_plane(VideoFrame& out);
};

void VideoDecoder::State::check_size(int64_t w, int64_t h) const {
  if (w * h > limits.max_pixels || w > kMaxDimension || h > kMaxDimension)
    throw MediaError(ErrorCode::kTooLarge,
                     "video frames are " + std::to_string(w) + "x" + std::to_string(h) +
                         " pixels, more than the limit of " + std::to_string(limits.max_pixels) +
                         " (--max-pixels) or " + std::to_string(kMaxDimension) + " on a side");
}

void VideoDecoder::State::open(const MediaSource& source) {
  reader.source = &source;
  constexpr int kIoBuffer = 1 << 16;
  auto* buf = static_cast<uint8_t*>(av_malloc(kIoBuffer));
  if (!buf) throw MediaError(ErrorCode::kInternal, "out of memory");
  io.reset(avio_alloc_context(buf, kIoBuffer, 0, &reader, &SourceReader::read, nullptr,
                              &SourceReader::seek));
  if (!io) {
    av_free(buf);
    throw MediaError(ErrorCode::kInternal, "out of memory");
  }
  AVFormatContext* raw = avformat_alloc_context();
  if (!raw) throw MediaError(ErrorCode::kInternal, "out of memory");
  raw->pb = io.get();
  raw->flags |= AVFMT_FLAG_CUSTOM_IO;
  raw->interrupt_callback = AVIOInterruptCB{&State::interrupt, this};
  raw->io_open = &refuse_nested_open;
  // Probe first, so "not a media file" and "a media file we cannot read"
  // get different answers.
  const AVInputFormat* input_format = nullptr;
  int err = av_probe_input_buffer2(io.get(), &input_format, "", nullptr, 0, 0);
  // A weak guess (score below FFmpeg's own "retry with more data" level)
  // is how random bytes look; do not go on to decode them.
  if (err < AVPROBE_SCORE_RETRY || !input_format) {
    avformat_free_context(raw);
    check_deadline();
    throw MediaError(ErrorCode::kUnsupportedFormat, "not a recognised image or video format");
  }
  const std::string probed = input_format->name;
  if (!allowed_container(probed)) {
    avformat_free_context(raw);
    throw MediaError(ErrorCode::kUnsupportedFormat,
                     "not a supported media container (" + probed + ")");
  }
  err = avformat_open_input(&raw, nullptr, input_format, nullptr);  // frees raw on failure
  if (err < 0) {
    check_deadline();
    throw MediaError(ErrorCode::kDecodeFailed, "cannot read the " + probed + " container (" +
                                                   ffmpeg::error_string(err) +
                                                   "); the file may be truncated or corrupt");
  }
  fmt.reset(raw);
  info.container = fmt->iformat->name;
  // Sizes the container states are checked before any frame is decoded,
  // and stream probing decodes under the same pixel limit.
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    const AVCodecParameters* p = fmt->streams[i]->codecpar;
    if (p->codec_type == AVMEDIA_TYPE_VIDEO) check_size(p->width, p->height);
  }
  StreamOptions probe_options(fmt->nb_streams, limits.max_pixels);
  err = avformat_find_stream_info(fmt.get(), probe_options.get());
  check_deadline();
  // Probing may have found sizes in the bitstream (and stopped at the limit).
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    const AVCodecParameters* p = fmt->streams[i]->codecpar;
    if (p->codec_type == AVMEDIA_TYPE_VIDEO) check_size(p->width, p->height);
  }
  if (err < 0)
    throw MediaError(ErrorCode::kDecodeFailed, "cannot read the stream information of the " + info.container +
                                                   " data (" + ffmpeg::error_string(err) + ")");

  // The best video stream that is not cover art.
  int index = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (index >= 0 && (fmt->streams[index]->disposition & AV_DISPOSITION_ATTACHED_PIC)) index = -1;
  if (index < 0) {
    for (unsigned i = 0; i < fmt->nb_streams; ++i) {
      const AVStream* st = fmt->streams[i];
      if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !(st->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
        index = static_cast<int>(i);
        break;
      }
    }
  }
  if (index < 0) {
    bool audio = false;
    for (unsigned i = 0; i < fmt->nb_streams; ++i)
      audio |= fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO;
    if (audio)
      throw MediaError(ErrorCode::kNoVideoStream,
                       "audio-only media (" + info.container + "): there is no video stream to hash");
    throw MediaError(ErrorCode::kUnsupportedFormat,
                     "not a recognised image or video format (container " + info.container +
                         " has no video stream)");
  }
  stream = fmt->streams[index];
  for (unsigned i = 0; i < fmt->nb_streams; ++i)
    if (static_cast<int>(i) != index) fmt->streams[i]->discard = AVDISCARD_ALL;

  const AVCodecParameters* par = stream->codecpar;
  info.codec = avcodec_get_name(par->codec_id);
  info.width = par->width;
  info.height = par->height;
  info.rotation_cw = rotation_from_display_matrix(stream);
  const AVRational rate = stream->avg_frame_rate.num > 0 ? stream->avg_frame_rate : stream->r_frame_rate;
  info.fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0.0;
  if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0)
    info.duration_s = static_cast<double>(stream->duration) * av_q2d(stream->time_base);
  else if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
    info.duration_s = static_cast<double>(fmt->duration) / AV_TIME_BASE;
  if (stream->start_time != AV_NOPTS_VALUE) start_pts = stream->start_time;

  check_size(par->width, par->height);
  if (stream->nb_frames > limits.max_frames)
    throw MediaError(ErrorCode::kTooLarge, "video has " + std::to_string(stream->nb_frames) +
                                               " frames, more than the limit of " +
                                               std::to_string(limits.max_frames) + " (--max-frames)");

  const AVCodec* decoder = avcodec_find_decoder(par->codec_id);
  if (!decoder)
    throw MediaError(ErrorCode::kUnsupportedFormat, "no decoder for video codec " + info.codec);
  codec.reset(avcodec_alloc_context3(decoder));
  if (!codec) throw MediaError(ErrorCode::kInternal, "out of memory");
  if (avcodec_parameters_to_context(codec.get(), par) < 0)
    throw MediaError(ErrorCode::kDecodeFailed, "invalid " + info.codec + " stream parameters");
  codec->pkt_timebase = stream->time_base;
  if (limits.nvdec_device >= 0) try_nvdec(decoder);
  codec->thread_count = limits.threads;
  codec->max_pixels = limits.max_pixels;  // FFmpeg refuses larger frames before allocating
  err = avcodec_open2(codec.get(), decoder, nullptr);
  if (err < 0)
    throw MediaError(ErrorCode::kDecodeFailed,
                     "cannot open the " + info.codec + " decoder (" + ffmpeg::error_string(err) + ")");
  if (!packet || !frame || !rgb) throw MediaError(ErrorCode::kInternal, "out of memory");
}

// NVDEC through FFmpeg's CUDA hwaccel, when the codec has it and a device
// context can be made; anything short of that leaves the CPU decoder.
void VideoDecoder::State::try_nvdec(const AVCodec* decoder) {
  bool supported = false;
  for (int i = 0;; ++i) {
    const AVCodecHWConfig* cfg = avcodec_get_hw_config(decoder, i);
    if (!cfg) break;
    supported |= (cfg->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) && cfg->device_type == AV_HWDEVICE_TYPE_CUDA;
  }
  if (!supported) return;
  AVBufferRef* device = nullptr;
  // Flag 1 is AV_CUDA_USE_PRIMARY_CONTEXT (libavutil/hwcontext_cuda.h, which
  // needs the CUDA headers): share the context the CUDA runtime uses, so
  // decoded surfaces are valid device pointers for our kernels.
  const std::string index = std::to_string(limits.nvdec_device);
  if (av_hwdevice_ctx_create(&device, AV_HWDEVICE_TYPE_CUDA, index.c_str(), nullptr, 1) < 0) return;
  codec->hw_device_ctx = device;  // the codec context owns it now
  codec->opaque = this;
  codec->get_format = &State::pick_format;
  codec->extra_hw_frames = limits.nvdec_surfaces;
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

bool VideoDecoder::State::receive(VideoFrame& out) {
  for (;;) {
    check_deadline();
    const int err = avcodec_receive_frame(codec.get(), frame.get());
    if (err == 0) {
      if (++decoded > limits.max_frames)
        throw MediaError(ErrorCode::kTooLarge, "video has more than " + std::to_string(limits.max_frames) +
                                                   " frames (--max-frames)");
      out.index = decoded - 1;
      // Decoders conceal damage (and still return the frame); count it.
      if ((frame->flags & AV_FRAME_FLAG_CORRUPT) || frame->decode_error_flags) ++concealed;
      to_plane(out);
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
    const int rd = av_read_frame(fmt.get(), packet.get());
    if (rd < 0) {
      check_deadline();
      if (rd != AVERROR_EOF) read_error = true;
      avcodec_send_packet(codec.get(), nullptr);  // drain what is buffered
      flushing = true;
      continue;
    }
    if (packet->stream_index == stream->index) {
      const int sent = avcodec_send_packet(codec.get(), packet.get());
      if (sent < 0 && sent != AVERROR(EAGAIN)) ++corrupt;
    }
    av_packet_unref(packet.get());
  }
}

void VideoDecoder::State::to_plane(VideoFrame& out) {
  AVFrame* f = frame.get();
  if (f->width <= 0 || f->height <= 0) throw MediaError(ErrorCode::kDecodeFailed, "decoded frame has no size");
  check_size(f->width, f->height);
  // Timestamp from the frame's PTS, relative to the stream start.
  int64_t pts = f->best_effort_timestamp;
  if (pts != AV_NOPTS_VALUE && start_pts == AV_NOPTS_VALUE) start_pts = pts;
  double ts;
  int64_t since_start = 0;
  if (pts != AV_NOPTS_VALUE && !__builtin_sub_overflow(pts, start_pts, &since_start)) {
    ts = static_cast<double>(since_start) * av_q2d(stream->time_base);
  } else {
    ts = last_ts < 0 ? 0.0 : last_ts + (info.fps > 0 ? 1.0 / info.fps : 0.0);
  }
  last_ts = ts;
  out.ts = ts;

  out.hold.reset();
  if (f->format == AV_PIX_FMT_CUDA && f->hw_frames_ctx) {
    // A surface in device memory: its first plane is luma (NV12, P010, P016,
    // YUV444P16). P010 keeps 10 bits in the top of 16, which maps exactly
    // like 16-bit codes.
    const auto* frames = reinterpret_cast<const AVHWFramesContext*>(f->hw_frames_ctx->data);
    const AVPixFmtDescriptor* sd = av_pix_fmt_desc_get(frames->sw_format);
    if (!sd || sd->comp[0].plane != 0 || sd->nb_components < 1)
      throw MediaError(ErrorCode::kDecodeFailed, "unexpected NVDEC surface format");
    const int depth = sd->comp[0].depth + sd->comp[0].shift;
    out.plane = LumaPlane{f->data[0], f->linesize[0], f->width, f->height,
                          depth == 8 ? SampleType::kU8 : SampleType::kU16, depth,
                          f->color_range == AVCOL_RANGE_JPEG, MemoryLocation::kDevice};
    AVFrame* clone = av_frame_clone(f);
    if (!clone) throw MediaError(ErrorCode::kInternal, "out of memory");
    out.hold = std::shared_ptr<void>(clone, [](void* p) {
      auto* x = static_cast<AVFrame*>(p);
      av_frame_free(&x);
    });
    return;
  }
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(f->format));
  if (has_direct_luma(d)) {
    const int depth = d->comp[0].depth;
    out.plane = LumaPlane{f->data[0], f->linesize[0], f->width, f->height,
                          depth == 8 ? SampleType::kU8 : SampleType::kU16, depth, is_full_range(f, d)};
    return;
  }
  // Anything else (RGB, palette, ...): convert to RGB24, then luma as PDQ
  // computes it from RGB.
  sws.reset(sws_getCachedContext(sws.release(), f->width, f->height, static_cast<AVPixelFormat>(f->format),
                                 f->width, f->height, AV_PIX_FMT_RGB24, SWS_POINT, nullptr, nullptr, nullptr));
  if (!sws) throw MediaError(ErrorCode::kDecodeFailed, "unsupported pixel format for luma conversion");
  if (rgb->width != f->width || rgb->height != f->height) {
    av_frame_unref(rgb.get());
    rgb->format = AV_PIX_FMT_RGB24;
    rgb->width = f->width;
    rgb->height = f->height;
    if (av_frame_get_buffer(rgb.get(), 0) < 0) throw MediaError(ErrorCode::kInternal, "out of memory");
  }
  sws_scale(sws.get(), f->data, f->linesize, 0, f->height, rgb->data, rgb->linesize);
  luma.resize(static_cast<size_t>(f->width) * static_cast<size_t>(f->height));
  for (int y = 0; y < f->height; ++y) {
    const uint8_t* row = rgb->data[0] + static_cast<std::ptrdiff_t>(y) * rgb->linesize[0];
    float* dst = luma.data() + static_cast<size_t>(y) * static_cast<size_t>(f->width);
    for (int x = 0; x < f->width; ++x) dst[x] = pdq::luma_from_rgb(row[3 * x], row[3 * x + 1], row[3 * x + 2]);
  }
  out.plane = LumaPlane{luma.data(), static_cast<std::ptrdiff_t>(f->width * sizeof(float)), f->width,
                        f->height, SampleType::kF32, 8, true};
}

VideoDecoder::VideoDecoder(const MediaSource& source, const VideoLimits& limits)
    : s_(std::make_unique<State>()) {
  s_->limits = limits;
  // At most a year, so the deadline cannot overflow the clock.
  const auto budget = std::chrono::duration<double>(std::clamp(limits.max_seconds, 0.0, 3.2e7));
  s_->deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(budget);
  s_->open(source);
}

VideoDecoder::~VideoDecoder() = default;

const VideoInfo& VideoDecoder::info() const { return s_->info; }

bool VideoDecoder::next(VideoFrame& frame) {
  if (s_->finished) return false;
  return s_->receive(frame);
}

int64_t VideoDecoder::corrupt_packets() const { return s_->corrupt; }
int64_t VideoDecoder::concealed_frames() const { return s_->concealed; }
int64_t VideoDecoder::indexed_frames() const { return s_->stream->nb_frames; }
bool VideoDecoder::read_error() const { return s_->read_error; }

}  // namespace frameprint
