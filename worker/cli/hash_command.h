// `frameprint hash`: hash files and directories locally.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace frameprint::cli {

// Adds the subcommand; the returned function runs it and gives the exit code
// (0 all hashed, 2 some failed, 1 usage error).
std::function<int()> add_hash_command(CLI::App& app);

}  // namespace frameprint::cli
