// Matching hash results against loaded lists, with the reference's rules:
// PDQ within --threshold (default 31) when both sides have quality >=
// --min-quality (50); vPDQ videos by the reference's two percentages; MD5 and
// SHA-1/SHA-256 exactly. Results gain a "matches" array (docs/output.md),
// each hit carrying what its list says about the entry (id, quality,
// collaboration, category, tags).
#pragma once

#include <memory>
#include <optional>
#include <span>

#include <nlohmann/json.hpp>

#include "worker/matching/hash_lists.h"
#include "worker/media/media_result.h"

namespace frameprint {

// How a query video is judged against a listed video.
enum class VpdqRule {
  // By time (the default): the share of each video's duration whose frames
  // found a counterpart (kernels/vpdq_align.h), whatever rate either side
  // was hashed at. A match when either share reaches its threshold; it is
  // `full` when both videos are covered (80% each, or the thresholds if
  // higher), `partial` when the query is the more covered side (a trimmed
  // copy: the query is a piece of the listed video), `contains` when the
  // listed video is (it is inside a longer query).
  kTime,
  // By frame counts (--vpdq-rule pytx or frames): video_match_pct of the
  // listed video's frames and query_match_pct of the query's frames have a
  // frame within the threshold on the other side.
  kFrames,
};

struct MatchRules {
  int threshold = 31;
  int min_quality = 50;
  VpdqRule vpdq_rule = VpdqRule::kTime;
  // kTime: shares of duration (percent) and the distance accepted for
  // frames in line with matched neighbours.
  double query_coverage_pct = 50;
  double listed_coverage_pct = 50;
  int relaxed_threshold = 44;
  // Also search the printed frames to relaxed_threshold, for copies with no
  // frame within the threshold at all (an overlay on every frame); pairs so
  // found count only in runs of three. Several times the search cost on
  // large lists (benchmarks/RESULTS.md).
  bool loose_search = false;
  // kFrames
  double video_match_pct = 80;  // compared video's frames matched
  double query_match_pct = 0;   // query video's frames matched
  bool unique_frames = false;   // count repeated frame hashes once (see VpdqRules)
  // kTime: most frame pairs one comparison may hold (0: no bound); past it
  // judge_video() throws std::length_error (pdq::AlignRules::max_pairs).
  size_t max_pairs = 0;
};

// The rules python-threatexchange (and so HMA) applies: unique frame
// hashes, quality >= 50, distance <= 31, >= 80% of the query's frames and
// >= 0% of the listed video's.
MatchRules pytx_rules(MatchRules base = {});

// What is matched: the parts of a result the lists can hit.
struct MatchQuery {
  bool video = false;
  std::string md5, sha1, sha256;
  struct Frame {
    int64_t index = 0;
    double ts = 0;
    int quality = 0;
    Hash256 pdq;
    // The hash (tag 0), then variants: dihedral hashes, the content
    // without borders (pdq::TaggedHash tags).
    std::vector<pdq::TaggedHash> variants;
    // One of the result's "frames" (not hashed for matching only).
    bool printed = true;

    // A frame with its hash alone.
    static Frame plain(int64_t index, double ts, int quality, const Hash256& hash);
  };
  std::vector<Frame> frames;  // in time order

  static MatchQuery from_result(const MediaResult& r);
  // nullopt for results without hashes (errors) or that are not readable.
  // Every field that is present but cannot be used (a quality that is not
  // an integer 0..100, a malformed hash or digest, ...) is skipped and
  // named in `problems`: nothing is matched as if it were absent or zero.
  static std::optional<MatchQuery> from_json(const nlohmann::json& r,
                                             std::vector<std::string>* problems = nullptr);
};

// One query video against one listed video under `rules`: the match
// object's fields (kind, percentages, segments) when it matches, nullopt
// otherwise. `pairs`: the strict frame pairs when the caller has them from
// an index, or nullopt to compare every frame with every frame.
struct VideoVerdict {
  bool match = false;
  std::string kind;  // full, partial, contains ("" when no match)
  double query_pct = 0;
  double compared_pct = 0;
  nlohmann::ordered_json fields;  // what a match object reports
};
VideoVerdict judge_video(const MatchQuery& query, std::span<const pdq::VpdqFrame> listed,
                         std::optional<std::vector<pdq::FramePair>> pairs, const MatchRules& rules);

class Matcher;

// A result as `frameprint hash` prints it: to_json() without the internal
// match_frames, with "matches" when `matcher` is given and there are hashes.
nlohmann::ordered_json result_json(const MediaResult& r, const Matcher* matcher);

class Matcher {
 public:
  Matcher(HashLists lists, MatchRules rules);

  nlohmann::ordered_json matches(const MatchQuery& q) const;
  // Adds "matches" to a result object that has hashes (others unchanged),
  // and an "unmatched_fields" warning naming what could not be used.
  // Matches the result already had are kept, first, but for those from a
  // list named as one of these: they are found again (so annotating twice
  // gives the same result).
  // Returns how many fields that was.
  size_t annotate(nlohmann::ordered_json& result) const;

  const MatchRules& rules() const { return rules_; }
  // What each --list held when loaded.
  const std::vector<ListStats>& stats() const { return lists_.stats; }

 private:
  void match_digests(const MatchQuery& q, nlohmann::ordered_json& out) const;
  void match_pdq(const MatchQuery& q, nlohmann::ordered_json& out) const;
  void match_vpdq(const MatchQuery& q, nlohmann::ordered_json& out) const;
  void match_vpdq_by_time(const MatchQuery& q, const VpdqList& list,
                          nlohmann::ordered_json& out) const;

  HashLists lists_;
  MatchRules rules_;
};

}  // namespace frameprint
