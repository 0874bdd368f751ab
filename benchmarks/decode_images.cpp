// The yardstick for still-image hashing (benchmarks/stills_vs_decode.sh):
// decodes every regular file of a directory (sorted, not recursive) to
// full-resolution colour with cv::imdecode, one file after another in one
// thread, and does nothing else with the pixels.
//   frameprint_decode_images DIR
// Prints the number of files decoded; exits 1 when any failed.
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  cv::setNumThreads(0);  // no worker threads: everything on this one
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(argv[1]))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());

  int decoded = 0, failed = 0;
  for (const auto& f : files) {
    std::vector<uint8_t> bytes(static_cast<size_t>(std::filesystem::file_size(f)));
    std::ifstream in(f, std::ios::binary);
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8UC1,
                      const_cast<uint8_t*>(bytes.data()));
    const cv::Mat img = cv::imdecode(buf, cv::IMREAD_COLOR);
    if (img.empty()) {
      std::fprintf(stderr, "cannot decode %s\n", f.c_str());
      ++failed;
    } else {
      ++decoded;
    }
  }
  std::printf("%d files decoded\n", decoded);
  return failed == 0 ? 0 : 1;
}
