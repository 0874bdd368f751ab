#include "worker/matching/match_options.h"

namespace frameprint {

std::shared_ptr<const Matcher> load_matcher(const MatchOptions& o) {
  if (o.lists.empty()) return nullptr;
  std::vector<ListSpec> specs;
  for (const auto& l : o.lists) specs.push_back(parse_list_spec(l));
  return std::make_shared<const Matcher>(HashLists::load(specs), o.rules);
}

}  // namespace frameprint
