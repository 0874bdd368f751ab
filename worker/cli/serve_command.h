// `frameprint serve`: an HTTP API modelled on Hasher-Matcher-Actioner's
// (worker/serve/): hashing (here, or through the broker) and lookups in
// the loaded lists, reloaded on SIGHUP.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace frameprint::cli {

std::function<int()> add_serve_command(CLI::App& app);

}  // namespace frameprint::cli
