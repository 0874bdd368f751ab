#include "worker/probe.h"

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
