// Self-test of the media writer: files it writes decode back (with libavformat
// and libavcodec) to the requested frame count, timestamps, rotation and, for
// lossless formats, pixels.
#include "tests/support/media_writer.h"
#include "worker/media/ffmpeg_compat.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
}

#include "kernels/jarosz.h"
#include "worker/media/ffmpeg_handles.h"

namespace frameprint::testing {
namespace {

struct Decoded {
  int video_streams = 0;
  int audio_streams = 0;
  std::vector<double> pts_seconds;                // best_effort_timestamp * time_base
  std::vector<std::vector<uint8_t>> luma;         // Y plane (8-bit formats only), width*height
  std::vector<std::vector<uint16_t>> luma10;      // Y plane of yuv420p10le frames
  int chroma10_min = 1 << 16, chroma10_max = -1;  // over the U and V planes of those
  std::string pix_fmt;                            // of the decoded frames
  int width = 0, height = 0;
  double rotation_cw = 0;  // from the stream's display matrix
  bool has_display_matrix = false;
};

// Opens the file, counts its streams and decodes the best video stream (if any).
Decoded decode_file(const std::filesystem::path& path) {
  AVFormatContext* raw = nullptr;
  if (avformat_open_input(&raw, path.string().c_str(), nullptr, nullptr) < 0)
    throw std::runtime_error("cannot open " + path.string());
  ffmpeg::FormatContextPtr fc(raw);
  if (avformat_find_stream_info(fc.get(), nullptr) < 0)
    throw std::runtime_error("no stream info in " + path.string());

  Decoded out;
  for (unsigned i = 0; i < fc->nb_streams; ++i) {
    const AVMediaType type = fc->streams[i]->codecpar->codec_type;
    out.video_streams += type == AVMEDIA_TYPE_VIDEO;
    out.audio_streams += type == AVMEDIA_TYPE_AUDIO;
  }
  const int index = av_find_best_stream(fc.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (index < 0) return out;
  const AVStream* st = fc->streams[index];
  if (const int32_t* m = ffmpeg::display_matrix(st)) {
    out.has_display_matrix = true;
    out.rotation_cw = std::fmod(-av_display_rotation_get(m) + 720.0, 360.0);
  }

  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (!codec) throw std::runtime_error("no decoder for " + path.string());
  ffmpeg::CodecContextPtr ctx(avcodec_alloc_context3(codec));
  if (!ctx || avcodec_parameters_to_context(ctx.get(), st->codecpar) < 0)
    throw std::runtime_error("decoder setup failed");
  ctx->pkt_timebase = st->time_base;
  if (avcodec_open2(ctx.get(), codec, nullptr) < 0) throw std::runtime_error("avcodec_open2");

  ffmpeg::PacketPtr pkt(av_packet_alloc());
  ffmpeg::FramePtr frame(av_frame_alloc());
  auto drain = [&] {
    for (;;) {
      const int err = avcodec_receive_frame(ctx.get(), frame.get());
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return;
      if (err < 0) throw std::runtime_error("avcodec_receive_frame failed");
      out.pts_seconds.push_back(static_cast<double>(frame->best_effort_timestamp) *
                                av_q2d(st->time_base));
      out.width = frame->width;
      out.height = frame->height;
      const char* fmt_name = av_get_pix_fmt_name(static_cast<AVPixelFormat>(frame->format));
      out.pix_fmt = fmt_name ? fmt_name : "?";
      if (frame->format == AV_PIX_FMT_YUV420P10LE) {
        std::vector<uint16_t> y(static_cast<size_t>(frame->width) * frame->height);
        for (int r = 0; r < frame->height; ++r)
          std::memcpy(y.data() + static_cast<ptrdiff_t>(r) * frame->width,
                      frame->data[0] + static_cast<ptrdiff_t>(r) * frame->linesize[0],
                      static_cast<size_t>(frame->width) * sizeof(uint16_t));
        out.luma10.push_back(std::move(y));
        for (int plane = 1; plane <= 2; ++plane)
          for (int r = 0; r < (frame->height + 1) / 2; ++r)
            for (int x = 0; x < (frame->width + 1) / 2; ++x) {
              uint16_t v;
              std::memcpy(&v,
                          frame->data[plane] + static_cast<ptrdiff_t>(r) * frame->linesize[plane] +
                              static_cast<ptrdiff_t>(x) * 2,
                          sizeof v);
              out.chroma10_min = std::min<int>(out.chroma10_min, v);
              out.chroma10_max = std::max<int>(out.chroma10_max, v);
            }
      }
      if (frame->format == AV_PIX_FMT_GRAY8 || frame->format == AV_PIX_FMT_YUV420P ||
          frame->format == AV_PIX_FMT_YUVJ420P) {
        std::vector<uint8_t> y(static_cast<size_t>(frame->width) * frame->height);
        for (int r = 0; r < frame->height; ++r)
          std::copy_n(frame->data[0] + static_cast<ptrdiff_t>(r) * frame->linesize[0], frame->width,
                      y.begin() + static_cast<ptrdiff_t>(r) * frame->width);
        out.luma.push_back(std::move(y));
      }
      av_frame_unref(frame.get());
    }
  };
  while (av_read_frame(fc.get(), pkt.get()) >= 0) {
    if (pkt->stream_index == index) {
      if (avcodec_send_packet(ctx.get(), pkt.get()) < 0) throw std::runtime_error("send_packet");
      drain();
    }
    av_packet_unref(pkt.get());
  }
  avcodec_send_packet(ctx.get(), nullptr);
  drain();
  return out;
}

class MediaWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    for (char& c : name)
      if (c == '/') c = '_';
    // Unique per process too: another build tree may run the same test at once.
    dir_ = std::filesystem::temp_directory_path() /
           ("frameprint_media_writer_" + name + "_" + std::to_string(std::random_device{}()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

void expect_pts(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 0.001) << "frame " << i;
}

const std::vector<double> kEvenPts = {0.0, 0.04, 0.08, 0.12, 0.16};

// ---------------------------------------------------------------------------

TEST(PatternLuma, DeterministicStructuredAndMoving) {
  const auto a = pattern_luma(96, 64, 0);
  ASSERT_EQ(a.size(), 96u * 64u);
  EXPECT_EQ(a, pattern_luma(96, 64, 0));
  for (int f = 0; f < 4; ++f) {
    auto img = pattern_luma(160, 120, f);
    std::vector<float> px(img.begin(), img.end()), scratch(px.size());
    const auto r = pdq::hash_float_luma_reference(px, scratch, 120, 160, false);
    EXPECT_GT(r.quality, 50) << "frame " << f;
    if (f > 0) {
      const auto prev = pattern_luma(160, 120, f - 1);
      long diff = 0;
      for (size_t i = 0; i < img.size(); ++i) diff += std::abs(int{img[i]} - int{prev[i]});
      EXPECT_GT(static_cast<double>(diff) / static_cast<double>(img.size()), 10.0)
          << "frame " << f << " barely differs from the previous one";
    }
  }
}

struct Case {
  const char* name;
  std::vector<const char*> encoders;  // first available is used
  const char* container;
  const char* pix_fmt;
  const char* ext;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class RoundTrip : public MediaWriterTest, public ::testing::WithParamInterface<Case> {};

TEST_P(RoundTrip, FrameCountAndTimestamps) {
  const Case& c = GetParam();
  std::string encoder;
  for (const char* e : c.encoders)
    if (have_encoder(e)) {
      encoder = e;
      break;
    }
  if (encoder.empty()) GTEST_SKIP() << "no encoder available for " << c.name;

  VideoSpec spec;
  spec.container = c.container;
  spec.encoder = encoder;
  spec.pix_fmt = c.pix_fmt;
  spec.width = 96;
  spec.height = 64;
  spec.pts_seconds = kEvenPts;
  const auto path = dir_ / (std::string("clip.") + c.ext);
  ASSERT_NO_THROW(write_video(path, spec)) << encoder;

  const Decoded d = decode_file(path);
  EXPECT_EQ(d.video_streams, 1);
  EXPECT_EQ(d.audio_streams, 0);
  EXPECT_EQ(d.width, 96);
  EXPECT_EQ(d.height, 64);
  if (spec.pix_fmt != "pal8") {  // gif decodes to RGB
    EXPECT_EQ(d.pix_fmt, spec.pix_fmt);
  }
  expect_pts(d.pts_seconds, spec.pts_seconds);
}

INSTANTIATE_TEST_SUITE_P(
    Encoders, RoundTrip,
    ::testing::Values(Case{"x264_mp4", {"libx264"}, "mp4", "yuv420p", "mp4"},
                      Case{"x265_10bit_mkv", {"libx265"}, "matroska", "yuv420p10le", "mkv"},
                      Case{"vp9_webm", {"libvpx-vp9"}, "webm", "yuv420p", "webm"},
                      Case{"av1_mkv", {"libaom-av1", "libsvtav1"}, "matroska", "yuv420p", "mkv"},
                      Case{"mpeg4_avi", {"mpeg4"}, "avi", "yuv420p", "avi"},
                      Case{"ffv1_mkv", {"ffv1"}, "matroska", "yuv420p", "mkv"},
                      Case{"mjpeg_avi", {"mjpeg"}, "avi", "yuvj420p", "avi"},
                      Case{"gif", {"gif"}, "gif", "pal8", "gif"}),
    [](const ::testing::TestParamInfo<Case>& p) { return std::string(p.param.name); });

TEST_F(MediaWriterTest, Ffv1GrayIsLossless) {
  if (!have_encoder("ffv1")) GTEST_SKIP() << "ffv1 not available";
  VideoSpec spec;
  spec.container = "matroska";
  spec.encoder = "ffv1";
  spec.pix_fmt = "gray";
  spec.width = 96;
  spec.height = 64;
  spec.pts_seconds = kEvenPts;
  const auto path = dir_ / "gray.mkv";
  write_video(path, spec);

  const Decoded d = decode_file(path);
  expect_pts(d.pts_seconds, spec.pts_seconds);
  ASSERT_EQ(d.luma.size(), spec.pts_seconds.size());
  for (int i = 0; i < static_cast<int>(d.luma.size()); ++i)
    EXPECT_EQ(d.luma[static_cast<size_t>(i)], pattern_luma(96, 64, i)) << "frame " << i;
}

TEST_F(MediaWriterTest, CustomLumaAndLimitedRange) {
  if (!have_encoder("ffv1")) GTEST_SKIP() << "ffv1 not available";
  VideoSpec spec;
  spec.container = "matroska";
  spec.encoder = "ffv1";
  spec.pix_fmt = "yuv420p";
  spec.width = 32;
  spec.height = 16;
  spec.pts_seconds = {0.0, 1.0};
  spec.luma = [](int i) { return std::vector<uint8_t>(32 * 16, i == 0 ? 0 : 255); };
  const auto path = dir_ / "levels.mkv";
  write_video(path, spec);
  const Decoded d = decode_file(path);
  ASSERT_EQ(d.luma.size(), 2u);
  EXPECT_EQ(d.luma[0], std::vector<uint8_t>(32 * 16, 16));
  EXPECT_EQ(d.luma[1], std::vector<uint8_t>(32 * 16, 235));

  spec.full_range = true;
  write_video(path, spec);
  const Decoded f = decode_file(path);
  ASSERT_EQ(f.luma.size(), 2u);
  EXPECT_EQ(f.luma[0], std::vector<uint8_t>(32 * 16, 0));
  EXPECT_EQ(f.luma[1], std::vector<uint8_t>(32 * 16, 255));
}

TEST_F(MediaWriterTest, TenBitLimitedRangeCodes) {
  if (!have_encoder("ffv1")) GTEST_SKIP() << "ffv1 not available";
  // Dirty the heap first: the writer must not keep stale bits next to 10-bit samples.
  for (int i = 0; i < 50; ++i) {
    std::vector<uint8_t> junk(1 << 16, 0xFF);
    EXPECT_EQ(junk[static_cast<size_t>(i)], 0xFF);
  }
  VideoSpec spec;
  spec.container = "matroska";
  spec.encoder = "ffv1";
  spec.pix_fmt = "yuv420p10le";
  spec.width = 96;
  spec.height = 64;
  spec.pts_seconds = {0.0, 0.04, 0.08};
  spec.luma = [](int i) {
    return i < 2 ? std::vector<uint8_t>(96 * 64, i == 0 ? 0 : 255) : pattern_luma(96, 64, i);
  };
  const auto path = dir_ / "ten.mkv";
  write_video(path, spec);
  const Decoded d = decode_file(path);
  ASSERT_EQ(d.luma10.size(), 3u);
  EXPECT_EQ(d.luma10[0], std::vector<uint16_t>(96 * 64, 64));
  EXPECT_EQ(d.luma10[1], std::vector<uint16_t>(96 * 64, 940));
  const auto want = pattern_luma(96, 64, 2);
  for (size_t i = 0; i < want.size(); ++i) {
    const double code = (16.0 + want[i] * 219.0 / 255.0) * 4.0;
    ASSERT_NEAR(d.luma10[2][i], code, 0.5) << "pixel " << i;
  }
  EXPECT_EQ(d.chroma10_min, 512);
  EXPECT_EQ(d.chroma10_max, 512);
}

TEST_F(MediaWriterTest, VariableFrameRateSurvivesMp4AndMatroska) {
  if (!have_encoder("libx264")) GTEST_SKIP() << "libx264 not available";
  for (const char* container : {"mp4", "matroska"}) {
    SCOPED_TRACE(container);
    VideoSpec spec;
    spec.container = container;
    spec.width = 96;
    spec.height = 64;
    spec.pts_seconds = {0.0, 0.1, 0.15, 0.5, 1.2};
    const auto path = dir_ / (std::string("vfr.") + container);
    write_video(path, spec);
    const Decoded d = decode_file(path);
    expect_pts(d.pts_seconds, spec.pts_seconds);
  }
}

TEST_F(MediaWriterTest, RotationIsStoredAsDisplayMatrix) {
  if (!have_encoder("libx264")) GTEST_SKIP() << "libx264 not available";
  for (const char* container : {"mp4", "mov"}) {
    for (int rotation : {0, 90, 180, 270}) {
      SCOPED_TRACE(std::string(container) + " rotation " + std::to_string(rotation));
      VideoSpec spec;
      spec.container = container;
      spec.width = 96;
      spec.height = 64;
      spec.pts_seconds = {0.0, 0.04};
      spec.rotation_cw = rotation;
      const auto path = dir_ / (std::string("rot.") + container);
      write_video(path, spec);
      const Decoded d = decode_file(path);
      EXPECT_EQ(d.pts_seconds.size(), 2u);
      EXPECT_EQ(d.width, 96);  // stored picture is not rotated
      if (rotation == 0) {
        if (d.has_display_matrix) {
          EXPECT_NEAR(d.rotation_cw, 0.0, 0.01);
        }
      } else {
        ASSERT_TRUE(d.has_display_matrix);
        EXPECT_NEAR(d.rotation_cw, rotation, 0.01);
      }
    }
  }
}

TEST_F(MediaWriterTest, AudioOnlyWav) {
  const auto path = dir_ / "tone.wav";
  write_audio_only(path, 0.5);
  const Decoded d = decode_file(path);
  EXPECT_EQ(d.audio_streams, 1);
  EXPECT_EQ(d.video_streams, 0);
  EXPECT_TRUE(d.pts_seconds.empty());
}

TEST_F(MediaWriterTest, ErrorsThrow) {
  VideoSpec spec;
  spec.pts_seconds = {0.0, 0.04};
  spec.encoder = "no-such-encoder";
  EXPECT_THROW(write_video(dir_ / "a.mp4", spec), std::runtime_error);
  spec.encoder = "mpeg4";
  spec.container = "no-such-container";
  EXPECT_THROW(write_video(dir_ / "a.xyz", spec), std::runtime_error);
  spec.container = "avi";
  spec.pts_seconds = {0.0, 0.04, 0.04};  // not strictly increasing
  EXPECT_THROW(write_video(dir_ / "a.avi", spec), std::runtime_error);
  spec.pts_seconds = {1.0, 1.04};  // avi cannot start late
  EXPECT_THROW(write_video(dir_ / "a.avi", spec), std::runtime_error);
  spec.pts_seconds = {0.0, 0.04, 0.1};  // nor have a variable frame rate
  EXPECT_THROW(write_video(dir_ / "a.avi", spec), std::runtime_error);
  spec.pts_seconds = {0.0, 0.04, 0.08};
  spec.pix_fmt = "rgb24";  // only YUV, grey and pal8 are synthesised
  EXPECT_THROW(write_video(dir_ / "a.avi", spec), std::runtime_error);
  spec.pix_fmt = "yuv420p";
  spec.pts_seconds = {0.0};
  spec.luma = [](int) { return std::vector<uint8_t>(3); };
  EXPECT_THROW(write_video(dir_ / "b.avi", spec), std::runtime_error);
  spec.container = "avi";  // cannot hold a display matrix
  spec.luma = nullptr;
  spec.rotation_cw = 90;
  EXPECT_THROW(write_video(dir_ / "c.avi", spec), std::runtime_error);
  EXPECT_FALSE(have_encoder("no-such-encoder"));
}

}  // namespace
}  // namespace frameprint::testing
