// The lists and rules a program matches with (--list TYPE:PATH, ...), and
// loading them into a matcher.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "worker/matching/matcher.h"

namespace frameprint {

struct MatchOptions {
  std::vector<std::string> lists;  // TYPE:PATH
  MatchRules rules;
};

// nullptr when no list was given. Throws ListError / std::invalid_argument.
std::shared_ptr<const Matcher> load_matcher(const MatchOptions& options);

}  // namespace frameprint
