// `frameprint match`: match hash results (JSON lines) against hash lists.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace frameprint::cli {

std::function<int()> add_match_command(CLI::App& app);

}  // namespace frameprint::cli
