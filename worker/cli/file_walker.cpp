#include "worker/cli/file_walker.h"

#include <climits>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <system_error>

namespace frameprint::cli {

namespace fs = std::filesystem;

std::vector<InputFile> expand_inputs(const std::vector<std::string>& paths) {
  std::vector<InputFile> out;
  for (const std::string& given : paths) {
    if (given == "-") {
      out.push_back({"", "-", "", true});
      continue;
    }
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

void add_input_options(CLI::App& cmd, InputArgs& args) {
  cmd.add_option("paths", args.paths,
                 "Files or directories (searched recursively); - reads one file's bytes from standard input");
  cmd.add_option("--files-from", args.files_from,
                 "Also hash the paths listed in this file (one per line), or - for standard input");
  cmd.add_flag("-0,--null", args.null_separated, "--files-from entries are separated by NUL bytes, not lines");
}

std::vector<std::string> read_path_list(std::istream& in, const std::string& name, bool null_separated) {
  std::vector<std::string> out;
  const char sep = null_separated ? '\0' : '\n';
  std::string entry;
  size_t number = 0;
  for (;;) {
    entry.clear();
    ++number;
    bool ended = false;  // by a separator
    for (char c; in.get(c);) {
      if (c == sep) {
        ended = true;
        break;
      }
      if (entry.size() >= PATH_MAX)
        throw std::runtime_error(name + ":" + std::to_string(number) + ": longer than a path may be (" +
                                 std::to_string(PATH_MAX) + " bytes)");
      entry += c;
    }
    if (in.bad()) throw std::runtime_error(name + ": read error");
    if (!null_separated && !entry.empty() && entry.back() == '\r') entry.pop_back();
    if (entry.find('\0') != std::string::npos)
      throw std::runtime_error(name + ":" + std::to_string(number) + ": holds a NUL byte (NUL-separated lists need -0)");
    if (!entry.empty()) out.push_back(entry);
    if (!ended) return out;
  }
}

std::vector<InputFile> gather_inputs(const InputArgs& args) {
  std::vector<std::string> paths = args.paths;
  if (std::count(paths.begin(), paths.end(), "-") > 1)
    throw std::runtime_error("- (standard input) may be given once");
  if (!args.files_from.empty()) {
    if (args.files_from == "-") {
      if (std::count(paths.begin(), paths.end(), "-"))
        throw std::runtime_error("standard input cannot hold both a file (-) and the --files-from list");
      auto more = read_path_list(std::cin, "standard input", args.null_separated);
      paths.insert(paths.end(), more.begin(), more.end());
    } else {
      std::ifstream f(args.files_from, std::ios::binary);
      if (!f) throw std::runtime_error("cannot read --files-from " + args.files_from);
      auto more = read_path_list(f, args.files_from, args.null_separated);
      paths.insert(paths.end(), more.begin(), more.end());
    }
  }
  if (paths.empty()) throw std::runtime_error("no input: give PATHs, - or --files-from");
  // Entries of a --files-from list are paths, even one spelled "-".
  std::vector<InputFile> out = expand_inputs(std::vector<std::string>(paths.begin(), paths.begin() + static_cast<std::ptrdiff_t>(args.paths.size())));
  std::vector<std::string> listed(paths.begin() + static_cast<std::ptrdiff_t>(args.paths.size()), paths.end());
  for (auto& p : listed)
    if (p == "-") p = "./-";
  for (auto& in : expand_inputs(listed)) out.push_back(std::move(in));
  return out;
}

}  // namespace frameprint::cli
