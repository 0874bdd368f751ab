// Matching hash results against loaded lists, with the reference's rules:
// PDQ within --threshold (default 31) when both sides have quality >=
// --min-quality (50); vPDQ videos by the reference's two percentages; MD5 and
// SHA-1/SHA-256 exactly. Results gain a "matches" array (docs/output.md),
// each hit carrying what its list says about the entry (id, quality,
// collaboration, category, tags).
#pragma once

#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "worker/matching/hash_lists.h"
#include "worker/media/media_result.h"

namespace frameprint {

struct MatchRules {
  int threshold = 31;
  int min_quality = 50;
  double video_match_pct = 80;  // compared video's frames matched
  double query_match_pct = 0;   // query video's frames matched
  bool unique_frames = false;   // count repeated frame hashes once (see VpdqRules)
};

// What is matched: the parts of a result the lists can hit.
struct MatchQuery {
  bool video = false;
  std::string md5, sha1, sha256;
  struct Frame {
    int64_t index = 0;
    double ts = 0;
    int quality = 0;
    Hash256 pdq;
    std::vector<Hash256> variants;  // the hash, then any dihedral hashes
  };
  std::vector<Frame> frames;

  static MatchQuery from_result(const MediaResult& r);
  // nullopt for results without hashes (errors) or that are not readable.
  // Every field that is present but cannot be used (a quality that is not
  // an integer 0..100, a malformed hash or digest, ...) is skipped and
  // named in `problems`: nothing is matched as if it were absent or zero.
  static std::optional<MatchQuery> from_json(const nlohmann::json& r,
                                             std::vector<std::string>* problems = nullptr);
};

class Matcher {
 public:
  Matcher(HashLists lists, MatchRules rules);

  nlohmann::ordered_json matches(const MatchQuery& q) const;
  // Adds "matches" to a result object that has hashes (others unchanged),
  // and an "unmatched_fields" warning naming what could not be used.
  // Returns how many fields that was.
  size_t annotate(nlohmann::ordered_json& result) const;

  const MatchRules& rules() const { return rules_; }
  // What each --list held when loaded.
  const std::vector<ListStats>& stats() const { return lists_.stats; }

 private:
  void match_digests(const MatchQuery& q, nlohmann::ordered_json& out) const;
  void match_pdq(const MatchQuery& q, nlohmann::ordered_json& out) const;
  void match_vpdq(const MatchQuery& q, nlohmann::ordered_json& out) const;

  HashLists lists_;
  MatchRules rules_;
};

}  // namespace frameprint
