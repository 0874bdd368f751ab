// The lists and rules a program matches with (--list SPEC, ...), and
// loading them into a matcher.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "worker/matching/matcher.h"

namespace frameprint {

struct MatchOptions {
  std::vector<std::string> lists;  // list specs (parse_list_spec)
  MatchRules rules;                // as resolved by resolve_rules() once the flags are read
  // --vpdq-rule time|pytx|frames; the frame-count flags as given (they
  // choose the frame-count rule when no rule is named).
  std::optional<std::string> vpdq_rule;
  std::optional<double> video_match_pct, query_match_pct;
  bool unique_frames = false;
  bool allow_empty_list = false;                          // --allow-empty-list
  uint64_t max_list_bytes = ListLimits{}.max_file_bytes;  // --max-list-bytes
  // >= 0: search the PDQ and vPDQ lists on this CUDA device (the one the
  // program hashes on); lists that cannot go there stay on the CPU.
  int cuda_device = -1;
};

// The rules the flags ask for (load_matcher calls it). Throws
// std::invalid_argument for an unknown rule.
MatchRules resolve_rules(const MatchOptions& options);

// Loads every list, logging one line about each (what it held, what was
// skipped). Throws ListError / std::invalid_argument.
HashLists load_lists(const MatchOptions& options);

// nullptr when no list was given. Throws ListError / std::invalid_argument.
std::shared_ptr<const Matcher> load_matcher(const MatchOptions& options);

}  // namespace frameprint
