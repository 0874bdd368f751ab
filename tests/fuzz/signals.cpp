// Fuzz target: what `frameprint serve` reads from a client besides media
// (worker/serve/lookup_service.h): a signal of any type (parse_signal,
// then a lookup against a small list), and a /m/compare body. A signal
// either is refused (ApiError 400) or parses to what it says: a PDQ hash
// that prints back as the input's lower-case hex, a digest of its type's
// length, vPDQ frames within 0..100 quality. A compare body answers every
// type it names with [bool, object], or is refused with 400.
#include <cctype>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/fuzz/fuzz_targets.h"
#include "worker/matching/match_options.h"
#include "worker/serve/lookup_service.h"

namespace frameprint::fuzz {

namespace {

constexpr const char* kTypes[] = {"pdq", "vpdq", "md5", "sha1", "sha256", "video_md5"};

std::string lower_trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const serve::LookupService& service() {
  // One small list of every kind the lookups search, built once.
  static const auto s = [] {
    auto svc = std::make_unique<serve::LookupService>(true);
    HashLists lists;
    svc->replace(std::make_shared<const Matcher>(std::move(lists), MatchRules{}));
    return svc;
  }();
  return *s;
}

}  // namespace

void signals(Input input) {
  ByteReader in(input);
  const char* type = kTypes[in.byte() % std::size(kTypes)];
  const std::string_view text = in.text(in.left());
  try {
    const ListRow row = parse_signal(*list_type_from_name(type), text);
    const std::string t = type;
    if (t == "pdq") FUZZ_CHECK(row.pdq.to_hex() == lower_trimmed(text));
    if (t == "md5" || t == "video_md5") FUZZ_CHECK(row.digest.size() == 32);
    if (t == "sha1") FUZZ_CHECK(row.digest.size() == 40);
    if (t == "sha256") FUZZ_CHECK(row.digest.size() == 64);
    for (const auto& f : row.frames) FUZZ_CHECK(f.quality >= 0 && f.quality <= 100 && f.ts >= 0);
    if (t == "vpdq") FUZZ_CHECK(!row.frames.empty());
    (void)service().raw_lookup(type, text, true, std::nullopt);
  } catch (const std::invalid_argument&) {
  } catch (const serve::ApiError& e) {
    FUZZ_CHECK(e.status() == 400);
  }

  const nlohmann::json body = nlohmann::json::parse(text, nullptr, false);
  try {
    const auto out = serve::compare_signals(body, MatchRules{}, 2000);
    FUZZ_CHECK(out.size() == body.size());
    for (const auto& [name, verdict] : out.items())
      FUZZ_CHECK(verdict.is_array() && verdict.size() == 2 && verdict[0].is_boolean() &&
                 verdict[1].is_object());
  } catch (const serve::ApiError& e) {
    FUZZ_CHECK(e.status() == 400 || (e.status() == 413 && e.code() == "too_many_frames"));
  }
}

}  // namespace frameprint::fuzz

FRAMEPRINT_FUZZ_ENTRY(frameprint::fuzz::signals)
