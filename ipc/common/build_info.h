// What a program says for --version: the project version (from CMake), the
// git revision it was built from (taken at build time; "unknown" outside a
// git checkout), whether the CUDA backend is in, and lines the program adds
// about the libraries it links (FFmpeg, OpenCV), which this room does not
// include.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace frameprint {

struct BuildInfo {
  std::string_view version;
  std::string_view revision;
  bool cuda;
};
BuildInfo build_info();

// "PROGRAM VERSION\nrevision: ...\ncuda: on|off\n" then each extra line.
std::string version_text(std::string_view program,
                         const std::vector<std::string>& extra_lines = {});

}  // namespace frameprint
