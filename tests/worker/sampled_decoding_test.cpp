// Decoding only what the sampler needs (issue 9): at --seconds-per-hash S,
// frames the sampler cannot take and no other frame refers to are skipped.
// The sampled run must give exactly the frames, indices, timestamps and
// hashes that sampling a full decode gives, on streams where presentation
// order differs from decode order (B-frames, B-pyramid, open GOPs, HEVC),
// variable frame rates and rotation; and it must actually skip.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "kernels/pdq_backend.h"
#include "tests/support/media_writer.h"
#include "tests/support/temp_dir.h"
#include "tests/support/testdata.h"
#include "worker/media/frame_sampler.h"
#include "worker/media/media_hasher.h"
#include "worker/media/media_source.h"
#include "worker/media/video_decoder.h"

namespace frameprint {
namespace {

using testing::VideoSpec;

struct Stream {
  const char* name;
  VideoSpec spec;
};

VideoSpec base(const char* container, const char* encoder, int frames, double fps) {
  VideoSpec s;
  s.container = container;
  s.encoder = encoder;
  s.width = 192;
  s.height = 108;
  for (int i = 0; i < frames; ++i) s.pts_seconds.push_back(i / fps);
  return s;
}

std::vector<Stream> streams() {
  std::vector<Stream> out;
  if (testing::have_encoder("libx264")) {
    VideoSpec pyramid = base("mp4", "libx264", 150, 30);
    pyramid.gop = 250;
    pyramid.b_frames = 3;  // x264's default B-pyramid ("normal") from 2 B-frames on
    pyramid.encoder_options = "preset=faster;x264-params=log=-1:b-pyramid=normal";
    out.push_back({"h264 B-pyramid", pyramid});

    VideoSpec open_gop = base("matroska", "libx264", 120, 25);
    open_gop.gop = 24;
    open_gop.b_frames = 2;
    open_gop.encoder_options = "x264-params=log=-1:open-gop=1:b-pyramid=none";
    out.push_back({"h264 open GOP", open_gop});

    VideoSpec vfr = base("mp4", "libx264", 0, 1);
    vfr.b_frames = 3;
    vfr.gop = 60;
    double t = 0;
    for (int i = 0; i < 100; ++i) {
      vfr.pts_seconds.push_back(t);
      t += (i % 7 == 0) ? 0.21 : (i % 3 == 0 ? 0.013 : 0.041);
    }
    out.push_back({"h264 variable frame rate", vfr});

    VideoSpec rotated = pyramid;
    rotated.rotation_cw = 90;
    rotated.pts_seconds.resize(90);
    out.push_back({"h264 rotated", rotated});
  }
  if (testing::have_encoder("libx265")) {
    VideoSpec hevc = base("mp4", "libx265", 120, 30);
    hevc.gop = 60;
    hevc.b_frames = 4;
    hevc.encoder_options = "x265-params=log-level=none:bframes=4:b-pyramid=1:open-gop=1:keyint=60";
    out.push_back({"hevc B-pyramid open GOP", hevc});
  }
  return out;
}

// What today's full decode gives at S: the sampler applied to every frame.
std::vector<FrameHash> sampled_from(const MediaResult& every, double s) {
  FrameSampler sampler(s);
  std::vector<FrameHash> out;
  for (const auto& f : every.frames)
    if (sampler.take(f.ts)) out.push_back(f);
  return out;
}

class SampledDecoding : public ::testing::Test {
 protected:
  MediaResult hash(const std::filesystem::path& p, double s) {
    HashOptions o;
    o.seconds_per_hash = s;
    return hash_file(p, p.filename().string(), o, *backend_);
  }
  void expect_same(const std::filesystem::path& file, double s) {
    SCOPED_TRACE("S = " + std::to_string(s));
    const MediaResult every = hash(file, 0);
    const MediaResult sampled = hash(file, s);
    ASSERT_TRUE(every.ok() && sampled.ok());
    const auto want = sampled_from(every, s);
    ASSERT_EQ(sampled.frames.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(sampled.frames[i].index, want[i].index) << i;
      EXPECT_EQ(sampled.frames[i].ts, want[i].ts) << i;
      EXPECT_EQ(sampled.frames[i].pdq, want[i].pdq) << i;
      EXPECT_EQ(sampled.frames[i].quality, want[i].quality) << i;
    }
    EXPECT_EQ(sampled.warnings.size(), every.warnings.size());
  }
  // Frames the decoder put out at S, and in all.
  static std::pair<int64_t, int64_t> decoded(const std::filesystem::path& file, double s) {
    MediaSource src = MediaSource::open_file(file);
    DecoderSettings d;
    d.threads = 1;
    d.seconds_per_hash = s;
    VideoDecoder dec(src, VideoLimits{}, d);
    VideoFrame f;
    int64_t last_index = -1;
    while (dec.next(f)) last_index = f.index;
    return {dec.decoded_frames(), last_index + 1};
  }

  testing::TempDir dir_;
  std::unique_ptr<pdq::PdqBackend> backend_ = pdq::make_cpu_backend();
};

TEST_F(SampledDecoding, SameFramesAsSamplingAFullDecode) {
  const auto all = streams();
  ASSERT_FALSE(all.empty()) << "no H.264/HEVC encoder in this FFmpeg";
  for (const auto& st : all) {
    SCOPED_TRACE(st.name);
    const auto file =
        dir_ / (std::string(st.name) + "." + (st.spec.container == "mp4" ? "mp4" : "mkv"));
    testing::write_video(file, st.spec);
    for (double s : {1.0, 0.5, 0.3, 0.1, 0.02}) expect_same(file, s);
  }
}

TEST_F(SampledDecoding, SkipsFramesNothingNeeds) {
  if (!testing::have_encoder("libx264")) GTEST_SKIP() << "no libx264";
  const Stream st = streams().front();  // B-pyramid: most B-frames are not references
  const auto file = dir_ / "skip.mp4";
  testing::write_video(file, st.spec);
  const auto [all_out, all_frames] = decoded(file, 0);
  const auto [some_out, counted] = decoded(file, 1.0);
  EXPECT_EQ(all_out, 150);
  EXPECT_EQ(all_frames, 150);
  EXPECT_EQ(counted, 150);  // indices still count every frame
  EXPECT_LT(some_out, 100) << "non-reference B-frames were decoded anyway";
}

// Hashing for matching also takes the frames the decoder decodes anyway
// (the references the skipped frames depend on), at most match_decoded_fps
// a second: they are frames of the sampled decode, hashed as a full decode
// hashes them, and the printed frames do not change.
TEST_F(SampledDecoding, MatchingHashesTheFramesDecodedAnywayAndDecodesNoMore) {
  if (!testing::have_encoder("libx264")) GTEST_SKIP() << "no libx264";
  const Stream st = streams().front();
  const auto file = dir_ / "decoded-anyway.mp4";
  testing::write_video(file, st.spec);
  std::set<int64_t> out_at_1s;  // what the decoder puts out when sampling at 1 s
  {
    MediaSource src = MediaSource::open_file(file);
    DecoderSettings d;
    d.threads = 1;
    d.seconds_per_hash = 1.0;
    VideoDecoder dec(src, VideoLimits{}, d);
    VideoFrame f;
    while (dec.next(f)) out_at_1s.insert(f.index);
  }
  const MediaResult every = hash(file, 0);
  const MediaResult plain = hash(file, 1.0);
  ASSERT_TRUE(every.ok() && plain.ok());
  HashOptions o;
  o.for_matching = true;
  o.match_seconds_per_hash = 1.0;  // no frame decoded for matching alone
  o.match_decoded_fps = 10;
  const MediaResult m = hash_file(file, "m", o, *backend_);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m.frames.size(), plain.frames.size());
  for (size_t i = 0; i < plain.frames.size(); ++i) EXPECT_EQ(m.frames[i].pdq, plain.frames[i].pdq);
  // 5 s: 5 printed frames; the references of a B-pyramid are every other frame.
  EXPECT_GE(m.match_frames.size(), 30u);
  std::vector<std::pair<double, bool>> hashed;  // time, hashed for matching only
  for (const auto& f : m.match_frames) {
    EXPECT_TRUE(out_at_1s.count(f.index)) << "frame " << f.index << " was decoded for matching";
    ASSERT_LT(static_cast<size_t>(f.index), every.frames.size());
    EXPECT_EQ(f.pdq, every.frames[static_cast<size_t>(f.index)].pdq) << f.index;
    hashed.push_back({f.ts, true});
  }
  for (const auto& f : m.frames) hashed.push_back({f.ts, false});
  std::sort(hashed.begin(), hashed.end());
  // The printed frames are taken wherever they fall; one for matching only
  // comes at least 0.1 s after the frame hashed before it.
  for (size_t i = 1; i < hashed.size(); ++i) {
    if (hashed[i].second) {
      EXPECT_GE(hashed[i].first - hashed[i - 1].first, 0.1 - 1e-9) << "at " << hashed[i].first;
    }
  }
  o.match_decoded_fps = 0;
  EXPECT_TRUE(hash_file(file, "m", o, *backend_).match_frames.empty());
}

TEST_F(SampledDecoding, SharedVideosAtTheDefaultRate) {
  FRAMEPRINT_REQUIRE_TESTDATA();
  for (const auto& e :
       std::filesystem::directory_iterator(testing::testdata_dir() / "vpdq" / "videos")) {
    SCOPED_TRACE(e.path().filename().string());
    expect_same(e.path(), 1.0);
  }
}

// Timestamps that turn out bad after frames were skipped: decoding starts
// again without skipping, and the result is whole (every digest too).
TEST_F(SampledDecoding, ARepairedTimelineAfterSkippingDecodesAgainWhole) {
  if (!testing::have_encoder("libx264")) GTEST_SKIP() << "no libx264";
  VideoSpec s = streams().front().spec;  // B-pyramid: skipping starts early
  s.container = "matroska";
  // Packet times in write order, one far in the future two thirds of the way.
  s.rewrite_pts = [](int64_t k) { return k == 100 ? int64_t{1'000'000'000} : k * 33 + 200; };
  const auto file = dir_ / "late-bad-times.mkv";
  testing::write_video(file, s);
  const MediaResult every = hash(file, 0);
  const MediaResult sampled = hash(file, 1.0);
  ASSERT_TRUE(every.ok() && sampled.ok());
  ASSERT_FALSE(sampled.warnings.empty());
  EXPECT_EQ(sampled.warnings.back().code, "timestamps_repaired");
  EXPECT_EQ(sampled.md5, every.md5);
  EXPECT_EQ(sampled.sha1, every.sha1);
  EXPECT_EQ(sampled.sha1.size(), 40u);
  EXPECT_EQ(sampled.sha256, every.sha256);
  const auto want = sampled_from(every, 1.0);
  ASSERT_EQ(sampled.frames.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(sampled.frames[i].index, want[i].index) << i;
}

TEST(SkipPlanner, TheEarliestFrameOfEachIntervalIsAlwaysDecoded) {
  SkipPlanner p(1.0);
  // Decode order of a B-pyramid: I0 P4 B2 b1 b3 ... at 0.25 s a frame.
  const double order[] = {0.0, 1.0, 0.5, 0.25, 0.75, 2.0, 1.5, 1.25, 1.75};
  for (double t : order) p.saw(t);
  EXPECT_TRUE(p.may_be_taken(0.0));
  EXPECT_TRUE(p.may_be_taken(1.0));
  EXPECT_TRUE(p.may_be_taken(2.0));
  for (double t : {0.5, 0.25, 0.75, 1.5, 1.25, 1.75}) EXPECT_FALSE(p.may_be_taken(t)) << t;
  // Indices count skipped frames: frames out 0.0, 1.0, 2.0 with the rest skipped.
  for (double t : {0.5, 0.25, 0.75, 1.5, 1.25, 1.75}) p.skip_requested(t);
  EXPECT_EQ(p.index_of(0.0), 0);
  EXPECT_EQ(p.index_of(1.0), 4);
  EXPECT_EQ(p.index_of(2.0), 8);
}

TEST(SkipPlanner, MissingOrRepeatedTimestampsTurnSkippingOff) {
  SkipPlanner p(1.0);
  p.saw(0.0);
  p.saw(0.5);
  EXPECT_FALSE(p.may_be_taken(0.5));
  p.saw(0.5);  // two frames at one time
  EXPECT_FALSE(p.active());
  EXPECT_TRUE(p.may_be_taken(0.5));
  SkipPlanner q(1.0);
  q.saw(std::nullopt);
  EXPECT_FALSE(q.active());
}

TEST(SkipPlanner, ADecoderThatDidNotSkipKeepsIndicesRight) {
  SkipPlanner p(1.0);
  for (double t : {0.0, 0.4, 0.8}) p.saw(t);
  p.skip_requested(0.4);
  p.skip_requested(0.8);
  EXPECT_EQ(p.index_of(0.0), 0);
  EXPECT_EQ(p.index_of(0.4), 1);  // it came out after all
  EXPECT_EQ(p.index_of(0.8), 2);
}

}  // namespace
}  // namespace frameprint
