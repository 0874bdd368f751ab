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
  // >= 0: search the PDQ and vPDQ lists on this CUDA device (the one the
  // program hashes on); lists that cannot go there stay on the CPU.
  int cuda_device = -1;
};

// nullptr when no list was given. Throws ListError / std::invalid_argument.
std::shared_ptr<const Matcher> load_matcher(const MatchOptions& options);

}  // namespace frameprint
