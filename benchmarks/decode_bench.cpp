// The decode-only ceiling for end-to-end runs: decodes every frame of the
// given videos with frameprint's own decoder (the same FFmpeg calls, NVDEC
// hwaccel or CPU), no hashing, several files at once, and prints frames/s.
// On NVDEC the frames stay in device memory, as frameprint's are. With
// --seconds-per-hash S the decoder skips what a sampled run skips (issue 9)
// and the figure counts the stream's frames, decoded or skipped.
//   frameprint_decode_bench cpu|nvdec THREADS [--seconds-per-hash S] PATH...
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include <libavutil/log.h>
}

#include "worker/media/media_error.h"
#include "worker/media/media_source.h"
#include "worker/media/video_decoder.h"

int main(int argc, char** argv) {
  using namespace frameprint;
  if (argc < 4 || (std::string(argv[1]) != "cpu" && std::string(argv[1]) != "nvdec")) {
    std::fprintf(stderr, "usage: %s cpu|nvdec THREADS [--seconds-per-hash S] PATH...\n", argv[0]);
    return 1;
  }
  av_log_set_level(AV_LOG_QUIET);
  const bool nvdec = std::string(argv[1]) == "nvdec";
  const int threads = std::max(1, std::stoi(argv[2]));
  double seconds_per_hash = 0;
  int first = 3;
  if (argc > 5 && std::string(argv[3]) == "--seconds-per-hash") {
    seconds_per_hash = std::stod(argv[4]);
    first = 5;
  }
  std::vector<std::filesystem::path> files;
  for (int i = first; i < argc; ++i) {
    if (std::filesystem::is_directory(argv[i])) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(argv[i]))
        if (e.is_regular_file()) files.push_back(e.path());
    } else {
      files.emplace_back(argv[i]);
    }
  }
  std::atomic<size_t> next{0};
  std::atomic<int64_t> frames{0}, decoded{0}, on_gpu{0}, failed{0};
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::jthread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < files.size();) {
        try {
          MediaSource src = MediaSource::open_file(files[i]);
          DecoderSettings settings;
          settings.threads = 1;
          settings.nvdec_device = nvdec ? 0 : -1;
          settings.nvdec_surfaces = 5;
          settings.seconds_per_hash = seconds_per_hash;
          VideoDecoder dec(src, VideoLimits{}, settings);
          VideoFrame f;
          int64_t n = 0;
          while (dec.next(f)) n = f.index + 1;
          n = std::max(n, dec.stream_frames());
          frames += n;
          decoded += dec.decoded_frames();
          if (dec.info().decoder == "nvdec") on_gpu += n;
        } catch (const MediaError& e) {
          ++failed;
          std::fprintf(stderr, "%s: %s\n", files[i].c_str(), e.what());
        }
      }
    });
  pool.clear();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "decode-only %s: %lld frames (%lld on NVDEC, %lld decoded at %g s per hash) from %zu files "
      "in "
      "%.2f s = %.0f frames/s (%d threads, %lld failed)\n",
      argv[1], static_cast<long long>(frames.load()), static_cast<long long>(on_gpu.load()),
      static_cast<long long>(decoded.load()), seconds_per_hash, files.size(), s,
      static_cast<double>(frames.load()) / s, threads, static_cast<long long>(failed.load()));
  return failed.load() == 0 ? 0 : 2;
}
