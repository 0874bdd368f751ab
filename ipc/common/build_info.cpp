#include "ipc/common/build_info.h"

#include "frameprint_build_info.h"
#include "frameprint_revision.h"

namespace frameprint {

BuildInfo build_info() {
  return BuildInfo{FRAMEPRINT_VERSION, FRAMEPRINT_GIT_REVISION, FRAMEPRINT_WITH_CUDA != 0};
}

std::string version_text(std::string_view program, const std::vector<std::string>& extra_lines) {
  const BuildInfo b = build_info();
  std::string out = std::string(program) + " " + std::string(b.version) + "\n";
  out += "revision: " + std::string(b.revision) + "\n";
  out += std::string("cuda: ") + (b.cuda ? "on" : "off") + "\n";
  for (const auto& l : extra_lines) out += l + "\n";
  out.pop_back();  // CLI11 ends the text with its own newline
  return out;
}

}  // namespace frameprint
