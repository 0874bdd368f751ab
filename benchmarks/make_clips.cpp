// Writes synthetic H.264 clips for end-to-end runs where no media or ffmpeg
// program is at hand (the GPU machine):
//   frameprint_make_clips DIR COUNT SECONDS [WIDTH HEIGHT]
// COUNT clips of SECONDS at 30 fps (default 1920x1080), x264 preset faster
// with 3 B-frames and a 250-frame GOP, one thread per clip.
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/media_writer.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s DIR COUNT SECONDS [WIDTH HEIGHT]\n", argv[0]);
    return 1;
  }
  const std::filesystem::path dir = argv[1];
  const int count = std::stoi(argv[2]);
  const double seconds = std::stod(argv[3]);
  const int w = argc > 5 ? std::stoi(argv[4]) : 1920, h = argc > 5 ? std::stoi(argv[5]) : 1080;
  std::filesystem::create_directories(dir);
  std::vector<std::thread> threads;
  for (int c = 0; c < count; ++c)
    threads.emplace_back([=] {
      frameprint::testing::VideoSpec s;
      s.container = "mp4";
      s.encoder = "libx264";
      s.width = w;
      s.height = h;
      // Like uploads: x264 High, 3 B-frames (pyramid), a long GOP.
      s.gop = 250;
      s.b_frames = 3;
      s.encoder_options = "preset=faster;crf=23;x264-params=log=-1";
      for (int i = 0; i < static_cast<int>(seconds * 30); ++i) s.pts_seconds.push_back(i / 30.0);
      // Cheap moving structure (integer arithmetic): distinct per clip and frame.
      s.luma = [=](int f) {
        std::vector<uint8_t> y(static_cast<size_t>(w) * static_cast<size_t>(h));
        for (int r = 0; r < h; ++r)
          for (int x = 0; x < w; ++x)
            y[static_cast<size_t>(r) * static_cast<size_t>(w) + static_cast<size_t>(x)] =
                static_cast<uint8_t>(((x + 3 * f + 17 * c) / 37 + (r - 2 * f) / 23) % 2 * 160 +
                                     ((x ^ r) + f) % 64);
        return y;
      };
      frameprint::testing::write_video(dir / ("clip-" + std::to_string(c) + ".mp4"), s);
    });
  for (auto& t : threads) t.join();
  std::printf("%d clips of %.1f s at %dx%d in %s\n", count, seconds, w, h, dir.c_str());
  return 0;
}
