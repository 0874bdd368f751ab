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

std::shared_ptr<const Matcher> load_matcher(const MatchOptions& o) {
  if (o.lists.empty()) return nullptr;
  HashLists lists = load_lists(o);
  if (o.cuda_device >= 0)
    for (const auto& problem : lists.use_gpu(o.cuda_device)) spdlog::warn("{}", problem);
  return std::make_shared<const Matcher>(std::move(lists), o.rules);
}

}  // namespace frameprint
