// The separable downsampler computes the same linear map as the reference's
// box filters, so on the same luma its hashes stay within a few bits of the
// reference's, and display orientations equal hashing the turned picture.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>

#include "kernels/pdq_backend.h"
#include "kernels/separable_downsample.h"
#include "tests/support/luma.h"
#include "tests/support/testdata.h"

namespace frameprint {
namespace {

TEST(AxisTaps, WeightsOfEveryOutputSumToOne) {
  for (int n : {5, 64, 100, 129, 130, 480, 720, 1080, 1920, 4001}) {
    const auto t = pdq::AxisTaps::for_length(n);
    for (int i = 0; i < pdq::kDownsampleDim; ++i) {
      double sum = 0;
      for (int k = 0; k < t.max_taps; ++k)
        sum += t.weights[static_cast<size_t>(i * t.max_taps + k)];
      EXPECT_NEAR(sum, 1.0, 1e-6) << "n=" << n << " i=" << i;
      EXPECT_GE(t.first[static_cast<size_t>(i)], 0);
      EXPECT_LE(t.first[static_cast<size_t>(i)] + t.max_taps, n);
    }
  }
}

TEST(SeparableDownsample, StaysCloseToReferenceOnVectors) {
  FRAMEPRINT_REQUIRE_TESTDATA();
  const auto dir = testing::testdata_dir() / "pdq";
  auto backend = pdq::make_cpu_backend();
  int total = 0, worst = 0, n = 0;
  for (const auto& row : testing::read_csv(dir / "vectors.csv")) {
    SCOPED_TRACE(row.at("file"));
    const cv::Mat img =
        cv::imread((dir / "vectors" / row.at("file")).string(), cv::IMREAD_UNCHANGED);
    const auto luma = testing::float_luma_like_reference(img);
    const auto ref = backend->hash_one({luma.plane(), {}, pdq::Downsampler::kReference, false});
    const auto sep = backend->hash_one({luma.plane(), {}, pdq::Downsampler::kSeparable, false});
    const int d = hamming_distance(ref.hash, sep.hash);
    EXPECT_LE(d, 4);
    EXPECT_NEAR(sep.quality, ref.quality, 1);
    total += d;
    worst = std::max(worst, d);
    ++n;
  }
  EXPECT_LE(static_cast<double>(total) / n, 1.0) << "worst " << worst;
}

cv::Mat textured(int w, int h, uint32_t seed) {
  cv::Mat m(h, w, CV_8UC1);
  std::mt19937 rng(seed);
  cv::randu(m, 0, 255);
  // Smooth structure so the hash is stable (quality well above 50).
  cv::Mat big(h, w, CV_8UC1);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      big.at<uint8_t>(y, x) = static_cast<uint8_t>(
          (128 + 100 * std::sin(x * 0.021 + y * 0.013) * std::cos(y * 0.037 - x * 0.005) +
           m.at<uint8_t>(y, x) / 16));
  return big;
}

LumaPlane u8_plane(const cv::Mat& m, bool full_range) {
  return LumaPlane{
      m.data, static_cast<std::ptrdiff_t>(m.step), m.cols, m.rows, SampleType::kU8, 8, full_range};
}

TEST(SeparableDownsample, OrientationEqualsHashingTheTurnedPicture) {
  auto backend = pdq::make_cpu_backend();
  const cv::Mat stored = textured(320, 180, 7);
  struct Case {
    int rotate_code;  // cv::RotateFlags, or -1 for 180
    Orientation o;
  };
  const Case cases[] = {{cv::ROTATE_90_CLOCKWISE, Orientation::rotation_cw(90)},
                        {cv::ROTATE_180, Orientation::rotation_cw(180)},
                        {cv::ROTATE_90_COUNTERCLOCKWISE, Orientation::rotation_cw(270)}};
  for (const auto& c : cases) {
    cv::Mat turned;
    cv::rotate(stored, turned, c.rotate_code);
    turned = turned.clone();
    const auto direct =
        backend->hash_one({u8_plane(turned, true), {}, pdq::Downsampler::kSeparable, false});
    const auto via =
        backend->hash_one({u8_plane(stored, true), c.o, pdq::Downsampler::kSeparable, false});
    EXPECT_GT(direct.quality, 50);
    EXPECT_LE(hamming_distance(direct.hash, via.hash), 2) << "rotate code " << c.rotate_code;
    EXPECT_EQ(direct.quality, via.quality);
  }
  // Mirror images.
  cv::Mat mirrored;
  cv::flip(stored, mirrored, 1);
  const auto direct =
      backend->hash_one({u8_plane(mirrored, true), {}, pdq::Downsampler::kSeparable, false});
  const auto via = backend->hash_one({u8_plane(stored, true), Orientation{false, true, false},
                                      pdq::Downsampler::kSeparable, false});
  EXPECT_LE(hamming_distance(direct.hash, via.hash), 2);
}

TEST(SeparableDownsample, LimitedRangeCodesMapToFullRangeLuma) {
  auto backend = pdq::make_cpu_backend();
  const cv::Mat full = textured(200, 150, 3);
  // The same picture as limited-range codes: 16 + v * 219 / 255.
  cv::Mat limited(full.size(), CV_8UC1);
  std::vector<float> expected(full.total());
  for (int y = 0; y < full.rows; ++y)
    for (int x = 0; x < full.cols; ++x) {
      const int code = 16 + (full.at<uint8_t>(y, x) * 219 + 127) / 255;
      const float codef = static_cast<float>(code);
      limited.at<uint8_t>(y, x) = static_cast<uint8_t>(code);
      expected[static_cast<size_t>(y * full.cols + x)] = (codef - 16.0f) * 255.0f / 219.0f;
    }
  LumaPlane fp{expected.data(),
               static_cast<std::ptrdiff_t>(full.cols * sizeof(float)),
               full.cols,
               full.rows,
               SampleType::kF32,
               8,
               true};
  const auto a =
      backend->hash_one({u8_plane(limited, false), {}, pdq::Downsampler::kSeparable, false});
  const auto b = backend->hash_one({fp, {}, pdq::Downsampler::kSeparable, false});
  EXPECT_LE(hamming_distance(a.hash, b.hash), 1);
  EXPECT_EQ(a.quality, b.quality);
  // 10-bit codes of the same picture hash the same way.
  std::vector<uint16_t> ten(full.total());
  for (size_t i = 0; i < ten.size(); ++i) ten[i] = static_cast<uint16_t>(limited.data[i] * 4);
  LumaPlane tp{ten.data(),
               static_cast<std::ptrdiff_t>(full.cols * 2),
               full.cols,
               full.rows,
               SampleType::kU16,
               10,
               false};
  const auto c = backend->hash_one({tp, {}, pdq::Downsampler::kSeparable, false});
  EXPECT_LE(hamming_distance(a.hash, c.hash), 1);
}

// Below 129 pixels on a side the reference's box filter has a window of 1
// (no blur): PDQ then samples single pixels, and nothing averages small
// differences away. The separable map must pick exactly those pixels.
TEST(SeparableDownsample, SmallPlanesAgreeWithTheReferenceFilter) {
  auto backend = pdq::make_cpu_backend();
  for (auto [w, h] : {std::pair{64, 48},
                      {48, 64},
                      {32, 24},
                      {20, 12},
                      {7, 5},
                      {100, 80},
                      {128, 96},
                      {129, 130},
                      {63, 65}}) {
    SCOPED_TRACE(std::to_string(w) + "x" + std::to_string(h));
    const cv::Mat m = textured(w, h, 7);
    std::vector<float> luma(m.total());
    for (size_t i = 0; i < luma.size(); ++i) luma[i] = m.data[i];
    LumaPlane fp{
        luma.data(), static_cast<std::ptrdiff_t>(w * sizeof(float)), w, h, SampleType::kF32, 8,
        true};
    const auto ref = backend->hash_one({fp, {}, pdq::Downsampler::kReference, false});
    const auto sep = backend->hash_one({fp, {}, pdq::Downsampler::kSeparable, false});
    EXPECT_EQ(ref.quality, sep.quality);
    EXPECT_LE(hamming_distance(ref.hash, sep.hash), 2);
  }
}

}  // namespace
}  // namespace frameprint
