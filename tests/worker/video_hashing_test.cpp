// Videos through the whole pipeline: the shared vPDQ references, frames
// synthesised in every supported codec and container, timestamps of
// variable-frame-rate clips, rotation, and bad input.
#include <gtest/gtest.h>

#include <functional>
#include <opencv2/core.hpp>
#include <random>

#include "kernels/pdq_backend.h"
#include "tests/support/media_writer.h"
#include "tests/support/temp_dir.h"
#include "tests/support/testdata.h"
#include "worker/media/frame_sampler.h"
#include "worker/media/media_hasher.h"

namespace frameprint {
namespace {

using testing::VideoSpec;

class VideoHashing : public ::testing::Test {
 protected:
  MediaResult hash(const std::filesystem::path& p, HashOptions o = every_frame()) {
    return hash_file(p, p.filename().string(), o, *backend_);
  }
  static HashOptions every_frame() {
    HashOptions o;
    o.seconds_per_hash = 0;
    return o;
  }
  // The hash of frame i's luma as the test wrote it, displayed with `o`.
  pdq::PdqResult truth(const VideoSpec& s, int i, Orientation o = {}) {
    const auto luma = s.luma ? s.luma(i) : testing::pattern_luma(s.width, s.height, i);
    LumaPlane p{luma.data(), s.width, s.width, s.height, SampleType::kU8, 8, true};
    return backend_->hash_one({p, o, pdq::Downsampler::kSeparable, false});
  }
  static VideoSpec spec(std::string container, std::string encoder, std::string pix_fmt,
                        int frames = 6) {
    VideoSpec s;
    s.container = std::move(container);
    s.encoder = std::move(encoder);
    s.pix_fmt = std::move(pix_fmt);
    for (int i = 0; i < frames; ++i) s.pts_seconds.push_back(i * 0.1);
    return s;
  }

  testing::TempDir dir_;
  std::unique_ptr<pdq::PdqBackend> backend_ = pdq::make_cpu_backend();
};

TEST_F(VideoHashing, SharedVideosMatchBothReferenceHashSets) {
  FRAMEPRINT_REQUIRE_TESTDATA();
  const auto root = testing::testdata_dir() / "vpdq";
  int videos = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root / "videos")) {
    const std::string stem = entry.path().stem().string();
    SCOPED_TRACE(stem);
    const MediaResult r = hash(entry.path());
    ASSERT_TRUE(r.ok()) << r.error->what();
    EXPECT_EQ(r.codec, "h264");
    for (const char* set : {"reference", "threatexchange"}) {
      SCOPED_TRACE(set);
      const auto ref = testing::read_vpdq_file(root / set / (stem + ".txt"));
      ASSERT_EQ(r.frames.size(), ref.size());
      testing::Tolerance tolerance;
      for (size_t i = 0; i < ref.size(); ++i) {
        EXPECT_EQ(r.frames[i].index, ref[i].index);
        EXPECT_NEAR(r.frames[i].ts, ref[i].timestamp, 0.0015);
        tolerance.add(r.frames[i].pdq, r.frames[i].quality, ref[i].hash, ref[i].quality);
      }
      tolerance.check();
    }
    ++videos;
  }
  EXPECT_EQ(videos, 6);
}

// Below 129 pixels on a side PDQ's filter does not blur: pixels are sampled
// one by one, so tiny frames must be hashed from the reference's own luma
// (its RGB24 conversion), not the Y plane. A clip hashed by the reference.
TEST_F(VideoHashing, TinyFramesHashLikeTheReference) {
  const auto dir = std::filesystem::path(FRAMEPRINT_SOURCE_DIR) / "tests" / "data";
  const MediaResult r = hash(dir / "tiny-64x48.mp4");
  ASSERT_TRUE(r.ok()) << r.error->what();
  const auto ref = testing::read_vpdq_file(dir / "tiny-64x48.vpdq-reference.txt");
  ASSERT_EQ(r.frames.size(), ref.size());
  int worst = 0, total = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    EXPECT_EQ(r.frames[i].index, ref[i].index);
    EXPECT_NEAR(r.frames[i].ts, ref[i].timestamp, 0.0015);
    EXPECT_EQ(r.frames[i].quality, ref[i].quality);
    const int d = hamming_distance(r.frames[i].pdq, ref[i].hash);
    worst = std::max(worst, d);
    total += d;
  }
  // Bit-exact here (Debian's FFmpeg 5.1); another FFmpeg's RGB conversion
  // may round a few pixels differently.
  EXPECT_LE(worst, 2);
  EXPECT_LE(total, static_cast<int>(ref.size()) / 2);
}

TEST_F(VideoHashing, VariableFrameRateTimestampsComeFromPts) {
  VideoSpec s = spec("matroska", "ffv1", "gray");
  s.full_range = true;
  s.pts_seconds = {0.0, 0.1, 0.15, 0.5, 1.2, 1.25, 2.0, 2.04, 3.5};
  const auto file = dir_ / "vfr.mkv";
  testing::write_video(file, s);

  const MediaResult all = hash(file);
  ASSERT_TRUE(all.ok()) << all.error->what();
  ASSERT_EQ(all.frames.size(), s.pts_seconds.size());
  for (size_t i = 0; i < s.pts_seconds.size(); ++i) {
    EXPECT_EQ(all.frames[i].index, static_cast<int64_t>(i));
    EXPECT_NEAR(all.frames[i].ts, s.pts_seconds[i], 1e-6);
    // Lossless grey: the decoded plane is exactly what was written.
    EXPECT_EQ(all.frames[i].pdq, truth(s, static_cast<int>(i)).hash) << "frame " << i;
  }

  auto sampled = [&](double step) {
    HashOptions o;
    o.seconds_per_hash = step;
    std::vector<int64_t> idx;
    for (const auto& f : hash(file, o).frames) idx.push_back(f.index);
    return idx;
  };
  // The first frame at or after each multiple of the step.
  EXPECT_EQ(sampled(1.0), (std::vector<int64_t>{0, 4, 6, 8}));
  EXPECT_EQ(sampled(0.5), (std::vector<int64_t>{0, 3, 4, 6, 8}));
  EXPECT_EQ(sampled(10.0), (std::vector<int64_t>{0}));
}

struct CodecCase {
  const char* name;
  const char* container;
  const char* encoder;
  const char* pix_fmt;
  const char* codec;  // as reported
  int max_distance;   // from the hash of the frames as written (lossy codecs)
};

class VideoCodecs : public VideoHashing, public ::testing::WithParamInterface<CodecCase> {};

TEST_P(VideoCodecs, DecodesAndHashesCloseToTheWrittenFrames) {
  const CodecCase& c = GetParam();
  if (!testing::have_encoder(c.encoder))
    GTEST_SKIP() << "FFmpeg has no " << c.encoder << " encoder here";
  VideoSpec s = spec(c.container, c.encoder, c.pix_fmt);
  const auto file = dir_ / (std::string(c.name) + ".bin");  // content, not name, decides
  testing::write_video(file, s);
  const MediaResult r = hash(file);
  ASSERT_TRUE(r.ok()) << r.error->what();
  EXPECT_EQ(r.kind, MediaKind::kVideo);
  EXPECT_EQ(r.codec, c.codec);
  EXPECT_EQ(r.width, s.width);
  EXPECT_EQ(r.height, s.height);
  ASSERT_EQ(r.frames.size(), s.pts_seconds.size());
  for (size_t i = 0; i < r.frames.size(); ++i) {
    const auto t = truth(s, static_cast<int>(i));
    EXPECT_GT(t.quality, 50);
    EXPECT_LE(hamming_distance(r.frames[i].pdq, t.hash), c.max_distance) << "frame " << i;
    EXPECT_NEAR(r.frames[i].ts, s.pts_seconds[i], 1e-3);
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryCodec, VideoCodecs,
    ::testing::Values(CodecCase{"h264_mp4", "mp4", "libx264", "yuv420p", "h264", 12},
                      CodecCase{"h264_mov", "mov", "libx264", "yuv420p", "h264", 12},
                      CodecCase{"hevc10_mkv", "matroska", "libx265", "yuv420p10le", "hevc", 12},
                      CodecCase{"vp9_webm", "webm", "libvpx-vp9", "yuv420p", "vp9", 12},
                      CodecCase{"av1_mkv", "matroska", "libaom-av1", "yuv420p", "av1", 12},
                      CodecCase{"mpeg4_avi", "avi", "mpeg4", "yuv420p", "mpeg4", 12},
                      CodecCase{"ffv1_mkv", "matroska", "ffv1", "yuv420p", "ffv1", 2},
                      CodecCase{"mjpeg_full_range", "avi", "mjpeg", "yuvj420p", "mjpeg", 12}),
    [](const ::testing::TestParamInfo<CodecCase>& param) { return std::string(param.param.name); });

TEST_F(VideoHashing, DisplayRotationIsAppliedUnlessTurnedOff) {
  VideoSpec s = spec("mp4", "libx264", "yuv420p", 3);
  s.width = 192;
  s.height = 108;
  s.rotation_cw = 90;
  const auto file = dir_ / "portrait.mp4";
  testing::write_video(file, s);

  const MediaResult r = hash(file);
  ASSERT_TRUE(r.ok()) << r.error->what();
  EXPECT_EQ(r.rotation, 90);
  EXPECT_EQ(r.width, 108);
  EXPECT_EQ(r.height, 192);
  HashOptions raw = every_frame();
  raw.autorotate = false;
  const MediaResult stored = hash(file, raw);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored.rotation, 90);  // what the file says, even when not applied
  EXPECT_EQ(stored.width, 192);
  for (int i = 0; i < 3; ++i) {
    const auto upright = truth(s, i, Orientation::rotation_cw(90));
    const auto as_stored = truth(s, i);
    EXPECT_LE(hamming_distance(r.frames[static_cast<size_t>(i)].pdq, upright.hash), 12);
    EXPECT_LE(hamming_distance(stored.frames[static_cast<size_t>(i)].pdq, as_stored.hash), 12);
    EXPECT_GT(hamming_distance(upright.hash, as_stored.hash), 40);
  }
}

TEST_F(VideoHashing, AnimatedGifTakesTheVideoPath) {
  VideoSpec s = spec("gif", "gif", "pal8", 4);
  const auto file = dir_ / "anim.gif";
  testing::write_video(file, s);
  const MediaResult r = hash(file);
  ASSERT_TRUE(r.ok()) << r.error->what();
  EXPECT_EQ(r.kind, MediaKind::kVideo);
  EXPECT_EQ(r.codec, "gif");
  ASSERT_EQ(r.frames.size(), 4u);
  for (int i = 0; i < 4; ++i)
    EXPECT_LE(hamming_distance(r.frames[static_cast<size_t>(i)].pdq, truth(s, i).hash), 4);
}

TEST_F(VideoHashing, AudioOnlyMediaHasNoVideoStream) {
  const auto file = dir_ / "tone.wav";
  testing::write_audio_only(file, 0.5);
  const MediaResult r = hash(file);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code(), ErrorCode::kNoVideoStream);
  EXPECT_FALSE(r.md5.empty());
}

TEST_F(VideoHashing, CorruptPacketsHashWhatDecodesAndSayWhatWasLost) {
  VideoSpec s = spec("matroska", "mpeg4", "yuv420p", 40);
  const auto clean = dir_ / "clean.mkv";
  testing::write_video(clean, s);
  auto bytes = testing::read_bytes(clean);
  std::mt19937 rng(5);
  for (size_t at = bytes.size() / 3; at < bytes.size() * 2 / 3; at += 997)
    for (size_t k = 0; k < 40 && at + k < bytes.size(); ++k)
      bytes[at + k] = static_cast<uint8_t>(rng());
  const MediaResult r = hash(dir_.write("corrupt.mkv", bytes));
  ASSERT_TRUE(r.ok()) << r.error->what();
  EXPECT_GE(r.frames.size(), 10u);
  EXPECT_LE(r.frames.size(), 40u);
  // Frames before the damage are untouched.
  EXPECT_LE(hamming_distance(r.frames[0].pdq, truth(s, 0).hash), 12);
  // The decoder either rejects damaged packets or conceals the damage in
  // the frames it returns; either way the result says so.
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_TRUE(r.warnings[0].code == "corrupt_packets" || r.warnings[0].code == "corrupt_frames")
      << r.warnings[0].code;
}

TEST_F(VideoHashing, TruncatedFilesAreReported) {
  VideoSpec s = spec("mp4", "libx264", "yuv420p", 30);
  const auto file = dir_ / "whole.mp4";
  testing::write_video(file, s);
  auto bytes = testing::read_bytes(file);
  // moov is at the end of this mp4: without it nothing can be read.
  bytes.resize(bytes.size() * 6 / 10);
  const MediaResult r = hash(dir_.write("cut.mp4", bytes));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code(), ErrorCode::kDecodeFailed);
  EXPECT_NE(std::string(r.error->what()).find("truncated"), std::string::npos) << r.error->what();

  // Matroska plays up to the cut; the result says what happened.
  VideoSpec m = spec("matroska", "mpeg4", "yuv420p", 30);
  const auto mkv = dir_ / "whole.mkv";
  testing::write_video(mkv, m);
  auto mb = testing::read_bytes(mkv);
  mb.resize(mb.size() / 2);
  const MediaResult half = hash(dir_.write("cut.mkv", mb));
  ASSERT_TRUE(half.ok()) << half.error->what();
  EXPECT_GT(half.frames.size(), 5u);
  EXPECT_LT(half.frames.size(), 30u);
}

TEST_F(VideoHashing, LimitsAreEnforced) {
  VideoSpec s = spec("matroska", "mpeg4", "yuv420p", 12);
  const auto mkv = dir_ / "twelve.mkv";
  testing::write_video(mkv, s);
  const auto mp4 = dir_ / "twelve.mp4";
  VideoSpec s4 = spec("mp4", "libx264", "yuv420p", 12);
  if (testing::have_encoder("libx264")) testing::write_video(mp4, s4);

  HashOptions few = every_frame();
  few.limits.max_frames = 5;
  EXPECT_EQ(hash(mkv, few).error->code(), ErrorCode::kTooLarge);  // found while decoding
  if (testing::have_encoder("libx264")) {
    EXPECT_EQ(hash(mp4, few).error->code(), ErrorCode::kTooLarge);  // from the index, up front
  }

  HashOptions tiny = every_frame();
  tiny.limits.max_pixels = 160 * 120 - 1;
  EXPECT_EQ(hash(mkv, tiny).error->code(), ErrorCode::kTooLarge);

  HashOptions hurry = every_frame();
  hurry.limits.max_seconds = 1e-9;
  EXPECT_EQ(hash(mkv, hurry).error->code(), ErrorCode::kTimeout);
}

// A backend that wants batches (as the GPU one does) gets the same frames,
// copied out of the decoder's buffers, and gives the same results.
class BatchingCpuBackend final : public pdq::PdqBackend {
 public:
  void hash(std::span<const pdq::HashRequest> r, std::span<pdq::PdqResult> out) override {
    ++calls;
    largest = std::max(largest, r.size());
    cpu_->hash(r, out);
  }
  std::string_view name() const override { return "batching-cpu"; }
  size_t preferred_batch() const override { return 8; }
  size_t calls = 0, largest = 0;

 private:
  std::unique_ptr<pdq::PdqBackend> cpu_ = pdq::make_cpu_backend();
};

TEST_F(VideoHashing, BatchingBackendsSeeTheSameFrames) {
  VideoSpec s = spec("matroska", "mpeg4", "yuv420p", 21);
  s.rotation_cw = 0;
  testing::write_video(dir_ / "batch.mkv", s);
  BatchingCpuBackend batching;
  const MediaResult batched = hash_file(dir_ / "batch.mkv", "b", every_frame(), batching);
  const MediaResult single = hash(dir_ / "batch.mkv");
  ASSERT_TRUE(batched.ok());
  ASSERT_EQ(batched.frames.size(), 21u);
  EXPECT_EQ(batching.largest, 8u);
  EXPECT_EQ(batching.calls, 3u);  // 8 + 8 + 5
  for (size_t i = 0; i < 21; ++i) {
    EXPECT_EQ(batched.frames[i].pdq, single.frames[i].pdq) << i;
    EXPECT_EQ(batched.frames[i].index, single.frames[i].index);
  }
}

// A backend that says it reads CUDA device `device` but hashes host planes
// on the CPU: with a device that does not exist, the pipeline asks for NVDEC
// there and must fall back to the CPU decoder, say why in the result, and
// hash exactly what the CPU path hashes.
class ClaimsAMissingGpu final : public pdq::PdqBackend {
 public:
  void hash(std::span<const pdq::HashRequest> r, std::span<pdq::PdqResult> out) override {
    cpu_->hash(r, out);
  }
  std::string_view name() const override { return "claims-gpu"; }
  size_t preferred_batch() const override { return 4; }
  int cuda_device() const override { return 4095; }  // no machine has this one

 private:
  std::unique_ptr<pdq::PdqBackend> cpu_ = pdq::make_cpu_backend();
};

TEST_F(VideoHashing, NvdecFallbackIsReportedAndHashesLikeTheCpu) {
  struct Case {
    const char* encoder;
    const char* pix_fmt;
  };
  // AV1 also checks the decoder choice: NVDEC wants FFmpeg's native av1
  // decoder, which cannot decode without a device; the fallback must be the
  // CPU's (libdav1d), not a failure.
  int tried = 0;
  for (const Case c : {Case{"libx264", "yuv420p"}, Case{"libvpx-vp9", "yuv420p"},
                       Case{"libaom-av1", "yuv420p"}, Case{"libaom-av1", "yuv420p10le"}}) {
    if (!testing::have_encoder(c.encoder)) continue;
    SCOPED_TRACE(std::string(c.encoder) + " " + c.pix_fmt);
    ++tried;
    VideoSpec s = spec("matroska", c.encoder, c.pix_fmt, 5);
    s.width = 320;  // tiny frames stay on the CPU without asking NVDEC
    s.height = 240;
    const auto file = dir_ / (std::string(c.encoder) + c.pix_fmt + ".mkv");
    testing::write_video(file, s);
    ClaimsAMissingGpu gpu;
    const MediaResult fell_back = hash_file(file, "f", every_frame(), gpu);
    const MediaResult cpu = hash(file);
    ASSERT_TRUE(fell_back.ok()) << fell_back.error->what();
    ASSERT_TRUE(cpu.ok());
    EXPECT_EQ(fell_back.decoder, "cpu");
    ASSERT_FALSE(fell_back.warnings.empty());
    EXPECT_EQ(fell_back.warnings.back().code, "nvdec_fallback");
    EXPECT_NE(fell_back.warnings.back().message.find("4095"), std::string::npos)
        << fell_back.warnings.back().message;
    EXPECT_TRUE(cpu.warnings.empty());  // nobody asked the CPU path for NVDEC
    ASSERT_EQ(fell_back.frames.size(), 5u);
    ASSERT_EQ(cpu.frames.size(), 5u);
    for (size_t i = 0; i < 5; ++i) EXPECT_EQ(fell_back.frames[i].pdq, cpu.frames[i].pdq) << i;
  }
  EXPECT_GT(tried, 0);
}

// Hostile timestamps must not hide a video (issue 14): every frame that
// decodes is hashed on a repaired timeline, with a warning.
TEST_F(VideoHashing, TimestampsCannotHideFrames) {
  struct Case {
    const char* name;
    std::function<int64_t(int64_t)> pts_ms;
  };
  const std::vector<Case> cases = {
      {"reversed", [](int64_t k) { return (60 - k) * 40 + 60; }},
      {"all equal", [](int64_t) { return int64_t{100}; }},
      {"one far in the future", [](int64_t k) { return k == 1 ? int64_t{1'000'000'000} : k * 40; }},
  };
  // MJPEG keeps its own times in Matroska (an intra-only codec stored the
  // AVI way, like FFV1, would carry decode times instead).
  VideoSpec base = spec("matroska", "mjpeg", "yuvj420p", 60);
  for (int i = 0; i < 60; ++i) base.pts_seconds[static_cast<size_t>(i)] = i * 0.04;
  const auto plain = dir_ / "ts-plain.mkv";
  testing::write_video(plain, base);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    VideoSpec s = base;
    s.rewrite_pts = c.pts_ms;
    const auto file = dir_ / (std::string("ts-") + c.name + ".mkv");
    testing::write_video(file, s);
    const MediaResult all = hash(file);
    ASSERT_TRUE(all.ok()) << all.error->what();
    ASSERT_EQ(all.frames.size(), 60u) << "every frame that decodes is hashed";
    const MediaResult honest = hash(plain);
    for (size_t i = 0; i < 60; ++i) {
      EXPECT_EQ(all.frames[i].index, static_cast<int64_t>(i));
      if (i > 0) {
        EXPECT_GT(all.frames[i].ts, all.frames[i - 1].ts);
      }
      EXPECT_EQ(all.frames[i].pdq, honest.frames[i].pdq) << i;  // in decode order
    }
    ASSERT_FALSE(all.warnings.empty());
    EXPECT_EQ(all.warnings.back().code, "timestamps_repaired");
    HashOptions one_a_second;
    one_a_second.seconds_per_hash = 1;
    const MediaResult sampled = hash(file, one_a_second);
    ASSERT_TRUE(sampled.ok());
    // Sampled on the repaired timeline (60 frames span about 2 s): the same
    // frames as sampling the full run, two or three of them, not one.
    FrameSampler sampler(1.0);
    std::vector<int64_t> want;
    for (const auto& f : all.frames)
      if (sampler.take(f.ts)) want.push_back(f.index);
    std::vector<int64_t> got;
    for (const auto& f : sampled.frames) got.push_back(f.index);
    EXPECT_EQ(got, want);
    EXPECT_GE(got.size(), 2u);
  }
}

// A limit reached mid-video keeps what was hashed (issue 14).
TEST_F(VideoHashing, ALimitMidVideoKeepsTheFramesHashedSoFar) {
  VideoSpec s = spec("matroska", "ffv1", "gray", 20);
  const auto file = dir_ / "long.mkv";
  testing::write_video(file, s);
  HashOptions o = every_frame();
  o.limits.max_frames = 8;
  const MediaResult r = hash(file, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code(), ErrorCode::kTooLarge);
  EXPECT_TRUE(r.partial);
  EXPECT_EQ(r.frames.size(), 8u);
  const auto j = to_json(r);
  EXPECT_EQ(j["status"], "error");
  EXPECT_EQ(j["partial"], true);
  EXPECT_EQ(j["frames"].size(), 8u);
  EXPECT_FALSE(j["md5"].get<std::string>().empty());
}

// An MP4 index that claims more than its file can hold is refused before
// FFmpeg allocates for it (issue 14): a few kilobytes claiming 60 million
// samples of one byte cost 0.5 GB and seconds before; an honest file of
// the same frames still hashes.
TEST_F(VideoHashing, Mp4IndexClaimsTheFileCannotHoldAreRefusedBeforeReading) {
  const auto file = dir_ / "honest.mp4";
  testing::write_video(file, spec("mp4", "mpeg4", "yuv420p", 10));
  ASSERT_TRUE(hash(file, every_frame()).ok());
  const auto bytes = testing::read_bytes(file);
  const std::string text(bytes.begin(), bytes.end());
  const size_t stsz = text.find("stsz");
  const size_t stco = text.find("stco");
  ASSERT_NE(stsz, std::string::npos);
  ASSERT_NE(stco, std::string::npos);
  auto put32 = [](std::vector<uint8_t>& b, size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i)
      b[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (24 - 8 * i));
  };
  struct Case {
    const char* name;
    std::function<void(std::vector<uint8_t>&)> edit;
    const char* names;  // in the message
  };
  const std::vector<Case> cases = {
      // stsz payload: version/flags, sample_size, sample_count.
      {"60M one-byte samples",
       [&](std::vector<uint8_t>& b) {
         put32(b, stsz + 8, 1);
         put32(b, stsz + 12, 60'000'000);
       },
       "stsz claims 60000000 samples"},
      {"1.5M sizes in a small table",
       [&](std::vector<uint8_t>& b) { put32(b, stsz + 12, 1'500'000); },
       "stsz claims 1500000 entries"},
      {"a chunk table of 50M offsets",
       [&](std::vector<uint8_t>& b) { put32(b, stco + 8, 50'000'000); },
       "stco claims 50000000 entries"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<uint8_t> edited = bytes;
    c.edit(edited);
    const auto bad = dir_ / "claims.mp4";
    dir_.write("claims.mp4", edited);
    const MediaResult r = hash(bad, every_frame());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code(), ErrorCode::kDecodeFailed);
    const std::string message = r.error->what();
    EXPECT_NE(message.find("impossible"), std::string::npos) << message;
    EXPECT_NE(message.find(c.names), std::string::npos) << message;
    EXPECT_FALSE(r.md5.empty());  // still accounted for by its digests
  }
}

// A GIF with N one-pixel frames, each at its own column of a w x h screen.
std::vector<uint8_t> dotted_gif(int w, int h, int frames) {
  std::vector<uint8_t> g = {'G', 'I', 'F', '8', '9', 'a'};
  auto u16 = [&](int v) {
    g.push_back(static_cast<uint8_t>(v & 0xFF));
    g.push_back(static_cast<uint8_t>(v >> 8));
  };
  u16(w);
  u16(h);
  for (int b : {0x80, 0, 0, 0, 0, 0, 255, 255, 255}) g.push_back(static_cast<uint8_t>(b));
  for (int i = 0; i < frames; ++i) {
    for (int b : {0x21, 0xF9, 4, 0, 10, 0, 0, 0}) g.push_back(static_cast<uint8_t>(b));  // 0.1 s
    g.push_back(0x2C);
    u16(i % w);
    u16(0);
    u16(1);
    u16(1);
    g.push_back(0);
    for (int b : {2, 2, 0x44, 1, 0}) g.push_back(static_cast<uint8_t>(b));  // one pixel, LZW
  }
  g.push_back(0x3B);
  return g;
}

// GIF bounds judged on the file's structure before decoding (issue 14): a
// 69 KB GIF with a 9000x9000 screen and 3000 one-pixel frames held a slot
// for the whole --max-seconds at 0.9 GB; it is refused at once now. A GIF
// over the composing budget gives the frames within it, marked partial.
TEST_F(VideoHashing, GifScreensAndFrameCountsAreBoundedBeforeDecoding) {
  dir_.write("screen.gif", dotted_gif(9000, 9000, 3000));
  const MediaResult huge = hash(dir_ / "screen.gif", every_frame());
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error->code(), ErrorCode::kDecodeFailed);
  EXPECT_NE(std::string(huge.error->what()).find("9000x9000"), std::string::npos)
      << huge.error->what();

  dir_.write("small.gif", dotted_gif(64, 64, 30));
  const MediaResult all = hash(dir_ / "small.gif", every_frame());
  ASSERT_TRUE(all.ok()) << all.error->what();
  EXPECT_EQ(all.frames.size(), 30u);
  HashOptions tight = every_frame();
  tight.limits.max_gif_pixel_frames = 64 * 64 * 10;
  const MediaResult cut = hash(dir_ / "small.gif", tight);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error->code(), ErrorCode::kTooLarge);
  EXPECT_TRUE(cut.partial);
  ASSERT_EQ(cut.frames.size(), 10u);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(cut.frames[i].pdq, all.frames[i].pdq) << i;
  EXPECT_NE(std::string(cut.error->what()).find("first 10 of its 30 frames"), std::string::npos)
      << cut.error->what();
}

TEST_F(VideoHashing, PlaylistsThatWouldOpenOtherFilesAreRefused) {
  // FFmpeg follows concat and HLS playlists to other files and URLs; a
  // worker must hash the bytes it was given, nothing else.
  VideoSpec s = spec("matroska", "ffv1", "gray", 3);
  testing::write_video(dir_ / "secret.mkv", s);
  const std::string concat = "ffconcat version 1.0\nfile secret.mkv\n";
  const std::string hls =
      "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n" + (dir_ / "secret.m3u8").string() + "\n";
  const std::string media = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n" +
                            (dir_ / "secret.mkv").string() + "\n#EXT-X-ENDLIST\n";
  for (const auto& [name, text] : {std::pair{"playlist.bin", concat}, std::pair{"master.m3u8", hls},
                                   std::pair{"secret.m3u8", media}}) {
    SCOPED_TRACE(name);
    const MediaResult r = hash(dir_.write(name, std::vector<uint8_t>(text.begin(), text.end())));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code(), ErrorCode::kUnsupportedFormat) << r.error->what();
  }
}

TEST_F(VideoHashing, OversizedFramesAreRefusedBeforeDecoding) {
  // Stated by the container: more than 32768 on a side.
  VideoSpec wide = spec("matroska", "ffv1", "gray", 1);
  wide.width = 33000;
  wide.height = 4;
  wide.full_range = true;
  testing::write_video(dir_ / "wide.mkv", wide);
  const MediaResult w = hash(dir_ / "wide.mkv");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error->code(), ErrorCode::kTooLarge) << w.error->what();

  // Only in the bitstream (raw MPEG-4 video): FFmpeg probes and decodes
  // under the same limit and refuses the frames before allocating them; it
  // does not always say why, so the answer may be decode_failed.
  VideoSpec raw = spec("m4v", "mpeg4", "yuv420p", 2);
  raw.width = 640;
  raw.height = 480;
  testing::write_video(dir_ / "raw.m4v", raw);
  HashOptions small = every_frame();
  small.limits.max_pixels = 10000;
  const MediaResult r = hash(dir_ / "raw.m4v", small);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error->code() == ErrorCode::kTooLarge ||
              r.error->code() == ErrorCode::kDecodeFailed)
      << r.error->what();
  EXPECT_TRUE(hash(dir_ / "raw.m4v").ok());
}

}  // namespace
}  // namespace frameprint
