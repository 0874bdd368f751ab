// `frameprint keygen PATH`: a CURVE key pair for the pool, as PATH.pub and
// PATH.key (mode 0600).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace frameprint::cli {

std::function<int()> add_keygen_command(CLI::App& app);

}  // namespace frameprint::cli
