// The inputs of `hash` and `submit`: PATHs given on the command line and
// read from --files-from (one per line, or NUL-separated with -0), files as
// given, directories recursively (sorted, so runs are reproducible), and
// "-" for one file's bytes on standard input.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <istream>
#include <string>
#include <vector>

namespace frameprint::cli {

struct InputFile {
  std::filesystem::path file;  // what to open
  std::string display;         // the path as the user gave it (or under a directory they gave)
  std::string problem;         // non-empty: cannot be read (reported as io_error)
  bool from_stdin = false;     // "-": the bytes come from standard input
  bool url = false;            // `display` is a URL the worker fetches (submit --urls-from)
};

std::vector<InputFile> expand_inputs(const std::vector<std::string>& paths);

struct InputArgs {
  std::vector<std::string> paths;
  std::string files_from;  // "-": standard input
  bool null_separated = false;
};

// PATHs (positional), --files-from FILE|- and -0/--null.
void add_input_options(CLI::App& cmd, InputArgs& args);

// Every input, command-line paths first. Throws std::runtime_error for a
// usage error: no input at all, "-" more than once or beside
// --files-from -, an unreadable --files-from or an entry in it that is not
// a path (over PATH_MAX bytes, or holding NUL when newline-separated).
std::vector<InputFile> gather_inputs(const InputArgs& args);

// The paths in a --files-from list: one per line (a CR before the LF is
// dropped) or NUL-separated; empty entries are skipped. `name` is used in
// errors ("name:N: ...").
std::vector<std::string> read_path_list(std::istream& in, const std::string& name,
                                        bool null_separated);

}  // namespace frameprint::cli
