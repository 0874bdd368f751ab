// Test media synthesis with libavcodec/libavformat. The call sequence follows
// FFmpeg's doc/examples/mux.c and encode_video.c: allocate the output context,
// add a stream, open the encoder, copy its parameters to the stream, open the
// file, write the header, send frames / receive packets, flush, write the trailer.
#include "tests/support/media_writer.h"

#include "worker/media/ffmpeg_compat.h"
#include "worker/media/ffmpeg_handles.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <numbers>
#include <stdexcept>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/mathematics.h>
#include <libavutil/pixdesc.h>
#include <libavutil/rational.h>
}

namespace frameprint::testing {
namespace {

// ---------------------------------------------------------------------------
// RAII owners (decoding-side ones come from worker/ffmpeg_handles.h)

struct OutputContextDeleter {
  void operator()(AVFormatContext* c) const {
    if (!c) return;
    if (c->oformat && !(c->oformat->flags & AVFMT_NOFILE)) avio_closep(&c->pb);
    avformat_free_context(c);
  }
};
using OutputContextPtr = std::unique_ptr<AVFormatContext, OutputContextDeleter>;
using ffmpeg::CodecContextPtr;
using ffmpeg::FramePtr;
using ffmpeg::PacketPtr;

// An AVDictionary owned for the duration of a scope.
class Options {
 public:
  Options() = default;
  Options(const Options&) = delete;
  Options& operator=(const Options&) = delete;
  ~Options() { av_dict_free(&dict_); }
  void set(const char* key, const char* value) {
    if (av_dict_set(&dict_, key, value, 0) < 0)
      throw std::runtime_error(std::string("media_writer: av_dict_set failed for ") + key);
  }
  // "key=value;key=value" (a value may contain '=' and ':'), over what is set.
  void parse(const std::string& pairs, const std::filesystem::path& path);
  AVDictionary** get() { return &dict_; }

 private:
  AVDictionary* dict_ = nullptr;
};

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path, int err) {
  throw std::runtime_error("media_writer: " + what + " (" + path.string() +
                           "): " + ffmpeg::error_string(err));
}

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
  throw std::runtime_error("media_writer: " + what + " (" + path.string() + ")");
}

void Options::parse(const std::string& pairs, const std::filesystem::path& path) {
  if (pairs.empty()) return;
  const int err = av_dict_parse_string(&dict_, pairs.c_str(), "=", ";", 0);
  if (err < 0) fail("bad encoder_options '" + pairs + "'", path, err);
}

// ---------------------------------------------------------------------------
// Output file plumbing shared by the video and audio writers.

OutputContextPtr open_output(const std::filesystem::path& path, const char* container) {
  const AVOutputFormat* fmt = av_guess_format(container, nullptr, nullptr);
  if (!fmt) fail(std::string("unknown container '") + container + "'", path);
  AVFormatContext* raw = nullptr;
  const int err = avformat_alloc_output_context2(&raw, fmt, nullptr, path.string().c_str());
  if (err < 0 || !raw)
    fail("avformat_alloc_output_context2", path, err < 0 ? err : AVERROR(ENOMEM));
  return OutputContextPtr(raw);
}

void open_file_and_write_header(AVFormatContext* oc, const std::filesystem::path& path) {
  if (!(oc->oformat->flags & AVFMT_NOFILE)) {
    const int err = avio_open(&oc->pb, path.string().c_str(), AVIO_FLAG_WRITE);
    if (err < 0) fail("avio_open", path, err);
  }
  const int err = avformat_write_header(oc, nullptr);
  if (err < 0) fail("avformat_write_header", path, err);
}

// Sends one frame (nullptr: flush) and writes every packet the encoder returns.
// `durations` maps a frame's pts to its display duration (both in the codec
// time base); packets without a duration get theirs from it, since muxers
// such as mp4 otherwise give the last frame no time and an edit list that
// drops it.
void encode_and_write(AVFormatContext* oc, AVCodecContext* ctx, AVStream* st, const AVFrame* frame,
                      AVPacket* pkt, const std::filesystem::path& path,
                      const std::map<int64_t, int64_t>& durations = {},
                      const std::function<int64_t(int64_t)>& rewrite_pts = {},
                      int64_t* written = nullptr) {
  int err = avcodec_send_frame(ctx, frame);
  if (err < 0) fail(frame ? "avcodec_send_frame" : "avcodec_send_frame (flush)", path, err);
  for (;;) {
    err = avcodec_receive_packet(ctx, pkt);
    if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return;
    if (err < 0) fail("avcodec_receive_packet", path, err);
    if (pkt->duration <= 0 && pkt->pts != AV_NOPTS_VALUE) {
      const auto it = durations.find(pkt->pts);
      if (it != durations.end()) pkt->duration = it->second;
    }
    av_packet_rescale_ts(pkt, ctx->time_base, st->time_base);
    if (rewrite_pts && written) {
      const int64_t k = (*written)++;
      pkt->dts = av_rescale_q(k, AVRational{1, 1000}, st->time_base);
      pkt->pts = av_rescale_q(rewrite_pts(k), AVRational{1, 1000}, st->time_base);
      if (pkt->pts < pkt->dts) pkt->pts = pkt->dts;
    }
    pkt->stream_index = st->index;
    err = av_interleaved_write_frame(oc, pkt);  // takes the packet's reference
    if (err < 0) fail("av_interleaved_write_frame", path, err);
  }
}

void finish(AVFormatContext* oc, const std::filesystem::path& path) {
  const int err = av_write_trailer(oc);
  if (err < 0) fail("av_write_trailer", path, err);
  if (!(oc->oformat->flags & AVFMT_NOFILE)) {
    const int cerr = avio_closep(&oc->pb);
    if (cerr < 0) fail("avio_close", path, cerr);
  }
}

// ---------------------------------------------------------------------------
// Video helpers

// Low-latency, fast, quiet settings per encoder.
void encoder_options(const std::string& name, AVCodecContext* ctx, Options& opts, bool b_frames) {
  if (name == "libx264") {
    opts.set("preset", "ultrafast");
    if (!b_frames) opts.set("tune", "zerolatency");  // zerolatency turns B-frames off
    opts.set("crf", "18");
    opts.set("x264-params", "log=-1");
  } else if (name == "libx265") {
    opts.set("preset", "ultrafast");
    if (!b_frames) opts.set("tune", "zerolatency");
    opts.set("crf", "18");
    opts.set("x265-params", "log-level=none");
  } else if (name == "libvpx-vp9") {
    opts.set("deadline", "realtime");
    opts.set("cpu-used", "8");
    opts.set("lag-in-frames", "0");
    opts.set("crf", "20");
    ctx->bit_rate = 0;  // with crf: constant quality
  } else if (name == "libvpx") {
    opts.set("deadline", "realtime");
    opts.set("cpu-used", "8");
    opts.set("lag-in-frames", "0");
    opts.set("crf", "10");
    ctx->bit_rate = 4'000'000;  // VP8 has constrained quality only: crf under a bitrate cap
  } else if (name == "libaom-av1") {
    opts.set("usage", "realtime");
    opts.set("cpu-used", "8");
    opts.set("lag-in-frames", "0");
    opts.set("crf", "20");
    ctx->bit_rate = 0;
  } else if (name == "libsvtav1") {
    opts.set("preset", "12");
    opts.set("crf", "20");
  } else if (name == "mpeg4" || name == "mjpeg") {
    ctx->flags |= AV_CODEC_FLAG_QSCALE;
    ctx->global_quality = FF_QP2LAMBDA * 2;
    // mjpeg takes the non-"J" YUV formats only as full-range or unofficially.
    if (name == "mjpeg") ctx->strict_std_compliance = FF_COMPLIANCE_UNOFFICIAL;
  }
}

// Stores `value` as component `c` of pixel (x, y), leaving the other bits of
// the byte/word alone (several components may share one).
void put_sample(AVFrame* frame, const AVPixFmtDescriptor* desc, int c, int x, int y,
                uint32_t value) {
  const AVComponentDescriptor& comp = desc->comp[c];
  uint8_t* p = frame->data[comp.plane] + static_cast<ptrdiff_t>(y) * frame->linesize[comp.plane] +
               static_cast<ptrdiff_t>(x) * comp.step + comp.offset;
  const uint32_t mask = ((1u << comp.depth) - 1u) << comp.shift;
  const uint32_t bits = (value << comp.shift) & mask;
  if (comp.shift + comp.depth <= 8) {
    *p = static_cast<uint8_t>((*p & ~mask) | bits);
  } else if (desc->flags & AV_PIX_FMT_FLAG_BE) {
    const uint32_t word = (uint32_t{p[0]} << 8 | p[1]);
    const uint32_t out = (word & ~mask) | bits;
    p[0] = static_cast<uint8_t>(out >> 8);
    p[1] = static_cast<uint8_t>(out);
  } else {
    const uint32_t word = (uint32_t{p[1]} << 8 | p[0]);
    const uint32_t out = (word & ~mask) | bits;
    p[0] = static_cast<uint8_t>(out);
    p[1] = static_cast<uint8_t>(out >> 8);
  }
}

// Writes component `c` of every pixel of a w x h plane from value(x, y).
template <typename F>
void fill_component(AVFrame* frame, const AVPixFmtDescriptor* desc, int c, int w, int h,
                    F&& value) {
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) put_sample(frame, desc, c, x, y, value(x, y));
}

// Muxers that write the stream display matrix (so rotation survives).
bool can_store_rotation(const std::string& muxer) {
  for (const char* name : {"mp4", "mov", "3gp", "3g2", "ipod", "ismv", "psp", "f4v"})
    if (muxer == name) return true;
#if LIBAVFORMAT_VERSION_MAJOR >= 61
  // Matroska stores it as ProjectionPoseRoll in newer FFmpeg (not in 5.1).
  if (muxer == "matroska" || muxer == "webm") return true;
#endif
  return false;
}

bool is_full_range_format(AVPixelFormat fmt) {
  return fmt == AV_PIX_FMT_YUVJ420P || fmt == AV_PIX_FMT_YUVJ422P || fmt == AV_PIX_FMT_YUVJ444P ||
         fmt == AV_PIX_FMT_YUVJ440P || fmt == AV_PIX_FMT_YUVJ411P;
}

// Fills `frame` (already allocated in its pixel format) from 8-bit luma.
void fill_frame(AVFrame* frame, const std::vector<uint8_t>& luma, bool full_range,
                const std::filesystem::path& path) {
  const auto fmt = static_cast<AVPixelFormat>(frame->format);
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(fmt);
  const int w = frame->width, h = frame->height;
  auto l = [&](int x, int y) { return luma[static_cast<size_t>(y) * w + x]; };
  // put_sample keeps the bits outside a component, so start from zeros (this
  // also makes the padding, and so the encoder input, deterministic).
  for (AVBufferRef* buf : frame->buf)
    if (buf) std::fill_n(buf->data, buf->size, uint8_t{0});

  if (desc->flags & AV_PIX_FMT_FLAG_PAL) {
    // Indices are the grey level; the palette is 256 opaque greys (0xAARRGGBB).
    fill_component(frame, desc, 0, w, h, [&](int x, int y) { return uint32_t{l(x, y)}; });
    auto* pal = reinterpret_cast<uint32_t*>(frame->data[1]);
    for (uint32_t g = 0; g < 256; ++g) pal[g] = 0xFF000000u | (g << 16) | (g << 8) | g;
    return;
  }

  const bool gray = desc->nb_components <= 2 && !(desc->flags & AV_PIX_FMT_FLAG_RGB);
  const int luma_bits = desc->comp[0].depth;
  const double max_code = static_cast<double>((1 << luma_bits) - 1);
  const double unit = static_cast<double>(1 << (luma_bits - 8));

  std::vector<uint32_t> code_of(256);  // 8-bit luma -> stored code
  for (int v = 0; v < 256; ++v) {
    double code;
    if (gray && luma_bits == 8) code = v;  // gray gets the luma directly
    else if (gray || full_range) code = v * max_code / 255.0;
    else code = (16.0 + v * 219.0 / 255.0) * unit;
    code_of[static_cast<size_t>(v)] = static_cast<uint32_t>(std::lround(code));
  }
  fill_component(frame, desc, 0, w, h, [&](int x, int y) { return code_of[l(x, y)]; });

  const bool alpha = (desc->flags & AV_PIX_FMT_FLAG_ALPHA) != 0;
  const int chroma_count = desc->nb_components - 1 - (alpha ? 1 : 0);
  if (chroma_count != 0 && chroma_count != 2) fail("unsupported pixel format layout", path);
  const int cw = AV_CEIL_RSHIFT(w, desc->log2_chroma_w);
  const int ch = AV_CEIL_RSHIFT(h, desc->log2_chroma_h);
  for (int c = 1; c <= chroma_count; ++c) {
    const uint32_t neutral = 128u << (desc->comp[c].depth - 8);
    fill_component(frame, desc, c, cw, ch, [&](int, int) { return neutral; });
  }
  if (alpha) {
    const int c = desc->nb_components - 1;
    const uint32_t opaque = (1u << desc->comp[c].depth) - 1u;
    fill_component(frame, desc, c, w, h, [&](int, int) { return opaque; });
  }
}

void check_pixel_format(AVPixelFormat fmt, const std::filesystem::path& path) {
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(fmt);
  constexpr uint64_t unsupported = AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_HWACCEL |
                                   AV_PIX_FMT_FLAG_BAYER | AV_PIX_FMT_FLAG_FLOAT |
                                   AV_PIX_FMT_FLAG_BITSTREAM;
  bool ok = desc && !(desc->flags & unsupported) && desc->comp[0].depth >= 8;
  for (int c = 0; ok && c < desc->nb_components; ++c)  // each sample within one 16-bit word
    ok = desc->comp[c].depth >= 8 && desc->comp[c].shift + desc->comp[c].depth <= 16;
  if (!ok) fail(std::string("unsupported pixel format ") + (desc ? desc->name : "?"), path);
}

}  // namespace

// ---------------------------------------------------------------------------

std::vector<uint8_t> pattern_luma(int width, int height, int frame_index) {
  if (width <= 0 || height <= 0) throw std::runtime_error("pattern_luma: bad size");
  std::vector<uint8_t> out(static_cast<size_t>(width) * static_cast<size_t>(height));
  constexpr double two_pi = 2.0 * std::numbers::pi;
  const double t = frame_index;
  // Sinusoids with a few periods across the picture whose phases drift with
  // the frame index, plus a bright disc and a dark square that move around.
  const double fx = 3.0 / width, fy = 2.5 / height;
  const double fd = 2.0 / (width + height);
  const double cx = width * (0.5 + 0.3 * std::sin(0.9 * t));
  const double cy = height * (0.5 + 0.3 * std::cos(0.7 * t));
  const double r = 0.18 * std::min(width, height);
  const double sx = width * (0.5 + 0.35 * std::cos(1.3 * t + 1.0));
  const double sy = height * (0.5 + 0.35 * std::sin(1.1 * t + 2.0));
  const double half = 0.12 * std::min(width, height);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      double v = 128.0 + 45.0 * std::sin(two_pi * (fx * x + 0.23 * t)) +
                 40.0 * std::sin(two_pi * (fy * y - 0.17 * t) + 0.5) +
                 25.0 * std::sin(two_pi * (fd * (x - y) + 0.11 * t * t / 4.0));
      const double dx = x - cx, dy = y - cy;
      if (dx * dx + dy * dy < r * r) v = 0.5 * v + 120.0;
      if (std::abs(x - sx) < half && std::abs(y - sy) < half) v = 0.4 * v;
      out[static_cast<size_t>(y) * width + x] =
          static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
    }
  }
  return out;
}

bool have_encoder(const std::string& name) {
  return avcodec_find_encoder_by_name(name.c_str()) != nullptr;
}

void write_video(const std::filesystem::path& path, const VideoSpec& spec) {
  if (spec.pts_seconds.empty()) fail("no frames (pts_seconds is empty)", path);
  if (spec.width <= 0 || spec.height <= 0) fail("bad frame size", path);
  if (spec.time_base_den <= 0) fail("bad time_base_den", path);
  if (spec.rotation_cw % 90 != 0) fail("rotation_cw must be a multiple of 90", path);

  const AVPixelFormat pix_fmt = av_get_pix_fmt(spec.pix_fmt.c_str());
  if (pix_fmt == AV_PIX_FMT_NONE) fail("unknown pixel format '" + spec.pix_fmt + "'", path);
  check_pixel_format(pix_fmt, path);
  const bool full_range = spec.full_range || is_full_range_format(pix_fmt);

  // Timestamps in 1/time_base_den, strictly increasing.
  const AVRational time_base{1, spec.time_base_den};
  std::vector<int64_t> pts;
  pts.reserve(spec.pts_seconds.size());
  for (double s : spec.pts_seconds) {
    pts.push_back(std::llround(s * spec.time_base_den));
    if (pts.size() > 1 && pts.back() <= pts[pts.size() - 2])
      fail("pts_seconds not strictly increasing at 1/" + std::to_string(spec.time_base_den), path);
  }
  const size_t n = pts.size();
  const double mean_interval =
      n > 1 ? (spec.pts_seconds.back() - spec.pts_seconds.front()) / static_cast<double>(n - 1)
            : 0.04;
  const AVRational frame_rate = av_d2q(1.0 / mean_interval, 1001000);
  if (spec.container == "avi") {
    // AVI has no timestamps: frame k is shown at k / frame rate.
    const double step = static_cast<double>(spec.time_base_den) * mean_interval;
    for (size_t i = 0; i < n; ++i)
      if (std::abs(static_cast<double>(pts[i]) - static_cast<double>(i) * step) > 0.5 + 1e-9)
        fail("avi needs evenly spaced pts_seconds starting at 0", path);
  }
  std::map<int64_t, int64_t> durations;  // pts -> duration, in 1/time_base_den
  for (size_t i = 0; i < n; ++i)
    durations[pts[i]] =
        i + 1 < n ? pts[i + 1] - pts[i]
                  : std::max<int64_t>(1, std::llround(mean_interval * spec.time_base_den));

  const AVCodec* codec = avcodec_find_encoder_by_name(spec.encoder.c_str());
  if (!codec) fail("encoder '" + spec.encoder + "' not available", path);

  OutputContextPtr oc = open_output(path, spec.container.c_str());
  AVStream* st = avformat_new_stream(oc.get(), nullptr);
  if (!st) fail("avformat_new_stream", path);

  CodecContextPtr ctx(avcodec_alloc_context3(codec));
  if (!ctx) fail("avcodec_alloc_context3", path);
  ctx->width = spec.width;
  ctx->height = spec.height;
  ctx->pix_fmt = pix_fmt;
  ctx->time_base = time_base;
  ctx->framerate = frame_rate;
  ctx->gop_size = spec.gop;
  ctx->max_b_frames = spec.b_frames;
  ctx->thread_count = 1;
  ctx->color_range = full_range ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
  if (oc->oformat->flags & AVFMT_GLOBALHEADER) ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

  Options opts;
  encoder_options(spec.encoder, ctx.get(), opts, spec.b_frames > 0);
  opts.parse(spec.encoder_options, path);
  int err = avcodec_open2(ctx.get(), codec, opts.get());
  if (err < 0) fail("avcodec_open2 for " + spec.encoder + " / " + spec.pix_fmt, path, err);

  err = avcodec_parameters_from_context(st->codecpar, ctx.get());
  if (err < 0) fail("avcodec_parameters_from_context", path, err);
  // AVI stores one frame per tick of the stream time base (gaps are padded
  // with empty chunks), so give it a constant-frame-rate time base.
  st->time_base = spec.container == "avi" ? av_inv_q(frame_rate) : time_base;

  if (spec.rotation_cw % 360 != 0) {
    if (!can_store_rotation(oc->oformat->name))
      fail(std::string("the ") + oc->oformat->name +
               " muxer of this FFmpeg drops the display matrix (rotation); use mp4 or mov",
           path);
    int32_t* matrix = ffmpeg::add_display_matrix(st);
    if (!matrix) fail("cannot add display matrix side data", path);
    // av_display_rotation_set(m, a) describes a clockwise turn by `a`:
    // av_display_rotation_get(m) then returns -a (its counter-clockwise angle),
    // and readers (the ffmpeg CLI's autorotate, our worker) turn clockwise by
    // -av_display_rotation_get(). The legacy mov "rotate"=90 tag gives the same
    // matrix as av_display_rotation_set(m, 90).
    av_display_rotation_set(matrix, static_cast<double>(spec.rotation_cw));
  }

  open_file_and_write_header(oc.get(), path);

  FramePtr frame(av_frame_alloc());
  PacketPtr pkt(av_packet_alloc());
  if (!frame || !pkt) fail("out of memory allocating frame/packet", path);
  frame->format = pix_fmt;
  frame->width = spec.width;
  frame->height = spec.height;
  frame->color_range = ctx->color_range;
  err = av_frame_get_buffer(frame.get(), 0);
  if (err < 0) fail("av_frame_get_buffer", path, err);

  const size_t plane_size = static_cast<size_t>(spec.width) * static_cast<size_t>(spec.height);
  int64_t written = 0;  // packets, for rewrite_pts
  for (size_t i = 0; i < n; ++i) {
    const int index = static_cast<int>(i);
    std::vector<uint8_t> luma =
        spec.luma ? spec.luma(index) : pattern_luma(spec.width, spec.height, index);
    if (luma.size() != plane_size)
      fail("luma for frame " + std::to_string(i) + " has " + std::to_string(luma.size()) +
               " bytes, expected width*height = " + std::to_string(plane_size),
           path);
    // The encoder may still hold a reference to the previous frame's buffers.
    err = av_frame_make_writable(frame.get());
    if (err < 0) fail("av_frame_make_writable", path, err);
    fill_frame(frame.get(), luma, full_range, path);
    frame->pts = pts[i];
    encode_and_write(oc.get(), ctx.get(), st, frame.get(), pkt.get(), path, durations,
                     spec.rewrite_pts, &written);
  }
  encode_and_write(oc.get(), ctx.get(), st, nullptr, pkt.get(), path, durations, spec.rewrite_pts,
                   &written);
  finish(oc.get(), path);
}

void write_audio_only(const std::filesystem::path& path, double seconds) {
  if (!(seconds > 0)) fail("seconds must be positive", path);
  constexpr int kSampleRate = 8000;
  constexpr int kFrameSamples = 1024;
  constexpr double kToneHz = 440.0;

  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_PCM_S16LE);
  if (!codec) fail("pcm_s16le encoder not available", path);

  OutputContextPtr oc = open_output(path, "wav");
  AVStream* st = avformat_new_stream(oc.get(), nullptr);
  if (!st) fail("avformat_new_stream", path);

  CodecContextPtr ctx(avcodec_alloc_context3(codec));
  if (!ctx) fail("avcodec_alloc_context3", path);
  ctx->sample_fmt = AV_SAMPLE_FMT_S16;
  ctx->sample_rate = kSampleRate;
  ctx->time_base = AVRational{1, kSampleRate};
  const AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
  int err = av_channel_layout_copy(&ctx->ch_layout, &mono);
  if (err < 0) fail("av_channel_layout_copy", path, err);
  if (oc->oformat->flags & AVFMT_GLOBALHEADER) ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

  err = avcodec_open2(ctx.get(), codec, nullptr);
  if (err < 0) fail("avcodec_open2 for pcm_s16le", path, err);
  err = avcodec_parameters_from_context(st->codecpar, ctx.get());
  if (err < 0) fail("avcodec_parameters_from_context", path, err);
  st->time_base = ctx->time_base;

  open_file_and_write_header(oc.get(), path);

  FramePtr frame(av_frame_alloc());
  PacketPtr pkt(av_packet_alloc());
  if (!frame || !pkt) fail("out of memory allocating frame/packet", path);
  const int64_t total = std::llround(seconds * kSampleRate);
  int64_t done = 0;
  while (done < total) {
    const auto count = static_cast<int>(std::min<int64_t>(kFrameSamples, total - done));
    av_frame_unref(frame.get());
    frame->format = AV_SAMPLE_FMT_S16;
    frame->sample_rate = kSampleRate;
    frame->nb_samples = count;
    err = av_channel_layout_copy(&frame->ch_layout, &mono);
    if (err < 0) fail("av_channel_layout_copy", path, err);
    err = av_frame_get_buffer(frame.get(), 0);
    if (err < 0) fail("av_frame_get_buffer", path, err);
    auto* samples = reinterpret_cast<int16_t*>(frame->data[0]);
    for (int i = 0; i < count; ++i) {
      const double t = static_cast<double>(done + i) / kSampleRate;
      samples[i] = static_cast<int16_t>(
          std::lround(12000.0 * std::sin(2.0 * std::numbers::pi * kToneHz * t)));
    }
    frame->pts = done;
    encode_and_write(oc.get(), ctx.get(), st, frame.get(), pkt.get(), path);
    done += count;
  }
  encode_and_write(oc.get(), ctx.get(), st, nullptr, pkt.get(), path);
  finish(oc.get(), path);
}

}  // namespace frameprint::testing
