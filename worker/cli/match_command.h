// `frameprint match` and the --list options shared with `hash` and the
// worker.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "worker/matcher.h"

namespace frameprint::cli {

struct MatchOptions {
  std::vector<std::string> lists;  // TYPE:PATH
  MatchRules rules;
};

// --list (repeatable), --threshold, --min-quality, --video-match-pct,
// --query-match-pct, --unique-frames.
void add_match_options(CLI::App& cmd, MatchOptions& options);

// nullptr when no list was given. Throws ListError / std::invalid_argument.
std::shared_ptr<const Matcher> load_matcher(const MatchOptions& options);

std::function<int()> add_match_command(CLI::App& app);

}  // namespace frameprint::cli
