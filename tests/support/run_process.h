// Runs a program with a time limit and captures its output, for tests that
// exercise the real executables.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace frameprint::testing {

struct ProcessResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string out;
  std::string err;
};

// argv[0] is the program. Kills it after timeout_s seconds. Standard input
// is `stdin_file` when given, else /dev/null.
ProcessResult run_process(const std::vector<std::string>& argv, double timeout_s = 120,
                          const std::filesystem::path& stdin_file = {});

}  // namespace frameprint::testing
