#include "worker/matching/match_options.h"

#include <spdlog/spdlog.h>

namespace frameprint {

std::shared_ptr<const Matcher> load_matcher(const MatchOptions& o) {
  if (o.lists.empty()) return nullptr;
  std::vector<ListSpec> specs;
  for (const auto& l : o.lists) specs.push_back(parse_list_spec(l));
  HashLists lists = HashLists::load(specs);
  if (o.cuda_device >= 0)
    for (const auto& problem : lists.use_gpu(o.cuda_device)) spdlog::warn("{}", problem);
  return std::make_shared<const Matcher>(std::move(lists), o.rules);
}

}  // namespace frameprint
