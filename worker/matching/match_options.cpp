#include "worker/matching/match_options.h"

#include <spdlog/spdlog.h>

namespace frameprint {

HashLists load_lists(const MatchOptions& o) {
  std::vector<ListSpec> specs;
  for (const auto& l : o.lists) specs.push_back(parse_list_spec(l));
  ListLoadOptions load;
  load.limits.max_file_bytes = o.max_list_bytes;
  load.min_quality = o.rules.min_quality;
  load.allow_empty = o.allow_empty_list;
  HashLists lists = HashLists::load(specs, load);
  for (const auto& s : lists.stats) spdlog::info("{}", s.summary(o.rules.min_quality));
  return lists;
}

MatchRules resolve_rules(const MatchOptions& o) {
  MatchRules r = o.rules;
  const bool frame_flags = o.video_match_pct || o.query_match_pct || o.unique_frames;
  const std::string rule = o.vpdq_rule.value_or(frame_flags ? "frames" : "time");
  if (rule == "pytx") {
    r = pytx_rules(r);
    r.threshold = o.rules.threshold;
    r.min_quality = o.rules.min_quality;
  } else if (rule == "frames") {
    r.vpdq_rule = VpdqRule::kFrames;
  } else if (rule == "time") {
    r.vpdq_rule = VpdqRule::kTime;
  } else {
    throw std::invalid_argument("--vpdq-rule " + rule + ": expected time, pytx or frames");
  }
  if (o.video_match_pct) r.video_match_pct = *o.video_match_pct;
  if (o.query_match_pct) r.query_match_pct = *o.query_match_pct;
  if (o.unique_frames) r.unique_frames = true;
  return r;
}

std::shared_ptr<const Matcher> load_matcher(const MatchOptions& o) {
  if (o.lists.empty()) return nullptr;
  const MatchRules rules = resolve_rules(o);
  HashLists lists = load_lists(o);
  if (o.cuda_device >= 0)
    for (const auto& problem : lists.use_gpu(o.cuda_device)) spdlog::warn("{}", problem);
  return std::make_shared<const Matcher>(std::move(lists), rules);
}

}  // namespace frameprint
