// The CUDA backend against the CPU backend on the same planes (issue: at
// least 99% of hashes bit-identical, none more than 4 bits apart for
// quality >= 50, quality within 1). Skips, saying why, without a device.
#include <gtest/gtest.h>

#if FRAMEPRINT_HAVE_IMAGES
#include <opencv2/imgcodecs.hpp>

#include "tests/support/luma.h"
#endif
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "kernels/pdq_backend.h"
#include "kernels/pdq_cuda.h"
#include "tests/support/media_writer.h"
#include "tests/support/temp_dir.h"
#include "tests/support/testdata.h"
#include "worker/media/media_hasher.h"
#include "worker/media/media_source.h"
#include "worker/media/video_decoder.h"

namespace frameprint {
namespace {

#define REQUIRE_CUDA_DEVICE()                                                         \
  do {                                                                                \
    std::string why;                                                                  \
    if (pdq::cuda_device_count(&why) == 0) GTEST_SKIP() << "no CUDA device: " << why; \
  } while (0)

struct Tally {
  int compared = 0, identical = 0, worst = 0, quality_off = 0;
  void add(const pdq::PdqResult& cpu, const pdq::PdqResult& gpu, int transforms) {
    quality_off = std::max(quality_off, std::abs(cpu.quality - gpu.quality));
    if (cpu.quality < 50) return;
    for (int d = 0; d < transforms; ++d) {
      const int dist = hamming_distance(cpu.dihedral[static_cast<size_t>(d)],
                                        gpu.dihedral[static_cast<size_t>(d)]);
      ++compared;
      identical += dist == 0;
      worst = std::max(worst, dist);
    }
  }
  void check() const {
    ASSERT_GT(compared, 0);
    EXPECT_GE(identical * 100, compared * 99) << identical << " of " << compared << " identical";
    EXPECT_LE(worst, 4);
    EXPECT_LE(quality_off, 1);
  }
};

#if FRAMEPRINT_HAVE_IMAGES
TEST(CudaBackend, MatchesTheCpuBackendOnTheVectors) {
  REQUIRE_CUDA_DEVICE();
  FRAMEPRINT_REQUIRE_TESTDATA();
  auto cpu = pdq::make_cpu_backend();
  auto gpu = pdq::make_cuda_backend(0);
  const auto dir = testing::testdata_dir() / "pdq";
  std::vector<testing::FloatLuma> lumas;
  for (const auto& row : testing::read_csv(dir / "vectors.csv"))
    lumas.push_back(testing::float_luma_like_reference(
        cv::imread((dir / "vectors" / row.at("file")).string(), cv::IMREAD_UNCHANGED)));
  std::vector<pdq::HashRequest> reqs;
  for (const auto& l : lumas) reqs.push_back({l.plane(), {}, pdq::Downsampler::kSeparable, true});
  std::vector<pdq::PdqResult> g(reqs.size()), c(reqs.size());
  gpu->hash(reqs, g);  // one batch
  cpu->hash(reqs, c);
  Tally t;
  for (size_t i = 0; i < reqs.size(); ++i) t.add(c[i], g[i], pdq::kDihedralCount);
  t.check();
}
#endif

TEST(CudaBackend, MatchesTheCpuBackendOnDecodedVideoFrames) {
  REQUIRE_CUDA_DEVICE();
  FRAMEPRINT_REQUIRE_TESTDATA();
  auto cpu = pdq::make_cpu_backend();
  auto gpu = pdq::make_cuda_backend(0);
  Tally t;
  for (const auto& e :
       std::filesystem::directory_iterator(testing::testdata_dir() / "vpdq" / "videos")) {
    MediaSource src = MediaSource::open_file(e.path());
    VideoDecoder dec(src, VideoLimits{});
    VideoFrame f;
    std::vector<std::vector<uint8_t>> copies;
    std::vector<pdq::HashRequest> reqs;
    while (dec.next(f) && copies.size() < 200) {
      std::vector<uint8_t> copy(static_cast<size_t>(f.plane.width) *
                                static_cast<size_t>(f.plane.height));
      for (int y = 0; y < f.plane.height; ++y)
        std::memcpy(copy.data() + static_cast<size_t>(y * f.plane.width), f.plane.row<uint8_t>(y),
                    static_cast<size_t>(f.plane.width));
      copies.push_back(std::move(copy));
      LumaPlane p = f.plane;
      p.data = copies.back().data();
      p.pitch = p.width;
      reqs.push_back({p, Orientation::rotation_cw(static_cast<int>(copies.size() % 4) * 90),
                      pdq::Downsampler::kSeparable, false});
    }
    // copies may have moved while growing: point the requests at them again
    for (size_t i = 0; i < reqs.size(); ++i) reqs[i].plane.data = copies[i].data();
    std::vector<pdq::PdqResult> g(reqs.size()), c(reqs.size());
    gpu->hash(reqs, g);
    cpu->hash(reqs, c);
    for (size_t i = 0; i < reqs.size(); ++i) t.add(c[i], g[i], 1);
  }
  t.check();
}

TEST(CudaBackend, HighBitDepthAndTinyPlanes) {
  REQUIRE_CUDA_DEVICE();
  auto cpu = pdq::make_cpu_backend();
  auto gpu = pdq::make_cuda_backend(0);
  std::vector<uint16_t> ten(1280 * 720);
  for (size_t i = 0; i < ten.size(); ++i)
    ten[i] = static_cast<uint16_t>(64 + (i * 7919 + (i / 1280) * 31) % 877);
  std::vector<uint8_t> tiny(4 * 4, 100);
  const std::vector<pdq::HashRequest> reqs = {
      {LumaPlane{ten.data(), 2560, 1280, 720, SampleType::kU16, 10, false},
       {},
       pdq::Downsampler::kSeparable,
       true},
      {LumaPlane{tiny.data(), 4, 4, 4, SampleType::kU8, 8, true},
       {},
       pdq::Downsampler::kSeparable,
       false}};
  std::vector<pdq::PdqResult> g(2), c(2);
  gpu->hash(reqs, g);
  cpu->hash(reqs, c);
  EXPECT_LE(hamming_distance(g[0].hash, c[0].hash), 4);
  EXPECT_EQ(g[1].quality, 0);
  EXPECT_EQ(g[1].hash, Hash256{});
}

// NVDEC vs CPU decoding of the same video, each hashed by its own backend:
// every frame within the shared tolerance (quality >= 80: max 10, mean 2).
TEST(CudaBackend, NvdecFramesHashLikeCpuDecodedOnes) {
  REQUIRE_CUDA_DEVICE();
  FRAMEPRINT_REQUIRE_TESTDATA();
  auto cpu = pdq::make_cpu_backend();
  auto gpu = pdq::make_cuda_backend(0);
  HashOptions every_frame;
  every_frame.seconds_per_hash = 0;
  testing::Tolerance tolerance;
  for (const auto& e :
       std::filesystem::directory_iterator(testing::testdata_dir() / "vpdq" / "videos")) {
    SCOPED_TRACE(e.path().filename().string());
    const MediaResult a = hash_file(e.path(), "a", every_frame, *cpu);
    const MediaResult b = hash_file(e.path(), "b", every_frame, *gpu);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(b.decoder, "nvdec");
    ASSERT_EQ(a.frames.size(), b.frames.size());
    for (size_t i = 0; i < a.frames.size(); ++i) {
      EXPECT_NEAR(a.frames[i].ts, b.frames[i].ts, 1e-6);
      tolerance.add(a.frames[i].pdq, a.frames[i].quality, b.frames[i].pdq, b.frames[i].quality);
    }
  }
  tolerance.check();
}

// Every codec NVDEC can take goes to NVDEC (the test fails on a silent
// fallback), and what it cannot take falls back with the reason in the
// result. Clips are made here: 4:2:0 8- and 10-bit in each codec the build
// can encode, and 4:4:4 VP9/AV1, which NVDEC does not decode.
TEST(CudaBackend, NvdecTakesEveryCodecItCanAndSaysWhyNot) {
  REQUIRE_CUDA_DEVICE();
  // kEngine: NVDEC takes the format, but whether this GPU's engine decodes
  // the codec is the hardware's to say (AV1: Ampere's GA10x and Ada do,
  // the H100/H200's engine does not); either it decodes on NVDEC, or the
  // hwaccel fails to start and the file is decoded on the CPU, saying so.
  enum Nvdec { kYes, kEngine, kNo };
  struct Case {
    const char* encoder;
    const char* pix_fmt;
    Nvdec nvdec;
  };
  const Case cases[] = {{"libx264", "yuv420p", kYes},       {"libx265", "yuv420p", kYes},
                        {"libx265", "yuv420p10le", kYes},   {"libvpx-vp9", "yuv420p", kYes},
                        {"libaom-av1", "yuv420p", kEngine}, {"libaom-av1", "yuv420p10le", kEngine},
                        {"libvpx-vp9", "yuv444p", kNo},     {"libaom-av1", "yuv444p", kNo}};
  auto cpu = pdq::make_cpu_backend();
  auto gpu = pdq::make_cuda_backend(0);
  testing::TempDir dir;
  HashOptions every_frame;
  every_frame.seconds_per_hash = 0;
  testing::Tolerance tolerance;
  for (const Case& c : cases) {
    if (!testing::have_encoder(c.encoder)) continue;
    SCOPED_TRACE(std::string(c.encoder) + " " + c.pix_fmt);
    testing::VideoSpec s;
    s.container = "matroska";
    s.encoder = c.encoder;
    s.pix_fmt = c.pix_fmt;
    s.width = 320;
    s.height = 240;
    for (int i = 0; i < 12; ++i) s.pts_seconds.push_back(i / 24.0);
    const auto file = dir.path() / (std::string(c.encoder) + "-" + c.pix_fmt + ".mkv");
    testing::write_video(file, s);
    const MediaResult a = hash_file(file, "cpu", every_frame, *cpu);
    const MediaResult b = hash_file(file, "gpu", every_frame, *gpu);
    ASSERT_TRUE(a.ok()) << a.error->what();
    ASSERT_TRUE(b.ok()) << b.error->what();
    if (c.nvdec == kEngine && b.decoder == "cpu") {
      ASSERT_EQ(b.warnings.size(), 1u);
      EXPECT_EQ(b.warnings[0].code, "nvdec_fallback");
      EXPECT_EQ(b.warnings[0].message.rfind("NVDEC failed to start for this stream", 0), 0u)
          << b.warnings[0].message;
      std::printf("note: this GPU's NVDEC does not take %s %s: %s\n", c.encoder, c.pix_fmt,
                  b.warnings[0].message.c_str());
    } else if (c.nvdec != kNo) {
      EXPECT_EQ(b.decoder, "nvdec");
      for (const auto& w : b.warnings) ADD_FAILURE() << w.code << ": " << w.message;
    } else {
      EXPECT_EQ(b.decoder, "cpu");
      ASSERT_FALSE(b.warnings.empty());
      EXPECT_EQ(b.warnings.back().code, "nvdec_fallback");
    }
    ASSERT_EQ(a.frames.size(), b.frames.size());
    for (size_t i = 0; i < a.frames.size(); ++i)
      tolerance.add(a.frames[i].pdq, a.frames[i].quality, b.frames[i].pdq, b.frames[i].quality);
  }
  tolerance.check();
}

// Sampled decoding on NVDEC (issue 9): at the default one hash a second,
// frames nothing needs are skipped by the hwaccel decoder as by the CPU one,
// and the frames taken are exactly those of the every-frame NVDEC run at the
// same indices (same decoder: same pixels, same hashes), and those the CPU
// takes (same indices and timestamps).
TEST(CudaBackend, NvdecSampledRunTakesTheFullDecodesFrames) {
  REQUIRE_CUDA_DEVICE();
  auto cpu = pdq::make_cpu_backend();
  auto gpu = pdq::make_cuda_backend(0);
  testing::TempDir dir;
  std::vector<std::filesystem::path> files;
  auto clip = [&](const char* name, const char* encoder, const char* params, int b_frames) {
    if (!testing::have_encoder(encoder)) return;
    testing::VideoSpec s;
    s.container = "mp4";
    s.encoder = encoder;
    s.width = 320;
    s.height = 180;
    s.gop = 120;
    s.b_frames = b_frames;
    s.encoder_options = params;
    for (int i = 0; i < 150; ++i) s.pts_seconds.push_back(i / 30.0);
    files.push_back(dir.path() / name);
    testing::write_video(files.back(), s);
  };
  clip("pyramid.mp4", "libx264", "preset=faster;x264-params=log=-1:b-pyramid=normal", 3);
  clip("hevc.mp4", "libx265", "x265-params=log-level=none:bframes=4:b-pyramid=1:open-gop=1", 4);
  if (!testing::testdata_dir().empty())
    for (const auto& e :
         std::filesystem::directory_iterator(testing::testdata_dir() / "vpdq" / "videos"))
      files.push_back(e.path());
  ASSERT_FALSE(files.empty());
  HashOptions every_frame, sampled;
  every_frame.seconds_per_hash = 0;
  sampled.seconds_per_hash = 1;
  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    const MediaResult all = hash_file(file, "all", every_frame, *gpu);
    const MediaResult some = hash_file(file, "some", sampled, *gpu);
    const MediaResult on_cpu = hash_file(file, "cpu", sampled, *cpu);
    ASSERT_TRUE(all.ok() && some.ok() && on_cpu.ok());
    EXPECT_EQ(all.decoder, "nvdec");
    EXPECT_EQ(some.decoder, "nvdec");
    ASSERT_EQ(some.frames.size(), on_cpu.frames.size());
    size_t j = 0;
    for (size_t i = 0; i < some.frames.size(); ++i) {
      const FrameHash& f = some.frames[i];
      EXPECT_EQ(f.index, on_cpu.frames[i].index);
      EXPECT_EQ(f.ts, on_cpu.frames[i].ts);
      while (j < all.frames.size() && all.frames[j].index < f.index) ++j;
      ASSERT_LT(j, all.frames.size()) << "frame " << f.index << " is not in the full decode";
      EXPECT_EQ(all.frames[j].index, f.index);
      EXPECT_EQ(all.frames[j].ts, f.ts);
      EXPECT_EQ(all.frames[j].pdq, f.pdq) << "frame " << f.index;
    }
  }
  // And the hwaccel decoder really skips: the frames the CPU decoder skips.
  if (testing::have_encoder("libx264")) {
    auto decoded = [&](int device) {
      MediaSource src = MediaSource::open_file(files.front());
      DecoderSettings d;
      d.threads = 1;
      d.nvdec_device = device;
      d.nvdec_surfaces = 5;
      d.seconds_per_hash = 1;
      VideoDecoder dec(src, VideoLimits{}, d);
      VideoFrame f;
      int64_t last = -1;
      while (dec.next(f)) last = f.index;
      EXPECT_EQ(dec.info().decoder, device >= 0 ? "nvdec" : "cpu");
      EXPECT_EQ(last, 149);
      return dec.decoded_frames();
    };
    const int64_t on_nvdec = decoded(0);
    EXPECT_EQ(on_nvdec, decoded(-1));
    EXPECT_LT(on_nvdec, 150) << "nothing was skipped";
  }
}

// The backend's staging memory outlives a video (no cudaMalloc/cudaFree per
// video): a stager borrows it, so only one may exist at a time.
TEST(CudaBackend, OneStagerAtATime) {
  REQUIRE_CUDA_DEVICE();
  auto gpu = pdq::make_cuda_backend(0);
  auto first = gpu->make_stager();
  EXPECT_THROW(gpu->make_stager(), std::logic_error);
  first.reset();
  EXPECT_NE(gpu->make_stager(), nullptr);
}

TEST(CudaBackend, WithoutADeviceItSaysWhy) {
  std::string why;
  if (pdq::cuda_device_count(&why) > 0) GTEST_SKIP() << "a CUDA device is present";
  EXPECT_FALSE(why.empty());
  EXPECT_THROW(pdq::make_cuda_backend(0), std::runtime_error);
}

}  // namespace
}  // namespace frameprint
