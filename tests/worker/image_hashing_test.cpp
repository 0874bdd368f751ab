// Still images through the whole pipeline (bytes -> probe -> decoder ->
// PDQ), by the default route and the exact one, against the shared
// reference hashes and on bad input.
#include <gtest/gtest.h>

#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>

#include "kernels/pdq_backend.h"
#include "tests/support/crafted_media.h"
#include "tests/support/luma.h"
#include "tests/support/temp_dir.h"
#include "tests/support/testdata.h"
#include "worker/media/image_decoder.h"
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
      m.at<cv::Vec3b>(y, x) =
          cv::Vec3b(static_cast<uint8_t>((x * 255) / w),
                    static_cast<uint8_t>(128 + 120 * std::sin(x * 0.05 + y * 0.11)),
                    static_cast<uint8_t>(((x / 16 + y / 24) % 3) * 120));
  return m;
}

std::vector<uint8_t> encode(const cv::Mat& m, const std::string& ext,
                            std::vector<int> params = {}) {
  std::vector<uint8_t> out;
  EXPECT_TRUE(cv::imencode(ext, m, out, params));
  return out;
}

pdq::PdqResult kernel_hash(const cv::Mat& decoded) {
  const auto luma = testing::float_luma_like_reference(decoded);
  return pdq::make_cpu_backend()->hash_one({luma.plane(), {}, pdq::Downsampler::kReference, false});
}

HashOptions exact_options() {
  HashOptions o;
  o.exact_stills = true;
  return o;
}

// The default route on every shared file, real photos and PNG vectors
// alike: within the shared test data's tolerance of the reference.
TEST_F(ImageHashing, SharedImagesStayWithinReferenceToleranceByDefault) {
  FRAMEPRINT_REQUIRE_TESTDATA();
  const auto dir = testing::testdata_dir() / "pdq";
  for (const char* set : {"images", "vectors"}) {
    SCOPED_TRACE(set);
    testing::Tolerance tolerance;
    for (const auto& row : testing::read_csv(dir / (std::string(set) + ".csv"))) {
      SCOPED_TRACE(row.at("file"));
      const MediaResult r = hash_file(dir / set / row.at("file"), row.at("file"), {}, *backend_);
      ASSERT_TRUE(r.ok()) << r.error->what();
      ASSERT_EQ(r.frames.size(), 1u);
      EXPECT_EQ(r.kind, MediaKind::kImage);
      EXPECT_FALSE(r.exact);
      const int quality = std::stoi(row.at("quality"));
      EXPECT_NEAR(r.frames[0].quality, quality, 1);
      tolerance.add(r.frames[0].pdq, r.frames[0].quality, testing::hash_from_hex(row.at("pdq")),
                    quality);
    }
    EXPECT_GE(tolerance.compared(), 28);
    tolerance.check();
  }
}

// --exact: bit for bit the reference's hash, seven dihedral hashes and
// quality on the PNG vectors, and on the real files the reference hashed
// from OpenCV's decode; within tolerance where it decoded them itself.
TEST_F(ImageHashing, ExactRouteIsTheReferenceBitForBit) {
  FRAMEPRINT_REQUIRE_TESTDATA();
  const auto dir = testing::testdata_dir() / "pdq";
  HashOptions o = exact_options();
  o.dihedral = true;
  const char* const dihedral_columns[] = {"pdq",   "rotate90", "rotate180", "rotate270",
                                          "flipx", "flipy",    "flipplus1", "flipminus1"};
  int vectors = 0;
  for (const auto& row : testing::read_csv(dir / "vectors.csv")) {
    SCOPED_TRACE(row.at("file"));
    const MediaResult r = hash_file(dir / "vectors" / row.at("file"), row.at("file"), o, *backend_);
    ASSERT_TRUE(r.ok()) << r.error->what();
    EXPECT_TRUE(r.exact);
    EXPECT_EQ(r.frames[0].quality, std::stoi(row.at("quality")));
    ASSERT_TRUE(r.frames[0].dihedral.has_value());
    for (int k = 0; k < pdq::kDihedralCount; ++k)
      EXPECT_EQ((*r.frames[0].dihedral)[static_cast<size_t>(k)].to_hex(),
                row.at(dihedral_columns[k]))
          << dihedral_columns[k];
    ++vectors;
  }
  EXPECT_EQ(vectors, 30);

  testing::Tolerance tolerance;
  for (const auto& row : testing::read_csv(dir / "images.csv")) {
    SCOPED_TRACE(row.at("file"));
    const MediaResult r =
        hash_file(dir / "images" / row.at("file"), row.at("file"), exact_options(), *backend_);
    ASSERT_TRUE(r.ok()) << r.error->what();
    if (row.at("method") == "opencv-rgb-then-reference") {
      EXPECT_EQ(r.frames[0].pdq.to_hex(), row.at("pdq"));
      EXPECT_EQ(r.frames[0].quality, std::stoi(row.at("quality")));
    }
    tolerance.add(r.frames[0].pdq, r.frames[0].quality, testing::hash_from_hex(row.at("pdq")),
                  std::stoi(row.at("quality")));
  }
  tolerance.check();
}

// The shared rotated and flipped photos are stored turned (their EXIF says
// orientation 1); the original tagged with each EXIF orientation must hash
// like the file turned the same way. EXIF 2 mirrors left-right (the shared
// "flipy", mirrored about the vertical axis), 4 turns upside down ("flipx"),
// 6 turns 90 degrees clockwise ("rotate-270": the shared rotations are
// counter-clockwise), 8 counter-clockwise ("rotate-90"), 5 and 7 transpose.
TEST_F(ImageHashing, ExifOrientationOfTheSharedPhotoMatchesTheTurnedFiles) {
  FRAMEPRINT_REQUIRE_TESTDATA();
  const auto dir = testing::testdata_dir() / "pdq";
  std::map<std::string, Hash256> reference;
  for (const auto& row : testing::read_csv(dir / "images.csv"))
    reference[row.at("file")] = testing::hash_from_hex(row.at("pdq"));
  const auto original = testing::read_bytes(dir / "images" / "bridge-1-original.jpg");
  const char* const turned[] = {"bridge-1-original.jpg",     "bridge-6-flipy.jpg",
                                "bridge-3-rotate-180.jpg",   "bridge-5-flipx.jpg",
                                "bridge-7-flip-plus-1.jpg",  "bridge-4-rotate-270.jpg",
                                "bridge-8-flip-minus-1.jpg", "bridge-2-rotate-90.jpg"};
  for (int orientation = 1; orientation <= 8; ++orientation) {
    SCOPED_TRACE(orientation);
    const auto tagged = testing::jpeg_with_exif_orientation(original, orientation);
    for (const bool exact : {false, true}) {
      HashOptions o;
      o.exact_stills = exact;
      const MediaResult r = hash_bytes(tagged, o);
      ASSERT_TRUE(r.ok()) << r.error->what();
      EXPECT_EQ(r.width, orientation >= 5 ? 1004 : 1600);
      EXPECT_EQ(r.height, orientation >= 5 ? 1600 : 1004);
      EXPECT_LE(hamming_distance(r.frames[0].pdq, reference.at(turned[orientation - 1])), 10)
          << "exact " << exact;
      HashOptions stored = o;
      stored.exif_orientation = false;
      EXPECT_EQ(hash_bytes(tagged, stored).frames[0].pdq, hash_bytes(original, o).frames[0].pdq);
    }
  }
}

// Which decoder takes a file: JPEG luma by default (at the DCT scale its
// size allows), OpenCV's colour decode for --exact, for CMYK JPEGs (no luma
// plane) and for every other format.
TEST_F(ImageHashing, RoutesByFormatAndOption) {
  FRAMEPRINT_REQUIRE_TESTDATA();
  const auto dir = testing::testdata_dir() / "pdq" / "images";
  auto decode = [](const std::filesystem::path& f, bool exact) {
    const auto bytes = testing::read_bytes(f);
    StillOptions o;
    o.exact = exact;
    o.max_pixels = 100'000'000;
    return decode_image(bytes, *probe_image(bytes), o);
  };
  const DecodedImage luma = decode(dir / "bridge-1-original.jpg", false);
  EXPECT_EQ(luma.route, StillRoute::kJpegLuma);
  EXPECT_EQ(luma.dct_scale, 1);  // 1004 rows: halving would leave fewer than 512
  EXPECT_EQ(luma.luma_width, 512);
  EXPECT_EQ(luma.luma_height, 512);
  EXPECT_EQ(decode(dir / "bridge-1-original.jpg", true).route, StillRoute::kColour);
  EXPECT_EQ(decode(dir / "modes" / "CMYK.jpg", false).route, StillRoute::kColour);
  EXPECT_EQ(decode(dir / "modes" / "L.png", false).route, StillRoute::kColour);
  const DecodedImage wee = decode(dir / "wee.jpg", false);  // smaller than 512: not shrunk
  EXPECT_EQ(wee.luma_width, 34);
  EXPECT_EQ(wee.luma_height, 42);

  // At least 512 samples per axis after scaling: 1024 and 2048 are the steps.
  EXPECT_EQ(jpeg_dct_scale(1023, 4000), 1);
  EXPECT_EQ(jpeg_dct_scale(4000, 1024), 2);
  EXPECT_EQ(jpeg_dct_scale(3000, 4000), 4);
  EXPECT_EQ(jpeg_dct_scale(4096, 4096), 8);
  EXPECT_EQ(jpeg_dct_scale(40000, 30000), 8);
}

// A photo large enough to be decoded at half size in the DCT domain (the
// shared photo enlarged to 3200x2008) stays within tolerance of the exact
// route, and reports its full size.
TEST_F(ImageHashing, LargeJpegDecodedAtReducedScaleStaysClose) {
  FRAMEPRINT_REQUIRE_TESTDATA();
  const cv::Mat photo =
      cv::imread((testing::testdata_dir() / "pdq/images/bridge-1-original.jpg").string());
  ASSERT_FALSE(photo.empty());
  cv::Mat big;
  cv::resize(photo, big, cv::Size(), 2.0, 2.0, cv::INTER_LANCZOS4);
  const auto jpeg = encode(big, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 92});
  StillOptions so;
  so.max_pixels = 100'000'000;
  const DecodedImage img = decode_image(jpeg, *probe_image(jpeg), so);
  EXPECT_EQ(img.route, StillRoute::kJpegLuma);
  EXPECT_EQ(img.dct_scale, 2);
  const MediaResult fast = hash_bytes(jpeg);
  const MediaResult exact = hash_bytes(jpeg, exact_options());
  ASSERT_TRUE(fast.ok() && exact.ok());
  EXPECT_EQ(fast.width, 3200);
  EXPECT_EQ(fast.height, 2008);
  EXPECT_GE(fast.frames[0].quality, 80);
  EXPECT_LE(hamming_distance(fast.frames[0].pdq, exact.frames[0].pdq), 10);
}

TEST_F(ImageHashing, DigestsAndSizeAreReported) {
  const cv::Mat m = picture(700, 300);
  const MediaResult r = hash_bytes(encode(m, ".png"), exact_options());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.width, 700);
  EXPECT_EQ(r.height, 300);
  EXPECT_EQ(r.md5.size(), 32u);
  EXPECT_EQ(r.sha256.size(), 64u);
  // Larger than 512: shrunk to 512x512 first (nearest neighbour), then hashed.
  cv::Mat shrunk(512, 512, CV_8UC3);
  for (int y = 0; y < 512; ++y)
    for (int x = 0; x < 512; ++x)
      shrunk.at<cv::Vec3b>(y, x) = m.at<cv::Vec3b>(y * 300 / 512, x * 700 / 512);
  EXPECT_EQ(r.frames[0].pdq, kernel_hash(shrunk).hash);
}

TEST_F(ImageHashing, ExifOrientationIsAppliedUnlessTurnedOff) {
  const cv::Mat m = picture(240, 160);
  const auto jpeg = encode(m, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95});
  const cv::Mat stored = cv::imdecode(jpeg, cv::IMREAD_COLOR);
  cv::Mat displayed;
  cv::rotate(stored, displayed, cv::ROTATE_90_CLOCKWISE);  // EXIF orientation 6
  const auto tagged = testing::jpeg_with_exif_orientation(jpeg, 6);

  // Exact: bit for bit the reference's hash of the turned (or stored) pixels.
  const MediaResult upright = hash_bytes(tagged, exact_options());
  ASSERT_TRUE(upright.ok());
  EXPECT_EQ(upright.width, 160);
  EXPECT_EQ(upright.height, 240);
  EXPECT_EQ(upright.frames[0].pdq, kernel_hash(displayed.clone()).hash);

  HashOptions as_stored = exact_options();
  as_stored.exif_orientation = false;
  const MediaResult raw = hash_bytes(tagged, as_stored);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw.width, 240);
  EXPECT_EQ(raw.frames[0].pdq, kernel_hash(stored).hash);
  EXPECT_GT(hamming_distance(raw.frames[0].pdq, upright.frames[0].pdq), 32);

  // The default route turns the picture the same way, and reports the same size.
  const MediaResult fast = hash_bytes(tagged);
  ASSERT_TRUE(fast.ok());
  EXPECT_EQ(fast.width, 160);
  EXPECT_EQ(fast.height, 240);
  EXPECT_LE(hamming_distance(fast.frames[0].pdq, upright.frames[0].pdq), 10);
  HashOptions fast_stored;
  fast_stored.exif_orientation = false;
  const MediaResult fast_raw = hash_bytes(tagged, fast_stored);
  EXPECT_EQ(fast_raw.width, 240);
  EXPECT_LE(hamming_distance(fast_raw.frames[0].pdq, raw.frames[0].pdq), 10);
}

TEST_F(ImageHashing, GreyscaleHashesTheGreyValuesAndAlphaIsDropped) {
  const cv::Mat colour = picture(200, 150);
  cv::Mat grey(colour.size(), CV_8UC1);
  for (int y = 0; y < grey.rows; ++y)
    for (int x = 0; x < grey.cols; ++x) grey.at<uint8_t>(y, x) = colour.at<cv::Vec3b>(y, x)[1];
  const MediaResult g = hash_bytes(encode(grey, ".png"), exact_options());
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g.frames[0].pdq, kernel_hash(grey).hash);
  // Greyscale JPEG by the default route: its one component is the luma.
  const MediaResult gj = hash_bytes(encode(grey, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95}));
  ASSERT_TRUE(gj.ok());
  EXPECT_LE(hamming_distance(gj.frames[0].pdq, g.frames[0].pdq), 10);

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
  for (const auto& [name, bytes] : std::vector<std::pair<std::string, std::vector<uint8_t>>>{
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
  for (const auto& [whole, cut] :
       {std::pair{whole_jpeg, size_t{2}}, std::pair{whole_png, size_t{12}}}) {
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
  EXPECT_NE(std::string(r.error->what()).find("100000x100000"), std::string::npos)
      << r.error->what();

  // Even with the pixel limit lifted, no side may exceed 32768.
  HashOptions lifted;
  lifted.limits.max_pixels = int64_t{1} << 40;
  const MediaResult r2 = hash_bytes(testing::png_with_claimed_size(40000, 10), lifted);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error->code(), ErrorCode::kTooLarge) << r2.error->what();

  HashOptions small;
  small.limits.max_pixels = 1000;
  EXPECT_EQ(hash_bytes(encode(picture(100, 100), ".png"), small).error->code(),
            ErrorCode::kTooLarge);
}

// Stills are bounded in time too (issue 14): a progressive JPEG can repeat
// scans so that each walks the whole picture again. More scans than any
// real JPEG has are refused before decoding, on every route; the JPEG luma
// route stops at --max-seconds.
TEST_F(ImageHashing, JpegScansAndDecodingTimeAreBounded) {
  std::vector<uint8_t> progressive;
  cv::imencode(".jpg", picture(256, 192), progressive,
               {cv::IMWRITE_JPEG_PROGRESSIVE, 1, cv::IMWRITE_JPEG_QUALITY, 90});
  // Its scans: from each FF DA to the next marker that is not stuffing or a restart.
  std::vector<size_t> sos;
  for (size_t i = 0; i + 1 < progressive.size(); ++i)
    if (progressive[i] == 0xFF && progressive[i + 1] == 0xDA) sos.push_back(i);
  ASSERT_GE(sos.size(), 3u) << "OpenCV wrote no progressive JPEG";
  const std::vector<uint8_t> scan(progressive.begin() + static_cast<std::ptrdiff_t>(sos[1]),
                                  progressive.begin() + static_cast<std::ptrdiff_t>(sos[2]));
  std::vector<uint8_t> repeated(progressive.begin(),
                                progressive.begin() + static_cast<std::ptrdiff_t>(sos[2]));
  for (int i = 0; i < 300; ++i) repeated.insert(repeated.end(), scan.begin(), scan.end());
  repeated.insert(repeated.end(), progressive.begin() + static_cast<std::ptrdiff_t>(sos[2]),
                  progressive.end());
  ASSERT_TRUE(hash_bytes(progressive).ok());
  for (bool exact : {false, true}) {
    SCOPED_TRACE(exact ? "exact" : "default");
    HashOptions o;
    o.exact_stills = exact;
    const MediaResult r = hash_bytes(repeated, o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code(), ErrorCode::kDecodeFailed);
    EXPECT_NE(std::string(r.error->what()).find("more than 256 scans"), std::string::npos)
        << r.error->what();
  }
  // Only the picture's scans count: what follows its end marker (a motion
  // photo's video, where FF DA turns up by chance) does not.
  std::vector<uint8_t> motion_photo = progressive;
  for (int i = 0; i < 300; ++i) motion_photo.insert(motion_photo.end(), {0xFF, 0xDA, 0x12, 0x34});
  const MediaResult appended = hash_bytes(motion_photo);
  ASSERT_TRUE(appended.ok()) << appended.error->what();
  EXPECT_EQ(appended.frames.at(0).pdq, hash_bytes(progressive).frames.at(0).pdq);
  // The deadline is checked while libjpeg decodes (its progress monitor):
  // a budget no decode can meet ends it with a timeout.
  HashOptions hasty;
  hasty.limits.max_seconds = 1e-6;
  const MediaResult late = hash_bytes(progressive, hasty);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error->code(), ErrorCode::kTimeout) << late.error->what();
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

  EXPECT_EQ(hash_file(dir / "missing.jpg", "missing.jpg", {}, *backend_).error->code(),
            ErrorCode::kIoError);
  EXPECT_EQ(hash_file(dir.path(), "dir", {}, *backend_).error->code(), ErrorCode::kIoError);
}

}  // namespace
}  // namespace frameprint
