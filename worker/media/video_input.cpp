#include "worker/media/video_input.h"

#include <algorithm>
#include <cmath>
#include <span>
#include <string_view>
#include <vector>

extern "C" {
#include <libavutil/dict.h>
#include <libavutil/display.h>
}

#include "worker/media/ffmpeg_compat.h"
#include "worker/media/ffmpeg_handles.h"
#include "worker/media/media_error.h"
#include "worker/media/media_source.h"
#include "worker/media/mp4_index.h"

namespace frameprint {

namespace {

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
  static constexpr std::string_view kAllowed[] = {"mov,mp4,m4a,3gp,3g2,mj2",
                                                  "matroska,webm",
                                                  "avi",
                                                  "flv",
                                                  "mpegts",
                                                  "mpeg",
                                                  "mpegvideo",
                                                  "asf",
                                                  "ogg",
                                                  "nut",
                                                  "mxf",
                                                  "rm",
                                                  "dv",
                                                  "gif",
                                                  "h264",
                                                  "hevc",
                                                  "m4v",
                                                  "vc1",
                                                  "av1",
                                                  "obu",
                                                  "ivf",
                                                  "mjpeg",
                                                  "yuv4mpegpipe",
                                                  "wav",
                                                  "mp3",
                                                  "aac",
                                                  "flac",
                                                  "aiff",
                                                  "amr",
                                                  "w64",
                                                  "caf",
                                                  "wv"};
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
  const int32_t* matrix = ffmpeg::display_matrix(st);
  if (!matrix) return 0;
  const double ccw = av_display_rotation_get(matrix);
  if (std::isnan(ccw)) return 0;
  // FFmpeg reports the counter-clockwise angle; viewers turn clockwise by
  // its negation. Only quarter turns are meaningful for pictures.
  const long cw = (std::lround(-ccw) % 360 + 360) % 360;
  const long quarter = std::lround(static_cast<double>(cw) / 90.0) * 90 % 360;
  return std::abs(cw - quarter) <= 1 || std::abs(cw - quarter) >= 359 ? static_cast<int>(quarter)
                                                                      : 0;
}

}  // namespace

struct VideoInput::State {
  VideoLimits limits;
  const Deadline* deadline = nullptr;
  SourceReader reader;
  ffmpeg::IoContextPtr io;
  ffmpeg::FormatContextPtr fmt;
  AVStream* stream = nullptr;
  VideoInfo info;
  bool read_error = false;

  static int interrupt(void* opaque) {
    return static_cast<State*>(opaque)->deadline->expired() ? 1 : 0;
  }
  void check_sizes() const {
    for (unsigned i = 0; i < fmt->nb_streams; ++i) {
      const AVCodecParameters* p = fmt->streams[i]->codecpar;
      if (p->codec_type == AVMEDIA_TYPE_VIDEO)
        check_picture_size(p->width, p->height, limits.max_pixels);
    }
  }
  void open_container(const MediaSource& source);
  void choose_stream();
};

void VideoInput::State::open_container(const MediaSource& source) {
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
    deadline->check();
    throw MediaError(ErrorCode::kUnsupportedFormat, "not a recognised image or video format");
  }
  const std::string probed = input_format->name;
  if (!allowed_container(probed)) {
    avformat_free_context(raw);
    throw MediaError(ErrorCode::kUnsupportedFormat,
                     "not a supported media container (" + probed + ")");
  }
  // MP4's sample tables are sized from what they claim: claims the file
  // cannot hold are refused before FFmpeg allocates for them.
  if (probed == "mov,mp4,m4a,3gp,3g2,mj2") {
    try {
      check_mp4_index(source);
    } catch (...) {
      avformat_free_context(raw);
      throw;
    }
  }
  err = avformat_open_input(&raw, nullptr, input_format, nullptr);  // frees raw on failure
  if (err < 0) {
    deadline->check();
    throw MediaError(ErrorCode::kDecodeFailed, "cannot read the " + probed + " container (" +
                                                   ffmpeg::error_string(err) +
                                                   "); the file may be truncated or corrupt");
  }
  fmt.reset(raw);
  info.container = fmt->iformat->name;
  // Sizes the container states are checked before any frame is decoded,
  // and stream probing decodes under the same pixel limit.
  check_sizes();
  StreamOptions probe_options(fmt->nb_streams, limits.max_pixels);
  err = avformat_find_stream_info(fmt.get(), probe_options.get());
  deadline->check();
  check_sizes();  // probing may have found sizes in the bitstream (and stopped at the limit)
  if (err < 0)
    throw MediaError(ErrorCode::kDecodeFailed, "cannot read the stream information of the " +
                                                   info.container + " data (" +
                                                   ffmpeg::error_string(err) + ")");
}

void VideoInput::State::choose_stream() {
  // The best video stream that is not cover art.
  int index = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (index >= 0 && (fmt->streams[index]->disposition & AV_DISPOSITION_ATTACHED_PIC)) index = -1;
  if (index < 0) {
    for (unsigned i = 0; i < fmt->nb_streams; ++i) {
      const AVStream* st = fmt->streams[i];
      if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
          !(st->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
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
      throw MediaError(ErrorCode::kNoVideoStream, "audio-only media (" + info.container +
                                                      "): there is no video stream to hash");
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
  const AVRational rate =
      stream->avg_frame_rate.num > 0 ? stream->avg_frame_rate : stream->r_frame_rate;
  info.fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0.0;
  if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0)
    info.duration_s = static_cast<double>(stream->duration) * av_q2d(stream->time_base);
  else if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
    info.duration_s = static_cast<double>(fmt->duration) / AV_TIME_BASE;

  check_picture_size(par->width, par->height, limits.max_pixels);
  // A frame count the index states is not refused here: --max-frames stops
  // decoding when reached, keeping the frames hashed so far (partial), and
  // indexes the file cannot hold were refused before they were read
  // (mp4_index.h).
}

VideoInput::VideoInput(const MediaSource& source, const VideoLimits& limits,
                       const Deadline& deadline)
    : s_(std::make_unique<State>()) {
  s_->limits = limits;
  s_->deadline = &deadline;
  s_->open_container(source);
  s_->choose_stream();
}

VideoInput::~VideoInput() = default;

const VideoInfo& VideoInput::info() const { return s_->info; }
const AVStream* VideoInput::stream() const { return s_->stream; }
bool VideoInput::read_error() const { return s_->read_error; }
int64_t VideoInput::indexed_frames() const { return s_->stream->nb_frames; }

bool VideoInput::read(AVPacket* packet) {
  for (;;) {
    const int rd = av_read_frame(s_->fmt.get(), packet);
    if (rd < 0) {
      s_->deadline->check();
      if (rd != AVERROR_EOF) s_->read_error = true;
      return false;
    }
    if (packet->stream_index == s_->stream->index) return true;
    av_packet_unref(packet);
  }
}

}  // namespace frameprint
