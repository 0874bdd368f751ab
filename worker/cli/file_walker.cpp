#include "worker/cli/file_walker.h"

#include <algorithm>
#include <climits>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <system_error>

namespace frameprint::cli {

namespace fs = std::filesystem;

namespace {

std::string kind_of(const fs::file_status& st) {
  switch (st.type()) {
    case fs::file_type::fifo: return "a FIFO";
    case fs::file_type::socket: return "a socket";
    case fs::file_type::block: return "a block device";
    case fs::file_type::character: return "a character device";
    default: return "not a regular file";
  }
}

bool within(const fs::path& p, const fs::path& root) {
  const auto [r, q] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
  return r == root.end();
}

constexpr int kMaxDepth = 256;

// Every entry below `dir` (shown to the user as `shown`), sorted by name:
// regular files, and links to regular files inside `root`, become inputs
// under their own names; everything passed over becomes an error entry, so
// that each one is accounted for. Links to directories are not followed
// (no loops), and nothing but a regular file is ever opened.
void walk(const fs::path& dir, const std::string& shown, const fs::path& root, int depth,
          std::vector<InputFile>& out) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    out.push_back({dir, shown, "cannot list directory: " + ec.message()});
    return;
  }
  std::vector<fs::path> names;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) {
      out.push_back({dir, shown, "error while listing directory: " + ec.message()});
      break;
    }
    names.push_back(it->path().filename());
  }
  std::sort(names.begin(), names.end());
  for (const fs::path& name : names) {
    const fs::path p = dir / name;
    const std::string display =
        shown + (shown.empty() || shown.back() == '/' ? "" : "/") + name.string();
    const fs::file_status own = fs::symlink_status(p, ec);
    if (ec) {
      out.push_back({p, display, "cannot inspect: " + ec.message()});
      continue;
    }
    if (fs::is_symlink(own)) {
      const fs::file_status target = fs::status(p, ec);
      if (ec || !fs::exists(target)) {
        out.push_back({p, display, "dangling symbolic link"});
      } else if (fs::is_directory(target)) {
        out.push_back({p, display, "symbolic link to a directory (not followed)"});
      } else if (!fs::is_regular_file(target)) {
        out.push_back({p, display, "symbolic link to " + kind_of(target) + " (not read)"});
      } else if (const fs::path real = fs::canonical(p, ec); ec || !within(real, root)) {
        out.push_back(
            {p, display, "symbolic link to a file outside " + root.string() + " (not followed)"});
      } else {
        out.push_back({p, display, ""});
      }
    } else if (fs::is_directory(own)) {
      if (depth >= kMaxDepth)
        out.push_back(
            {p, display,
             "directories nested deeper than " + std::to_string(kMaxDepth) + " (not walked)"});
      else walk(p, display, root, depth + 1, out);
    } else if (fs::is_regular_file(own)) {
      out.push_back({p, display, ""});
    } else {
      out.push_back({p, display, kind_of(own) + " (not read)"});
    }
  }
}

}  // namespace

std::vector<InputFile> expand_inputs(const std::vector<std::string>& paths) {
  std::vector<InputFile> out;
  for (const std::string& given : paths) {
    if (given == "-") {
      out.push_back({"", "-", "", true});
      continue;
    }
    std::error_code ec;
    const fs::file_status st = fs::status(given, ec);  // a path given by the user is followed
    if (ec || !fs::exists(st)) {
      const bool dangling = fs::is_symlink(fs::symlink_status(given, ec));
      out.push_back(
          {given, given, dangling ? "dangling symbolic link" : "no such file or directory"});
    } else if (fs::is_directory(st)) {
      const fs::path root = fs::canonical(given, ec);
      walk(given, given, ec ? fs::path(given) : root, 0, out);
    } else if (fs::is_regular_file(st)) {
      out.push_back({given, given, ""});
    } else {
      out.push_back({given, given, kind_of(st) + " (not read)"});
    }
  }
  return out;
}

void add_input_options(CLI::App& cmd, InputArgs& args) {
  cmd.add_option(
      "paths", args.paths,
      "Files or directories (searched recursively); - reads one file's bytes from standard input");
  cmd.add_option("--files-from", args.files_from,
                 "Also hash the paths listed in this file (one per line), or - for standard input");
  cmd.add_flag("-0,--null", args.null_separated,
               "--files-from entries are separated by NUL bytes, not lines");
}

std::vector<std::string> read_path_list(std::istream& in, const std::string& name,
                                        bool null_separated) {
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
        throw std::runtime_error(name + ":" + std::to_string(number) +
                                 ": longer than a path may be (" + std::to_string(PATH_MAX) +
                                 " bytes)");
      entry += c;
    }
    if (in.bad()) throw std::runtime_error(name + ": read error");
    if (!null_separated && !entry.empty() && entry.back() == '\r') entry.pop_back();
    if (entry.find('\0') != std::string::npos)
      throw std::runtime_error(name + ":" + std::to_string(number) +
                               ": holds a NUL byte (NUL-separated lists need -0)");
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
        throw std::runtime_error(
            "standard input cannot hold both a file (-) and the --files-from list");
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
  std::vector<InputFile> out = expand_inputs(std::vector<std::string>(
      paths.begin(), paths.begin() + static_cast<std::ptrdiff_t>(args.paths.size())));
  std::vector<std::string> listed(paths.begin() + static_cast<std::ptrdiff_t>(args.paths.size()),
                                  paths.end());
  for (auto& p : listed)
    if (p == "-") p = "./-";
  for (auto& in : expand_inputs(listed)) out.push_back(std::move(in));
  return out;
}

}  // namespace frameprint::cli
