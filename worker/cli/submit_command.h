// `frameprint submit`: the queue producer. Sends files (or their paths) as
// jobs to a broker and writes one JSON result per input.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace frameprint::cli {

std::function<int()> add_submit_command(CLI::App& app);

}  // namespace frameprint::cli
