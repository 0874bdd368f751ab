// Still images through the whole pipeline (bytes -> probe -> OpenCV ->
// reference PDQ), against the shared reference hashes and on bad input.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>

#include "kernels/pdq_backend.h"
#include "tests/support/crafted_media.h"
#include "tests/support/luma.h"
#include "tests/support/temp_dir.h"
#include "tests/support/testdata.h"
#include "worker/media/media_hasher.h"

namespace frameprint {
namespace {

class ImageHashing : public ::testing::Test {
 protected:
  MediaResult hash_bytes(std::vector<uint8_t> bytes, HashOptions o = {}) {
    MediaSource source = MediaSource::from_bytes(std::move(bytes));
    return hash_media(source, o, *backend_);
  }
  std::unique_ptr<pdq::PdqBackend> backend_ = pdq::make_cpu_backend();
};

cv::Mat picture(int w, int h) {
  // Asymmetric structure, so rotations and flips change the hash.
  cv::Mat m(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>((x * 255) / w),
                                        static_cast<uint8_t>(128 + 120 * std::sin(x * 0.05 + y * 0.11)),
                                        static_cast<uint8_t>(((x / 16 + y / 24) % 3) * 120));
  return m;
}

std::vector<uint8_t> encode(const cv::Mat& m, const std::string& ext, std::vector<int> params = {}) {
  std::vector<uint8_t> out;
  EXPECT_TRUE(cv::imencode(ext, m, out, params));
  return out;
}

pdq::PdqResult kernel_hash(const cv::Mat& decoded) {
  const auto luma = testing::float_luma_like_reference(decoded);
  return pdq::make_cpu_backend()->hash_one({luma.plane(), {}, pdq::Downsampler::kReference, false});
}

TEST_F(ImageHashing, SharedImagesStayWithinReferenceTolerance) {
  FRAMEPRINT_REQUIRE_TESTDATA();
  const auto dir = testing::testdata_dir() / "pdq";
  testing::Tolerance tolerance;
  for (const auto& row : testing::read_csv(dir / "images.csv")) {
    SCOPED_TRACE(row.at("file"));
    const MediaResult r = hash_file(dir / "images" / row.at("file"), row.at("file"), {}, *backend_);
    ASSERT_TRUE(r.ok()) << r.error->what();
    ASSERT_EQ(r.frames.size(), 1u);
    EXPECT_EQ(r.kind, MediaKind::kImage);
    tolerance.add(r.frames[0].pdq, r.frames[0].quality, testing::hash_from_hex(row.at("pdq")),
                  std::stoi(row.at("quality")));
  }
  EXPECT_GE(tolerance.compared(), 30);
  tolerance.check();
}

TEST_F(ImageHashing, DigestsAndSizeAreReported) {
  const cv::Mat m = picture(700, 300);
  const MediaResult r = hash_bytes(encode(m, ".png"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.width, 700);
  EXPECT_EQ(r.height, 300);
  EXPECT_EQ(r.md5.size(), 32u);
  EXPECT_EQ(r.sha256.size(), 64u);
  // Larger than 512: shrunk to 512x512 first (nearest neighbour), then hashed.
  cv::Mat shrunk(512, 512, CV_8UC3);
  for (int y = 0; y < 512; ++y)
    for (int x = 0; x < 512; ++x) shrunk.at<cv::Vec3b>(y, x) = m.at<cv::Vec3b>(y * 300 / 512, x * 700 / 512);
  EXPECT_EQ(r.frames[0].pdq, kernel_hash(shrunk).hash);
}

TEST_F(ImageHashing, ExifOrientationIsAppliedUnlessTurnedOff) {
  const cv::Mat m = picture(240, 160);
  const auto jpeg = encode(m, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95});
  const cv::Mat stored = cv::imdecode(jpeg, cv::IMREAD_COLOR);
  cv::Mat displayed;
  cv::rotate(stored, displayed, cv::ROTATE_90_CLOCKWISE);  // EXIF orientation 6
  const auto tagged = testing::jpeg_with_exif_orientation(jpeg, 6);

  const MediaResult upright = hash_bytes(tagged);
  ASSERT_TRUE(upright.ok());
  EXPECT_EQ(upright.width, 160);
  EXPECT_EQ(upright.height, 240);
  EXPECT_EQ(upright.frames[0].pdq, kernel_hash(displayed.clone()).hash);

  HashOptions as_stored;
  as_stored.exif_orientation = false;
  const MediaResult raw = hash_bytes(tagged, as_stored);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw.width, 240);
  EXPECT_EQ(raw.frames[0].pdq, kernel_hash(stored).hash);
  EXPECT_GT(hamming_distance(raw.frames[0].pdq, upright.frames[0].pdq), 32);
}

TEST_F(ImageHashing, GreyscaleHashesTheGreyValuesAndAlphaIsDropped) {
  const cv::Mat colour = picture(200, 150);
  cv::Mat grey(colour.size(), CV_8UC1);
  for (int y = 0; y < grey.rows; ++y)
    for (int x = 0; x < grey.cols; ++x) grey.at<uint8_t>(y, x) = colour.at<cv::Vec3b>(y, x)[1];
  const MediaResult g = hash_bytes(encode(grey, ".png"));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g.frames[0].pdq, kernel_hash(grey).hash);

  cv::Mat bgra;
  cv::Mat channels[] = {colour, cv::Mat(colour.size(), CV_8UC1, cv::Scalar(7))};
  cv::merge(channels, 2, bgra);
  const MediaResult with_alpha = hash_bytes(encode(bgra, ".png"));
  const MediaResult without = hash_bytes(encode(colour, ".png"));
  ASSERT_TRUE(with_alpha.ok());
  EXPECT_EQ(with_alpha.frames[0].pdq, without.frames[0].pdq);
}

TEST_F(ImageHashing, SixteenBitPngAndOtherFormatsAgree) {
  const cv::Mat m = picture(300, 200);
  cv::Mat m16;
  m.convertTo(m16, CV_16UC3, 257.0);
  const MediaResult png8 = hash_bytes(encode(m, ".png"));
  ASSERT_TRUE(png8.ok());
  for (const auto& [name, bytes] :
       std::vector<std::pair<std::string, std::vector<uint8_t>>>{
           {"png16", encode(m16, ".png")},
           {"bmp", encode(m, ".bmp")},
           {"tiff", encode(m, ".tiff")},
           {"webp-lossless", encode(m, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101})},
           {"jpeg", encode(m, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95})}}) {
    SCOPED_TRACE(name);
    const MediaResult r = hash_bytes(bytes);
    ASSERT_TRUE(r.ok()) << r.error->what();
    EXPECT_LE(hamming_distance(r.frames[0].pdq, png8.frames[0].pdq), name == "jpeg" ? 8 : 0);
  }
}

TEST_F(ImageHashing, DihedralHashesComeWithTheOption) {
  HashOptions o;
  o.dihedral = true;
  const MediaResult r = hash_bytes(encode(picture(128, 96), ".png"), o);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r.frames[0].dihedral.has_value());
  EXPECT_EQ((*r.frames[0].dihedral)[0], r.frames[0].pdq);
  EXPECT_FALSE(hash_bytes(encode(picture(128, 96), ".png")).frames[0].dihedral.has_value());
}

TEST_F(ImageHashing, BadInputGetsSpecificErrors) {
  EXPECT_EQ(hash_bytes({}).error->code(), ErrorCode::kEmptyFile);

  std::mt19937 rng(42);
  std::vector<uint8_t> noise(100'000);
  for (auto& b : noise) b = static_cast<uint8_t>(rng());
  const MediaResult random = hash_bytes(noise);
  ASSERT_FALSE(random.ok());
  EXPECT_EQ(random.error->code(), ErrorCode::kUnsupportedFormat) << random.error->what();
  EXPECT_EQ(random.md5.size(), 32u);  // digests are still reported

  // Cut files (issue 14): without only their end marker they decode fully
  // and hash like the whole file, with a warning; a JPEG cut in half is
  // hashed as a viewer shows it (grey below the cut); a PNG cut in half
  // does not decode.
  const auto whole_jpeg = encode(picture(300, 200), ".jpg");
  const auto whole_png = encode(picture(300, 200), ".png");
  for (const auto& [whole, cut] : {std::pair{whole_jpeg, size_t{2}}, std::pair{whole_png, size_t{12}}}) {
    auto no_end = whole;
    no_end.resize(no_end.size() - cut);
    const MediaResult r = hash_bytes(no_end);
    ASSERT_TRUE(r.ok()) << r.error->what();
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_EQ(r.warnings[0].code, "truncated");
    EXPECT_EQ(r.frames[0].pdq, hash_bytes(whole).frames[0].pdq);
  }
  auto half_jpeg = whole_jpeg;
  half_jpeg.resize(half_jpeg.size() / 2);
  const MediaResult hj = hash_bytes(half_jpeg);
  ASSERT_TRUE(hj.ok());
  EXPECT_EQ(hj.warnings.at(0).code, "truncated");
  EXPECT_NE(hj.frames[0].pdq, hash_bytes(whole_jpeg).frames[0].pdq);
  auto png = whole_png;
  png.resize(png.size() / 2);
  EXPECT_EQ(hash_bytes(png).error->code(), ErrorCode::kTruncated);

  // A corrupt body behind a valid-looking header.
  auto garbled = encode(picture(300, 200), ".png");
  for (size_t i = 100; i < garbled.size() - 20; ++i) garbled[i] = static_cast<uint8_t>(rng());
  const MediaResult g = hash_bytes(garbled);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error->code(), ErrorCode::kDecodeFailed) << g.error->what();
}

TEST_F(ImageHashing, HugeClaimedSizeIsRejectedBeforeDecoding) {
  const MediaResult r = hash_bytes(testing::png_with_claimed_size(100000, 100000));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code(), ErrorCode::kTooLarge);
  EXPECT_NE(std::string(r.error->what()).find("100000x100000"), std::string::npos) << r.error->what();

  // Even with the pixel limit lifted, no side may exceed 32768.
  HashOptions lifted;
  lifted.limits.max_pixels = int64_t{1} << 40;
  const MediaResult r2 = hash_bytes(testing::png_with_claimed_size(40000, 10), lifted);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error->code(), ErrorCode::kTooLarge) << r2.error->what();

  HashOptions small;
  small.limits.max_pixels = 1000;
  EXPECT_EQ(hash_bytes(encode(picture(100, 100), ".png"), small).error->code(), ErrorCode::kTooLarge);
}

TEST_F(ImageHashing, FilesAreRecognisedByContentNotName) {
  testing::TempDir dir;
  const auto bytes = encode(picture(64, 64), ".png");
  const auto misnamed = dir.write("photo.mp4", bytes);
  const MediaResult r = hash_file(misnamed, "photo.mp4", {}, *backend_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.kind, MediaKind::kImage);
  EXPECT_EQ(r.path, "photo.mp4");
  EXPECT_EQ(r.frames[0].pdq, hash_bytes(bytes).frames[0].pdq);

  EXPECT_EQ(hash_file(dir / "missing.jpg", "missing.jpg", {}, *backend_).error->code(), ErrorCode::kIoError);
  EXPECT_EQ(hash_file(dir.path(), "dir", {}, *backend_).error->code(), ErrorCode::kIoError);
}

}  // namespace
}  // namespace frameprint
