// Replays every input kept for a fuzz target through the target's body, in
// the regular build: its seeds (tests/fuzz/seeds/<target>/) and the inputs
// that once broke it (tests/fuzz/regressions/<target>/). A crash or a broken
// invariant (an abort naming it) fails the test; the last "replay" line
// printed names the input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_targets.h"

namespace frameprint::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> kept_inputs(std::string_view target) {
  std::vector<fs::path> files;
  for (const char* kind : {"seeds", "regressions"}) {
    const fs::path dir = fs::path(FRAMEPRINT_FUZZ_DIR) / kind / target;
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class KeptInputs : public ::testing::TestWithParam<Target> {
 protected:
  static void SetUpTestSuite() { quiet_logs(); }
};

TEST_P(KeptInputs, ReplayWithoutCrashOrBrokenInvariant) {
  const Target& target = GetParam();
  const auto files = kept_inputs(target.name);
  ASSERT_FALSE(files.empty()) << "no seeds or regressions for " << target.name;
  for (const auto& file : files) {
    std::printf("[ replay   ] %s\n", file.c_str());
    std::fflush(stdout);
    std::ifstream in(file, std::ios::binary);
    const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                     std::istreambuf_iterator<char>()};
    target.run(bytes);
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, KeptInputs, ::testing::ValuesIn(kTargets),
                         [](const ::testing::TestParamInfo<Target>& p) {
                           return std::string(p.param.name);
                         });

}  // namespace
}  // namespace frameprint::fuzz
