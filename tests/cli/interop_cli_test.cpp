// frameprint beside the hash-sharing ecosystem's tools, as a user runs it:
// --version on every program.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "tests/support/media_writer.h"
#include "tests/support/run_process.h"
#include "tests/support/temp_dir.h"

namespace frameprint {
namespace {

using nlohmann::json;

std::vector<std::string> text_lines(const std::string& out) {
  std::vector<std::string> v;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) v.push_back(line);
  return v;
}

TEST(InteropCli, EveryProgramSaysItsVersion) {
  for (const char* program : {FRAMEPRINT_CLI, FRAMEPRINT_WORKER, FRAMEPRINT_BROKER}) {
    const auto r = testing::run_process({program, "--version"}, 60);
    ASSERT_EQ(r.exit_code, 0) << program << r.err;
    const auto lines = text_lines(r.out);
    ASSERT_GE(lines.size(), 3u) << r.out;
    const std::string name = std::filesystem::path(program).filename().string();
    EXPECT_EQ(lines[0], name + " " + FRAMEPRINT_PROJECT_VERSION);
    EXPECT_EQ(lines[1].rfind("revision: ", 0), 0u);
    EXPECT_GT(lines[1].size(), std::string("revision: ").size());
    EXPECT_TRUE(lines[2] == "cuda: on" || lines[2] == "cuda: off") << lines[2];
    const bool decodes = name != "frameprint-broker";
    for (const char* lib : {"ffmpeg: ", "libavcodec: ", "libavformat: ", "opencv: "}) {
      const bool found = r.out.find(std::string("\n") + lib) != std::string::npos;
      EXPECT_EQ(found, decodes) << name << " " << lib;
    }
  }
}

}  // namespace
}  // namespace frameprint
