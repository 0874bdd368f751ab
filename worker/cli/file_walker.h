// Expands command-line PATHs into the files to hash: files as given,
// directories recursively (sorted, so runs are reproducible).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace frameprint::cli {

struct InputFile {
  std::filesystem::path file;  // what to open
  std::string display;         // the path as the user gave it (or under a directory they gave)
  std::string problem;         // non-empty: cannot be read (reported as io_error)
};

std::vector<InputFile> expand_inputs(const std::vector<std::string>& paths);

}  // namespace frameprint::cli
