#include "worker/media/probe.h"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

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
  std::vector<uint8_t> vp8x = {'R', 'I', 'F', 'F', 22, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X'};
  vp8x.resize(30, 0);
  vp8x[24] = 99;  // canvas width - 1 = 99, exactly 30 bytes long
  EXPECT_EQ(probe_image(vp8x)->width, 100);

  // TIFF with duplicated size tags: libtiff keeps the first, so do we.
  const std::vector<uint8_t> tiff = {'I', 'I', 42, 0, 8, 0, 0, 0, 4, 0,
                                     0x00, 0x01, 4, 0, 1, 0, 0, 0, 0x80, 0x3E, 0, 0,   // width 16000
                                     0x01, 0x01, 4, 0, 1, 0, 0, 0, 0x80, 0x3E, 0, 0,   // height 16000
                                     0x00, 0x01, 3, 0, 1, 0, 0, 0, 16, 0, 0, 0,        // width 16 again
                                     0x01, 0x01, 3, 0, 1, 0, 0, 0, 16, 0, 0, 0};       // height 16 again
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
  const size_t after_app0 = 4 + ((size_t{jpeg[4]} << 8) | jpeg[5]);  // SOI, then APP0's marker and length
  jpeg.insert(jpeg.begin() + static_cast<long>(after_app0), 0x00);  // libjpeg skips junk before a marker
  const auto p = probe_image(jpeg);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->truncated);
  EXPECT_EQ(p->width, 40);
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
