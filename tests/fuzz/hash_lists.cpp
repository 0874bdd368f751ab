// Fuzz target: the hash-list parsers (worker/matching/hash_lists.h). The
// first byte picks the list type and format, the rest is the list's text,
// written to a file in this process's scratch directory and loaded by
// HashLists::load, as a user's list would be. A list either loads whole or
// is refused (ListError, std::invalid_argument); a loaded list serves a
// matcher, which must answer a query made of the list's own first hash.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "ipc/common/json_text.h"
#include "tests/fuzz/fuzz_targets.h"
#include "worker/matching/hash_lists.h"
#include "worker/matching/matcher.h"

namespace frameprint::fuzz {

namespace {

const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() /
             ("frameprint-fuzz-lists-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

}  // namespace

void hash_lists(Input input) {
  ByteReader in(input);
  static constexpr const char* kSpecs[] = {"pdq", "vpdq", "md5", "sha1", "sha256", "auto"};
  const std::string type = kSpecs[in.byte() % 6];
  const std::string text(in.text(in.left()));
  const auto file = scratch() / "list.txt";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  HashLists lists;
  try {
    ListLoadOptions options;
    options.allow_empty = true;
    lists = HashLists::load({parse_list_spec(type + ":" + file.string())}, options);
  } catch (const ListError&) {
    return;
  } catch (const std::invalid_argument&) {
    return;
  }
  MatchQuery q;
  if (!lists.pdq.empty() && lists.pdq.front().index.size() > 0) {
    q.frames.push_back(
        MatchQuery::Frame::plain(0, 0.0, 100, lists.pdq.front().index.hashes().front()));
  }
  const bool expect_hit = !q.frames.empty();
  const Matcher matcher(std::move(lists), MatchRules{});
  const auto out = matcher.matches(q);
  FUZZ_CHECK(out.is_array());
  (void)json_text(out);
  if (expect_hit) FUZZ_CHECK(!out.empty());
}

}  // namespace frameprint::fuzz

FRAMEPRINT_FUZZ_ENTRY(frameprint::fuzz::hash_lists)
