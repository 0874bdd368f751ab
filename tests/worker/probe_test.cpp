#include "worker/media/probe.h"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <set>

#include "tests/support/crafted_media.h"

namespace frameprint {
namespace {

std::vector<uint8_t> encode(const std::string& ext, int w, int h, int type = CV_8UC3) {
  cv::Mat m(h, w, type, cv::Scalar(10, 200, 90));
  std::vector<uint8_t> out;
  EXPECT_TRUE(cv::imencode(ext, m, out));
  return out;
}

TEST(Probe, ReadsSizesFromHeadersOfEveryStillFormat) {
  struct Case {
    const char* ext;
    ImageFormat format;
  };
  for (const Case& c : {Case{".png", ImageFormat::kPng}, Case{".jpg", ImageFormat::kJpeg},
                        Case{".bmp", ImageFormat::kBmp}, Case{".webp", ImageFormat::kWebp},
                        Case{".tiff", ImageFormat::kTiff}}) {
    SCOPED_TRACE(c.ext);
    const auto bytes = encode(c.ext, 123, 45);
    const auto p = probe_image(bytes);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->format, c.format);
    EXPECT_EQ(p->width, 123);
    EXPECT_EQ(p->height, 45);
    EXPECT_FALSE(p->truncated);
  }
}

TEST(Probe, LosslessWebpHeaderToo) {
  std::vector<uint8_t> out;
  cv::Mat m(31, 77, CV_8UC3, cv::Scalar(1, 2, 3));
  ASSERT_TRUE(cv::imencode(".webp", m, out, {cv::IMWRITE_WEBP_QUALITY, 101}));  // >100: lossless
  const auto p = probe_image(out);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->width, 77);
  EXPECT_EQ(p->height, 31);
}

TEST(Probe, HostilePngHeaderIsReadWithoutDecoding) {
  const auto png = testing::png_with_claimed_size(100000, 100000);
  const auto p = probe_image(png);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->format, ImageFormat::kPng);
  EXPECT_EQ(p->width, 100000);
  EXPECT_EQ(p->height, 100000);
}

TEST(Probe, DetectsTruncatedJpegAndPng) {
  for (const char* ext : {".jpg", ".png"}) {
    auto bytes = encode(ext, 64, 64);
    bytes.resize(bytes.size() * 2 / 3);
    const auto p = probe_image(bytes);
    ASSERT_TRUE(p) << ext;
    EXPECT_TRUE(p->truncated) << ext;
  }
}

TEST(Probe, DataAppendedAfterTheImageIsNotTruncation) {
  // Motion photos append a video after the JPEG's end marker; some PNGs
  // carry trailing bytes after IEND.
  for (const char* ext : {".jpg", ".png"}) {
    auto bytes = encode(ext, 64, 64);
    const std::vector<uint8_t> tail(8000, 0x11);
    for (uint8_t b : tail) bytes.push_back(b);
    const auto p = probe_image(bytes);
    ASSERT_TRUE(p) << ext;
    EXPECT_FALSE(p->truncated) << ext;
  }
}

TEST(Probe, ShortAndHostileHeaders) {
  // Headers cut short: no reads past the end (run under ASan), no size.
  const std::vector<std::vector<uint8_t>> short_ones = {
      {'I', 'I', '*', 0}, {'M', 'M', 0, '*', 0, 0}, {0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8}};
  for (const auto& b : short_ones) {
    const auto p = probe_image(b);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->width * p->height, 0);
  }
  EXPECT_FALSE(probe_image(std::vector<uint8_t>{'B', 'M', 1, 2}));  // too short to be a BMP
  std::vector<uint8_t> vp8x = {'R', 'I', 'F', 'F', 22,  0,   0,   0,
                               'W', 'E', 'B', 'P', 'V', 'P', '8', 'X'};
  vp8x.resize(30, 0);
  vp8x[24] = 99;  // canvas width - 1 = 99, exactly 30 bytes long
  EXPECT_EQ(probe_image(vp8x)->width, 100);

  // TIFF with duplicated size tags: libtiff keeps the first, so do we.
  const std::vector<uint8_t> tiff = {
      'I',  'I',  42, 0, 8, 0, 0,    0,    4,    0,    0x00, 0x01,
      4,    0,    1,  0, 0, 0, 0x80, 0x3E, 0,    0,               // width 16000
      0x01, 0x01, 4,  0, 1, 0, 0,    0,    0x80, 0x3E, 0,    0,   // height 16000
      0x00, 0x01, 3,  0, 1, 0, 0,    0,    16,   0,    0,    0,   // width 16 again
      0x01, 0x01, 3,  0, 1, 0, 0,    0,    16,   0,    0,    0};  // height 16 again
  const auto t = probe_image(tiff);
  EXPECT_EQ(t->width, 16000);
  EXPECT_EQ(t->height, 16000);

  // BMP with a 36-byte info header: sizes are read as for 40.
  std::vector<uint8_t> bmp(60, 0);
  bmp[0] = 'B';
  bmp[1] = 'M';
  bmp[14] = 36;
  bmp[18] = 0xE0;  // 12000
  bmp[19] = 0x2E;
  bmp[22] = 0xE0;
  bmp[23] = 0x2E;
  EXPECT_EQ(probe_image(bmp)->width, 12000);
}

TEST(Probe, StrayBytesBetweenJpegSegmentsAreSkipped) {
  auto jpeg = encode(".jpg", 40, 30);
  const size_t after_app0 =
      4 + ((size_t{jpeg[4]} << 8) | jpeg[5]);  // SOI, then APP0's marker and length
  jpeg.insert(jpeg.begin() + static_cast<long>(after_app0),
              0x00);  // libjpeg skips junk before a marker
  const auto p = probe_image(jpeg);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->truncated);
  EXPECT_EQ(p->width, 40);
}

// EXIF (after "Exif\0\0"): a TIFF header and one IFD of the given entries,
// values stored in place (SHORT in the first two bytes of the field).
struct IfdEntry {
  uint16_t tag;
  uint16_t type;  // 2 ASCII, 3 SHORT, 4 LONG, 5 RATIONAL
  uint32_t count;
  uint32_t value;
};
std::vector<uint8_t> exif(const std::vector<IfdEntry>& entries, bool big_endian) {
  std::vector<uint8_t> t = {'E', 'x', 'i', 'f', 0, 0};
  auto put = [&](uint32_t v, int bytes) {
    for (int k = 0; k < bytes; ++k)
      t.push_back(static_cast<uint8_t>(v >> (8 * (big_endian ? bytes - 1 - k : k))));
  };
  t.push_back(big_endian ? 'M' : 'I');
  t.push_back(big_endian ? 'M' : 'I');
  put(0x2A, 2);
  put(8, 4);
  put(static_cast<uint32_t>(entries.size()), 2);
  for (const IfdEntry& e : entries) {
    put(e.tag, 2);
    put(e.type, 2);
    put(e.count, 4);
    if (e.type == 3) {
      put(e.value, 2);
      put(0, 2);
    } else {
      put(e.value, 4);
    }
  }
  put(0, 4);  // no next IFD
  return t;
}

// Which EXIF orientation (1..8) OpenCV applied: the transform of the
// stored picture that gives what it decoded, by the EXIF definitions.
int orientation_opencv_applied(const cv::Mat& stored, const cv::Mat& got) {
  for (int k = 1; k <= 8; ++k) {
    cv::Mat t = stored.clone();
    if (k >= 5) cv::transpose(t, t);  // 5..8 swap the axes first
    switch (k) {
      case 2: cv::flip(t, t, 1); break;   // mirrored left-right
      case 3: cv::flip(t, t, -1); break;  // turned 180
      case 4: cv::flip(t, t, 0); break;   // upside down
      case 6: cv::flip(t, t, 1); break;   // transposed + mirrored = 90 clockwise
      case 7: cv::flip(t, t, -1); break;
      case 8: cv::flip(t, t, 0); break;  // transposed + flipped = 90 counter-clockwise
      default: break;
    }
    if (t.size() == got.size() && cv::norm(t, got, cv::NORM_INF) == 0) return k;
  }
  return 0;
}

// The probe reads the orientation the way OpenCV does, down to its quirks,
// so that the JPEG luma route (which turns the picture itself) and the
// colour route (where OpenCV turns it) agree on every file.
TEST(Probe, ExifOrientationIsReadAsOpenCvReadsIt) {
  cv::Mat m(32, 48, CV_8UC3);
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x)
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(uint8_t(x * 5), uint8_t(y * 7), uint8_t((x * y) % 251));
  std::vector<uint8_t> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", m, jpeg, {cv::IMWRITE_JPEG_QUALITY, 100}));
  const cv::Mat stored = cv::imdecode(jpeg, cv::IMREAD_COLOR);

  const std::vector<uint8_t> xmp = {'h', 't', 't', 'p', ':', '/', '/', 'n', 's', '.', 'a',
                                    'd', 'o', 'b', 'e', '.', 'c', 'o', 'm', '/', 'x', 'a',
                                    'p', '/', '1', '.', '0', '/', 0,   '<', 'x', '/', '>'};
  const IfdEntry bad_string{0x010F, 2, 40, 5000};   // Make: 40 bytes at an offset past the end
  const IfdEntry bad_rational{0x011A, 5, 1, 5000};  // XResolution past the end
  struct Case {
    const char* name;
    std::vector<uint8_t> file;
  };
  std::vector<Case> cases;
  for (int k = 1; k <= 8; ++k) {
    cases.push_back({"little endian",
                     testing::jpeg_with_app1(jpeg, exif({{0x0112, 3, 1, uint32_t(k)}}, false))});
    cases.push_back(
        {"big endian", testing::jpeg_with_app1(jpeg, exif({{0x0112, 3, 1, uint32_t(k)}}, true))});
  }
  cases.push_back({"value 9", testing::jpeg_with_app1(jpeg, exif({{0x0112, 3, 1, 9}}, false))});
  cases.push_back(
      {"value 0 first",
       testing::jpeg_with_app1(jpeg, exif({{0x0112, 3, 1, 0}, {0x0112, 3, 1, 6}}, false))});
  cases.push_back({"6 first", testing::jpeg_with_app1(
                                  jpeg, exif({{0x0112, 3, 1, 6}, {0x0112, 3, 1, 3}}, false))});
  cases.push_back({"bad string before",
                   testing::jpeg_with_app1(jpeg, exif({bad_string, {0x0112, 3, 1, 6}}, false))});
  cases.push_back({"bad string after",
                   testing::jpeg_with_app1(jpeg, exif({{0x0112, 3, 1, 6}, bad_string}, false))});
  cases.push_back({"bad rational before",
                   testing::jpeg_with_app1(jpeg, exif({bad_rational, {0x0112, 3, 1, 8}}, true))});
  cases.push_back(
      {"short inline string",
       testing::jpeg_with_app1(jpeg, exif({{0x010F, 2, 4, 0}, {0x0112, 3, 1, 8}}, false))});
  cases.push_back(
      {"XMP first", testing::jpeg_with_app1(testing::jpeg_with_exif_orientation(jpeg, 6), xmp)});
  cases.push_back({"EXIF first, XMP second",
                   testing::jpeg_with_exif_orientation(testing::jpeg_with_app1(jpeg, xmp), 6)});
  std::vector<uint8_t> no_mark = exif({{0x0112, 3, 1, 6}}, false);
  no_mark[8] = 0x2B;
  cases.push_back({"no 0x2A mark", testing::jpeg_with_app1(jpeg, no_mark)});
  std::vector<uint8_t> cut = exif({{0x0112, 3, 1, 6}, {0x0112, 3, 1, 6}}, false);
  cut.resize(cut.size() - 18);  // the second entry and the next-IFD link cut off
  cases.push_back({"cut short", testing::jpeg_with_app1(jpeg, cut)});

  std::set<int> seen;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const cv::Mat got = cv::imdecode(c.file, cv::IMREAD_COLOR);
    const int applied = orientation_opencv_applied(stored, got);
    ASSERT_NE(applied, 0) << "OpenCV decoded something else";
    const auto p = probe_image(c.file);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->exif_orientation, applied);
    EXPECT_EQ(p->components, 3);
    seen.insert(applied);
  }
  EXPECT_EQ(seen.size(), 8u);  // every orientation was exercised
}

TEST(Probe, GifIsRecognisedAndOtherBytesAreNot) {
  const std::vector<uint8_t> gif = {'G', 'I', 'F', '8', '9', 'a', 0x40, 0x01, 0xF0, 0x00, 0, 0, 0};
  const auto p = probe_image(gif);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->format, ImageFormat::kGif);
  EXPECT_EQ(p->width, 320);
  EXPECT_EQ(p->height, 240);
  const std::vector<uint8_t> mp4ish = {0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm'};
  EXPECT_FALSE(probe_image(mp4ish));
  EXPECT_FALSE(probe_image({}));
  EXPECT_FALSE(probe_image(std::vector<uint8_t>{0xFF, 0xD8}));  // too short to be a JPEG
}

}  // namespace
}  // namespace frameprint
