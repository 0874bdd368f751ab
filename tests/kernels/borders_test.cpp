#include "kernels/borders.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace frameprint::pdq {
namespace {

struct Picture {
  int w, h;
  std::vector<uint8_t> px;
  Picture(int w_, int h_, uint8_t fill) : w(w_), h(h_), px(static_cast<size_t>(w_ * h_), fill) {}
  uint8_t& at(int x, int y) { return px[static_cast<size_t>(y * w + x)]; }
  void texture(const Rect& r, uint64_t seed) {
    std::mt19937_64 rng(seed);
    for (int y = r.y; y < r.y + r.height; ++y)
      for (int x = r.x; x < r.x + r.width; ++x) at(x, y) = static_cast<uint8_t>(rng() % 256);
  }
  LumaPlane plane() const { return {px.data(), w, w, h, SampleType::kU8, 8, true}; }
};

TEST(Borders, LetterboxPillarboxAndWhiteFramesAreFound) {
  Picture letterbox(320, 240, 16);
  letterbox.texture({0, 30, 320, 180}, 1);
  EXPECT_EQ(find_content(letterbox.plane()), (Rect{0, 30, 320, 180}));

  Picture pillarbox(400, 200, 0);
  pillarbox.texture({100, 0, 200, 200}, 2);
  EXPECT_EQ(find_content(pillarbox.plane()), (Rect{100, 0, 200, 200}));

  Picture framed(300, 300, 255);
  framed.texture({20, 25, 250, 240}, 3);
  EXPECT_EQ(find_content(framed.plane()), (Rect{20, 25, 250, 240}));
}

TEST(Borders, AScreenshotsStatusBarAndSurroundAreBorders) {
  // A phone screenshot: a grey status bar with a clock and icons (white
  // marks on under a tenth of its width), a dark surround, the picture.
  Picture shot(360, 780, 32);
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 360; ++x) shot.at(x, y) = 48;
  for (int y = 8; y < 20; ++y) {
    for (int x = 20; x < 40; ++x) shot.at(x, y) = 255;
    for (int x = 300; x < 315; ++x) shot.at(x, y) = 255;
  }
  shot.texture({0, 250, 360, 270}, 4);
  EXPECT_EQ(find_content(shot.plane()), (Rect{0, 250, 360, 270}));
}

TEST(Borders, NoBordersFlatPicturesAndSlivers) {
  Picture full(200, 100, 0);
  full.texture({0, 0, 200, 100}, 5);
  EXPECT_FALSE(find_content(full.plane()));
  EXPECT_FALSE(find_content(Picture(200, 100, 7).plane()));  // nothing but border
  Picture sliver(200, 100, 0);
  sliver.texture({0, 1, 200, 98}, 6);  // a row each side: compression's edge, not padding
  EXPECT_FALSE(find_content(sliver.plane()));
  Picture tiny(400, 400, 0);
  tiny.texture({190, 190, 20, 20}, 7);  // a dot on black is not content to hash alone
  EXPECT_FALSE(find_content(tiny.plane()));
  LumaPlane device = full.plane();
  device.location = MemoryLocation::kDevice;
  EXPECT_FALSE(find_content(device));
}

TEST(Borders, CropIsAViewOfTheContent) {
  Picture p(64, 48, 0);
  p.at(10, 5) = 200;
  const LumaPlane c = crop(p.plane(), {10, 5, 20, 10});
  EXPECT_EQ(c.width, 20);
  EXPECT_EQ(c.height, 10);
  EXPECT_EQ(c.pitch, 64);
  EXPECT_EQ(c.row<uint8_t>(0)[0], 200);
}

}  // namespace
}  // namespace frameprint::pdq
