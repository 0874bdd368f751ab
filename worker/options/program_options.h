// Command-line flags that more than one program takes, defined once so that
// `frameprint hash`, `frameprint submit` and `frameprint-worker` spell and
// check them alike.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "worker/matching/match_options.h"
#include "worker/media/media_hasher.h"

namespace frameprint::options {

// --seconds-per-hash, --dihedral, --no-exif-orientation, --exact,
// --no-autorotate, --max-pixels, --max-frames, --max-seconds.
void add_hashing_options(CLI::App& cmd, HashOptions& options);

// --list (repeatable), --threshold, --min-quality, --video-match-pct,
// --query-match-pct, --unique-frames.
void add_match_options(CLI::App& cmd, MatchOptions& options);

// --device auto|cpu|cuda|cuda:N.
void add_device_option(CLI::App& cmd, std::string& device);

}  // namespace frameprint::options
