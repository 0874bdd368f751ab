// Fuzz target: the hash-list parsers (worker/matching/hash_lists.h). The
// first byte picks the list type (pdq, vpdq, md5, sha256), the rest is the
// list's text, parsed from memory by HashLists::parse (the code load()
// runs on each file). A list either loads whole or throws ListError; a
// loaded list is consistent, and matching its own entries finds it.
#include <sstream>
#include <string>

#include "ipc/common/json_text.h"
#include "tests/fuzz/fuzz_targets.h"
#include "worker/matching/hash_lists.h"
#include "worker/matching/matcher.h"

namespace frameprint::fuzz {

namespace {

bool lower_hex(const std::string& s, size_t len) {
  return s.size() == len && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// Matches a query made of the list's own first entries; returns how many
// matches were reported.
size_t self_matches(HashLists lists, const MatchQuery& q) {
  const Matcher matcher(std::move(lists), MatchRules{});
  const auto out = matcher.matches(q);
  FUZZ_CHECK(out.is_array());
  (void)json_text(out);  // as results are written
  return out.size();
}

MatchQuery::Frame query_frame(int64_t index, const Hash256& h, int quality, double ts) {
  MatchQuery::Frame f;
  f.index = index;
  f.ts = ts;
  f.quality = quality;
  f.pdq = h;
  f.variants.push_back(h);
  return f;
}

void check_pdq(HashLists lists) {
  FUZZ_CHECK(lists.pdq.size() == 1 && lists.vpdq.empty() && lists.digests.empty());
  const PdqList& l = lists.pdq.front();
  FUZZ_CHECK(l.ids.size() == l.index.size());
  if (l.index.size() == 0) return;
  MatchQuery q;
  q.frames.push_back(query_frame(0, l.index.hashes().front(), 100, 0));
  FUZZ_CHECK(self_matches(std::move(lists), q) >= 1);
}

void check_vpdq(HashLists lists) {
  FUZZ_CHECK(lists.vpdq.size() == 1 && lists.pdq.empty() && lists.digests.empty());
  const VpdqList& l = lists.vpdq.front();
  FUZZ_CHECK(l.videos.size() == 1);
  const VpdqVideo& v = l.videos.front();
  FUZZ_CHECK(l.frame_owner.size() == v.frames.size() && l.frames.size() == v.frames.size());
  MatchQuery q;
  q.video = true;
  bool any_good = false;
  for (size_t i = 0; i < v.frames.size() && i < 64; ++i) {
    const auto& f = v.frames[i];
    FUZZ_CHECK(f.quality >= 0 && f.quality <= 100);
    any_good |= f.quality >= MatchRules{}.min_quality;
    q.frames.push_back(query_frame(static_cast<int64_t>(i), f.hash, f.quality, f.ts));
  }
  // The video against itself: every kept frame matches, 100% both ways.
  const bool whole = v.frames.size() <= 64;
  const size_t n = self_matches(std::move(lists), q);
  if (whole && any_good) FUZZ_CHECK(n >= 1);
}

void check_digests(HashLists lists, ListType type) {
  FUZZ_CHECK(lists.digests.size() == 1 && lists.pdq.empty() && lists.vpdq.empty());
  const DigestList& l = lists.digests.front();
  FUZZ_CHECK(l.type == type);
  const size_t len = type == ListType::kMd5 ? 32 : 64;
  for (const auto& [digest, id] : l.ids) FUZZ_CHECK(lower_hex(digest, len));
  if (l.ids.empty()) return;
  MatchQuery q;
  (type == ListType::kMd5 ? q.md5 : q.sha256) = l.ids.begin()->first;
  FUZZ_CHECK(self_matches(std::move(lists), q) >= 1);
}

}  // namespace

void hash_lists(Input input) {
  ByteReader in(input);
  const auto type = static_cast<ListType>(in.byte() % 4);
  std::istringstream text{std::string(in.text(in.left()))};
  const ListSpec spec{type, "fuzz/list.txt", "list"};
  HashLists lists;
  try {
    lists = HashLists::parse(spec, text);
  } catch (const ListError&) {
    return;
  }
  switch (type) {
    case ListType::kPdq: check_pdq(std::move(lists)); break;
    case ListType::kVpdq: check_vpdq(std::move(lists)); break;
    case ListType::kMd5:
    case ListType::kSha256: check_digests(std::move(lists), type); break;
  }
}

}  // namespace frameprint::fuzz

FRAMEPRINT_FUZZ_ENTRY(frameprint::fuzz::hash_lists)
