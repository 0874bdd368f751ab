// `frameprint hash`: hash files and directories locally.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "worker/media_hasher.h"

namespace frameprint::cli {

// The hashing options shared by `hash` and (later) `submit`:
// --seconds-per-hash, --dihedral, --no-exif-orientation, --no-autorotate,
// --max-pixels, --max-frames, --max-seconds.
void add_hashing_options(CLI::App& cmd, HashOptions& options);

// Adds the subcommand; the returned function runs it and gives the exit code
// (0 all hashed, 2 some failed, 1 usage error).
std::function<int()> add_hash_command(CLI::App& app);

}  // namespace frameprint::cli
