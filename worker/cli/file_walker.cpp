#include "worker/cli/file_walker.h"

#include <algorithm>
#include <system_error>

namespace frameprint::cli {

namespace fs = std::filesystem;

std::vector<InputFile> expand_inputs(const std::vector<std::string>& paths) {
  std::vector<InputFile> out;
  for (const std::string& given : paths) {
    std::error_code ec;
    const fs::file_status st = fs::status(given, ec);
    if (ec || !fs::exists(st)) {
      out.push_back({given, given, "no such file or directory"});
      continue;
    }
    if (!fs::is_directory(st)) {
      out.push_back({given, given, ""});
      continue;
    }
    std::vector<InputFile> found;
    fs::recursive_directory_iterator it(given, fs::directory_options::skip_permission_denied, ec);
    if (ec) {
      out.push_back({given, given, "cannot list directory: " + ec.message()});
      continue;
    }
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      std::error_code fec;
      if (!it->is_regular_file(fec)) continue;
      const fs::path rel = fs::relative(it->path(), given, fec);
      found.push_back({it->path(), (fs::path(given) / (fec ? it->path().filename() : rel)).string(), ""});
    }
    if (ec) out.push_back({given, given, "error while listing directory: " + ec.message()});
    std::sort(found.begin(), found.end(),
              [](const InputFile& a, const InputFile& b) { return a.display < b.display; });
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

}  // namespace frameprint::cli
