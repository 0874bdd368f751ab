#include "worker/matching/matcher.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "worker/media/media_result.h"

#include "ipc/common/json_text.h"
#include "worker/matching/list_reader.h"

namespace frameprint {

namespace {

double two_decimals(double v) { return std::round(v * 100.0) / 100.0; }

// A variant is kept once per tag.
void add_variant(MatchQuery::Frame& f, const Hash256& h, uint8_t tag, int quality) {
  for (const auto& v : f.variants)
    if (v.tag == tag) return;
  f.variants.push_back({h, tag, quality});
}

void sort_by_time(std::vector<MatchQuery::Frame>& frames) {
  std::stable_sort(
      frames.begin(), frames.end(),
      [](const MatchQuery::Frame& a, const MatchQuery::Frame& b) { return a.ts < b.ts; });
}

}  // namespace

MatchQuery::Frame MatchQuery::Frame::plain(int64_t index, double ts, int quality,
                                           const Hash256& hash) {
  Frame f;
  f.index = index;
  f.ts = ts;
  f.quality = quality;
  f.pdq = hash;
  f.variants.push_back({hash, 0, quality});
  return f;
}

MatchRules pytx_rules(MatchRules base) {
  base.vpdq_rule = VpdqRule::kFrames;
  base.threshold = 31;
  base.min_quality = 50;
  base.video_match_pct = 0;
  base.query_match_pct = 80;
  base.unique_frames = true;
  return base;
}

MatchQuery MatchQuery::from_result(const MediaResult& r) {
  MatchQuery q;
  q.video = r.kind == MediaKind::kVideo;
  q.md5 = r.md5;
  q.sha1 = r.sha1;
  q.sha256 = r.sha256;
  auto take = [&](const FrameHash& f, bool printed) {
    auto m = MatchQuery::Frame::plain(f.index, f.ts, f.quality, f.pdq);
    m.printed = printed;
    if (f.dihedral)
      for (int k = 1; k < pdq::kDihedralCount; ++k)
        add_variant(m, (*f.dihedral)[static_cast<size_t>(k)], static_cast<uint8_t>(k), f.quality);
    for (const auto& v : f.variants) add_variant(m, v.hash, v.tag, v.quality);
    q.frames.push_back(std::move(m));
  };
  for (const auto& f : r.frames) take(f, true);
  for (const auto& f : r.match_frames) take(f, false);
  sort_by_time(q.frames);
  return q;
}

namespace {
// Fields read defensively: a value of the wrong type counts as absent.
std::string text_field(const nlohmann::json& o, const char* key) {
  return o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : std::string();
}
template <typename T>
T number_field(const nlohmann::json& o, const char* key, T fallback) {
  return o.contains(key) && o[key].is_number() ? o[key].get<T>() : fallback;
}
}  // namespace

namespace {

std::string shown(const nlohmann::json& v) {
  std::string t = json_text(v);
  return t.size() > 40 ? t.substr(0, 40) + "..." : t;
}

// A digest field: absent is fine; anything but `len` hex digits is a problem.
std::string digest_field(const nlohmann::json& r, const char* key, size_t len,
                         std::vector<std::string>& problems) {
  if (!r.contains(key)) return {};
  const auto& v = r[key];
  if (v.is_string()) {
    std::string d = normalized_hex(v.get_ref<const std::string&>(), len, nullptr);
    if (!d.empty()) return d;
  }
  problems.push_back(std::string(key) + " " + shown(v) + " is not " + std::to_string(len) +
                     " hex digits");
  return {};
}

}  // namespace

std::optional<MatchQuery> MatchQuery::from_json(const nlohmann::json& r,
                                                std::vector<std::string>* problems_out) {
  std::vector<std::string> scratch;
  std::vector<std::string>& problems = problems_out ? *problems_out : scratch;
  if (!r.is_object()) {
    problems.push_back("not a JSON object");
    return std::nullopt;
  }
  // Results with hashes: ok ones, and errors that kept the frames hashed
  // before a limit stopped decoding ("partial"). Error results have none.
  const bool partial = r.contains("partial") && r["partial"] == true;
  const std::string status = text_field(r, "status");
  if (status != "ok" && !partial) {
    if (status != "error")
      problems.push_back("status " + shown(r.value("status", nlohmann::json())) +
                         " is neither \"ok\" nor \"error\"");
    return std::nullopt;
  }
  if (!r.contains("frames") || !r["frames"].is_array()) {
    problems.push_back("no \"frames\" array");
    return std::nullopt;
  }
  // A result hashed for matching carries every frame hashed, with its
  // variants, in "match_frames" (a superset of "frames").
  const bool dense = r.contains("match_frames") && r["match_frames"].is_array();
  std::set<int64_t> printed;
  if (dense)
    for (const auto& f : r["frames"])
      if (f.is_object() && f.contains("index") && f["index"].is_number_integer())
        printed.insert(f["index"].get<int64_t>());
  MatchQuery q;
  q.video = text_field(r, "kind") == "video";
  q.md5 = digest_field(r, "md5", 32, problems);
  q.sha1 = digest_field(r, "sha1", 40, problems);
  q.sha256 = digest_field(r, "sha256", 64, problems);
  size_t n = 0;
  for (const auto& f : dense ? r["match_frames"] : r["frames"]) {
    const std::string at = "frame " + std::to_string(n++) + ": ";
    if (!f.is_object()) {
      problems.push_back(at + "not an object");
      continue;
    }
    const auto h = f.contains("pdq") && f["pdq"].is_string()
                       ? Hash256::from_hex(f["pdq"].get<std::string>())
                       : std::nullopt;
    if (!h) {
      problems.push_back(at + "pdq " + shown(f.value("pdq", nlohmann::json())) +
                         " is not 64 hex digits");
      continue;
    }
    // A frame's quality decides whether it is compared at all: a value
    // that is not an integer 0..100 must not quietly become 0.
    const auto& qv = f.contains("quality") ? f["quality"] : nlohmann::json();
    if (!qv.is_number_integer() || qv.get<int64_t>() < 0 || qv.get<int64_t>() > 100) {
      problems.push_back(at + "quality " + shown(qv) + " is not an integer 0..100");
      continue;
    }
    if (f.contains("index") && !f["index"].is_number_integer())
      problems.push_back(at + "index " + shown(f["index"]) + " is not an integer");
    if (f.contains("ts") && !f["ts"].is_number())
      problems.push_back(at + "ts " + shown(f["ts"]) + " is not a number");
    auto m = MatchQuery::Frame::plain(number_field<int64_t>(f, "index", 0),
                                      number_field<double>(f, "ts", 0.0), qv.get<int>(), *h);
    if (dense) m.printed = printed.count(m.index) > 0;
    // The content without borders has its own quality.
    const int unpadded_quality =
        f.contains("unpadded_quality") && f["unpadded_quality"].is_number_integer()
            ? f["unpadded_quality"].get<int>()
            : m.quality;
    for (const char* key : {"dihedral", "variants"}) {
      if (!f.contains(key) || !f[key].is_object()) continue;
      for (const auto& [name, hex] : f[key].items()) {
        const auto v = hex.is_string() ? Hash256::from_hex(hex.get<std::string>()) : std::nullopt;
        const auto tag = variant_tag(name);
        if (v && tag)
          add_variant(m, *v, *tag, (*tag & pdq::kUnpaddedBit) ? unpadded_quality : m.quality);
        else
          problems.push_back(at + key + " " + name + " is not a known variant with 64 hex digits");
      }
    }
    q.frames.push_back(std::move(m));
  }
  sort_by_time(q.frames);
  return q;
}

Matcher::Matcher(HashLists lists, MatchRules rules) : lists_(std::move(lists)), rules_(rules) {}

namespace {

// One match object per list row kept for the entry: the list, the entry's
// id and the type first, then `fields`, then what the list carries.
void report(nlohmann::ordered_json& out, const std::string& list, std::string_view type,
            const ListedEntries& entries, uint32_t entry, const nlohmann::ordered_json& fields) {
  entries.each(entry, [&](const EntryInfo& info) {
    nlohmann::ordered_json m;
    m["list"] = list;
    // An entry its list names no id for is known by the list and line, so
    // that ids from several lists (a raw lookup gives ids alone) never clash.
    m["id"] = info.id_text(list);
    m["type"] = type;
    for (const auto& [k, v] : fields.items()) m[k] = v;
    if (info.quality >= 0) m["list_quality"] = info.quality;
    const EntryMeta& meta = entries.meta(info);
    if (!meta.collab.empty()) m["collab"] = meta.collab;
    if (!meta.category.empty()) m["category"] = meta.category;
    if (!meta.tags.empty()) m["tags"] = meta.tags;
    out.push_back(std::move(m));
  });
}

}  // namespace

void Matcher::match_digests(const MatchQuery& q, nlohmann::ordered_json& out) const {
  static const nlohmann::ordered_json kNoFields = nlohmann::ordered_json::object();
  for (const auto& list : lists_.digests) {
    const std::string& digest = list.type == ListType::kMd5    ? q.md5
                                : list.type == ListType::kSha1 ? q.sha1
                                                               : q.sha256;
    if (digest.empty()) continue;
    const auto it = list.index.find(digest);
    if (it != list.index.end())
      report(out, list.name, list_type_name(list.type), list.entries, it->second, kNoFields);
  }
}

namespace {

// Seconds to the millisecond, for output.
double milliseconds(double v) { return std::round(v * 1000.0) / 1000.0; }

// The hashes of a frame good enough to compare, and their tags.
struct Searchable {
  std::vector<Hash256> hashes;
  std::vector<uint8_t> tags;
};
Searchable searchable(const MatchQuery::Frame& f, int min_quality) {
  Searchable s;
  for (const auto& v : f.variants)
    if (v.quality >= min_quality) {
      s.hashes.push_back(v.hash);
      s.tags.push_back(v.tag);
    }
  return s;
}

int best_quality(const MatchQuery::Frame& f) {
  int q = f.quality;
  for (const auto& v : f.variants) q = std::max(q, v.quality);
  return q;
}

struct BestHit {
  int distance = 257;
  uint8_t tag = 0;
};

// The best distance per key over a frame's hash and its variants (ties go
// to the plain hash, then to the variant listed first); key_of(entry) maps
// an index entry to what is reported (the entry itself, or the video owning
// a frame), or nullopt to skip the entry.
template <typename KeyOf>
std::map<uint32_t, BestHit> best_hits(const pdq::HashSearch& index, const MatchQuery::Frame& f,
                                      int threshold, int min_quality, KeyOf&& key_of) {
  std::map<uint32_t, BestHit> best;
  std::vector<std::vector<pdq::HashHit>> variant_hits;
  const Searchable s = searchable(f, min_quality);
  index.search(s.hashes, threshold, variant_hits);  // one batch: the hash and its variants
  for (size_t v = 0; v < variant_hits.size(); ++v) {
    for (const auto& hit : variant_hits[v]) {
      const std::optional<uint32_t> key = key_of(hit.entry);
      if (!key) continue;
      BestHit& b = best[*key];
      if (hit.distance < b.distance) b = {hit.distance, s.tags[v]};
    }
  }
  return best;
}

nlohmann::ordered_json hit_fields(const BestHit& b, int64_t frame) {
  nlohmann::ordered_json j = {{"distance", b.distance}, {"frame", frame}};
  if (b.tag != 0) j["variant"] = variant_name(b.tag);
  return j;
}

std::vector<pdq::QueryFrame> query_frames(const MatchQuery& q) {
  std::vector<pdq::QueryFrame> out;
  for (const auto& f : q.frames) out.push_back({f.ts, best_quality(f), std::span(f.variants)});
  return out;
}

pdq::AlignRules align_rules(const MatchRules& r) {
  return {r.threshold, r.min_quality, r.relaxed_threshold, 3.0, r.max_pairs};
}

// The tag most pairs matched by.
uint8_t usual_tag(const std::vector<pdq::FramePair>& pairs) {
  std::map<uint8_t, int> n;
  for (const auto& p : pairs) ++n[p.tag];
  uint8_t best = 0;
  int most = 0;
  for (const auto& [t, c] : n)
    if (c > most) {
      most = c;
      best = t;
    }
  return best;
}

// Which copy a match is: full when both videos are covered (80% each, or
// more where a threshold asks more); otherwise partial when the query is
// the more covered side (it is a piece of the listed video), contains
// when the listed video is (it is inside the query).
std::string kind_of(double query_pct, double listed_pct, double query_min, double listed_min) {
  if (query_pct >= std::max(80.0, query_min) && listed_pct >= std::max(80.0, listed_min))
    return "full";
  return query_pct >= listed_pct ? "partial" : "contains";
}

}  // namespace

VideoVerdict judge_video(const MatchQuery& query, std::span<const pdq::VpdqFrame> listed,
                         std::optional<std::vector<pdq::FramePair>> pairs,
                         const MatchRules& rules) {
  VideoVerdict v;
  if (rules.vpdq_rule == VpdqRule::kFrames) {
    // The reference's and python-threatexchange's rule: frame counts over
    // the result's own frames and plain hashes.
    std::vector<pdq::VpdqFrame> q;
    for (const auto& f : query.frames)
      if (f.printed) q.push_back({f.pdq, f.quality, f.ts});
    const pdq::VpdqRules vr{rules.threshold, rules.min_quality, rules.unique_frames};
    const auto c = pdq::compare_videos(q, listed, vr);
    v.query_pct = c.query_pct;
    v.compared_pct = c.compared_pct;
    v.match = c.compared_pct >= rules.video_match_pct && c.query_pct >= rules.query_match_pct &&
              (c.query_pct > 0 || c.compared_pct > 0);
    v.kind = v.match ? kind_of(c.query_pct, c.compared_pct, 0, 0) : "";
    auto segments = nlohmann::ordered_json::array();
    for (const auto& [t0, t1] : pdq::matched_segments(q, c.query_matched))
      segments.push_back({milliseconds(t0), milliseconds(t1)});
    v.fields = {{"kind", v.kind},
                {"query_pct", two_decimals(c.query_pct)},
                {"compared_pct", two_decimals(c.compared_pct)},
                {"segments", std::move(segments)}};
    return v;
  }
  const auto frames = query_frames(query);
  const pdq::AlignRules ar = align_rules(rules);
  std::vector<pdq::FramePair> strict =
      pairs ? std::move(*pairs) : pdq::strict_pairs(frames, listed, ar);
  const auto al = pdq::align_videos(frames, listed, std::move(strict), ar);
  v.query_pct = al.query_pct();
  v.compared_pct = al.listed_pct();
  // One frame is not a video match: at least two query frames and a
  // second of matched time, unless the query has less than that to give.
  const auto usable = std::count_if(query.frames.begin(), query.frames.end(), [&](const auto& f) {
    return best_quality(f) >= rules.min_quality;
  });
  const bool evidence = al.query_frames_matched >= std::min<int64_t>(2, usable) &&
                        al.query_matched_s >= std::min(1.0, 0.99 * al.query_seconds);
  v.match = evidence && (v.query_pct >= rules.query_coverage_pct ||
                         v.compared_pct >= rules.listed_coverage_pct);
  v.kind = v.match ? kind_of(v.query_pct, v.compared_pct, rules.query_coverage_pct,
                             rules.listed_coverage_pct)
                   : "";
  auto segments = nlohmann::ordered_json::array();
  for (const auto& s : al.segments)
    segments.push_back({{"query", {milliseconds(s.query_start), milliseconds(s.query_end)}},
                        {"listed", {milliseconds(s.listed_start), milliseconds(s.listed_end)}}});
  v.fields = {{"kind", v.kind},
              {"query_pct", two_decimals(v.query_pct)},
              {"compared_pct", two_decimals(v.compared_pct)},
              {"query_s", milliseconds(al.query_matched_s)},
              {"compared_s", milliseconds(al.listed_matched_s)},
              {"segments", std::move(segments)}};
  if (const uint8_t t = usual_tag(al.pairs); t != 0) v.fields["variant"] = variant_name(t);
  return v;
}

void Matcher::match_pdq(const MatchQuery& q, nlohmann::ordered_json& out) const {
  for (const auto& list : lists_.pdq) {
    for (const auto& f : q.frames) {
      if (best_quality(f) < rules_.min_quality || !f.printed) continue;
      const auto best = best_hits(list.index, f, rules_.threshold, rules_.min_quality,
                                  [](uint32_t entry) { return std::optional<uint32_t>(entry); });
      for (const auto& [entry, b] : best)
        report(out, list.name, "pdq", list.entries, entry, hit_fields(b, f.index));
    }
  }
}

void Matcher::match_vpdq(const MatchQuery& q, nlohmann::ordered_json& out) const {
  for (const auto& list : lists_.vpdq) {
    if (!q.video) {
      // An image against every frame of the list's videos: best distance per video.
      for (const auto& f : q.frames) {
        if (best_quality(f) < rules_.min_quality) continue;
        const auto best =
            best_hits(list.frames, f, rules_.threshold, rules_.min_quality,
                      [&](uint32_t entry) -> std::optional<uint32_t> {
                        const auto& owner = list.frame_owner[entry];
                        if (list.videos[owner.video][owner.frame].quality < rules_.min_quality)
                          return std::nullopt;
                        return owner.video;
                      });
        for (const auto& [video, b] : best)
          report(out, list.name, "vpdq", list.entries, video, hit_fields(b, f.index));
      }
      continue;
    }
    if (rules_.vpdq_rule == VpdqRule::kFrames) {
      // The frame-count rules: the printed frames' plain hashes searched
      // to the threshold; only videos with a pair can match, and they are
      // judged over the result's own frames.
      std::set<uint32_t> videos;
      for (const auto& f : q.frames) {
        if (!f.printed || f.quality < rules_.min_quality) continue;
        std::vector<pdq::HashHit> hits;
        list.frames.search(f.pdq, rules_.threshold, hits);
        for (const auto& hit : hits) videos.insert(list.frame_owner[hit.entry].video);
      }
      for (const uint32_t video : videos) {
        const auto verdict = judge_video(q, list.videos[video], std::nullopt, rules_);
        if (verdict.match) report(out, list.name, "vpdq", list.entries, video, verdict.fields);
      }
      continue;
    }
    match_vpdq_by_time(q, list, out);
  }
}

// The time rule. The index only chooses which listed videos to look at;
// each of those is then compared frame by frame with every hash of every
// query frame (judge_video, as /m/compare does), so the answer is the one
// a direct comparison gives (--loose-search adds its loose pairs). The
// choice: the printed frames' plain hashes searched to the threshold (what
// the frame-count rules search), and every other usable hash (the printed
// frames' variants, the plain hashes of the frames between) searched for
// seeds: hits that share a 16-bit chunk with the query, about a tenth of
// the cost of a full search each. A listed video is missed only if no pair
// with it shares a chunk; a copy has many pairs, and each pair within 15
// bits shares one.
void Matcher::match_vpdq_by_time(const MatchQuery& q, const VpdqList& list,
                                 nlohmann::ordered_json& out) const {
  std::set<uint32_t> candidates;
  std::map<uint32_t, std::vector<pdq::FramePair>> loose_by_video;
  std::vector<Hash256> full, seeds;
  std::vector<std::vector<pdq::HashHit>> hits;
  for (uint32_t i = 0; i < q.frames.size(); ++i) {
    const auto& f = q.frames[i];
    const Searchable s = searchable(f, rules_.min_quality);
    for (size_t v = 0; v < s.hashes.size(); ++v) {
      if (s.tags[v] == 0 && f.printed) full.push_back(s.hashes[v]);
      else if (s.tags[v] == 0 || f.printed) seeds.push_back(s.hashes[v]);
    }
    // --loose-search: the printed frames also searched to the relaxed
    // distance, as shown and without borders: loose pairs, which count
    // only where three line up in time (an overlay on every frame).
    if (f.printed && rules_.loose_search && rules_.relaxed_threshold > rules_.threshold) {
      Searchable wide;
      for (size_t v = 0; v < s.hashes.size(); ++v)
        if ((s.tags[v] & 7) == 0) {
          wide.hashes.push_back(s.hashes[v]);
          wide.tags.push_back(s.tags[v]);
        }
      if (!wide.hashes.empty()) list.frames.search(wide.hashes, rules_.relaxed_threshold, hits);
      else hits.clear();
      for (size_t v = 0; v < hits.size(); ++v)
        for (const auto& hit : hits[v]) {
          if (hit.distance <= rules_.threshold) continue;  // a strict pair: found below
          const auto& owner = list.frame_owner[hit.entry];
          loose_by_video[owner.video].push_back(
              {i, owner.frame, hit.distance, wide.tags[v], false});
        }
    }
  }
  // In batches, so that a long query never asks for all its hits at once
  // (a GPU search keeps buffers as large as its largest batch).
  constexpr size_t kBatch = 4096;
  auto search = [&](const std::vector<Hash256>& hashes, bool for_seeds) {
    for (size_t at = 0; at < hashes.size(); at += kBatch) {
      const std::span batch(hashes.data() + at, std::min(kBatch, hashes.size() - at));
      if (for_seeds) list.frames.search_seeds(batch, rules_.threshold, hits);
      else list.frames.search(batch, rules_.threshold, hits);
      for (const auto& per_query : hits)
        for (const auto& hit : per_query) candidates.insert(list.frame_owner[hit.entry].video);
    }
  };
  search(full, false);
  search(seeds, true);
  for (const auto& [video, loose] : loose_by_video) candidates.insert(video);

  const auto frames = query_frames(q);
  const pdq::AlignRules ar = align_rules(rules_);
  const pdq::QueryPairs pairer(frames, ar);  // a long query indexed once for all candidates
  for (const uint32_t video : candidates) {
    auto pairs = pairer.with(list.videos[video]);
    if (const auto it = loose_by_video.find(video); it != loose_by_video.end())
      pairs.insert(pairs.end(), it->second.begin(), it->second.end());
    const auto verdict = judge_video(q, list.videos[video], std::move(pairs), rules_);
    if (verdict.match) report(out, list.name, "vpdq", list.entries, video, verdict.fields);
  }
}

nlohmann::ordered_json Matcher::matches(const MatchQuery& q) const {
  auto out = nlohmann::ordered_json::array();
  match_digests(q, out);
  match_pdq(q, out);
  match_vpdq(q, out);
  return out;
}

size_t Matcher::annotate(nlohmann::ordered_json& result) const {
  std::vector<std::string> problems;
  const auto q = MatchQuery::from_json(result, &problems);
  if (result.is_object()) result.erase("match_frames");  // read; never passed on
  if (q) {
    // Matches the result already has (from `hash --list`, an earlier
    // `match`) are kept, but those from a list of the same name as one of
    // these are found again: running twice gives the same result.
    nlohmann::ordered_json merged = nlohmann::ordered_json::array();
    if (const auto had = result.find("matches"); had != result.end() && had->is_array())
      for (auto& m : *had) {
        const bool ours = m.is_object() && m.contains("list") && m["list"].is_string() &&
                          std::any_of(lists_.stats.begin(), lists_.stats.end(),
                                      [&](const ListStats& l) { return l.name == m["list"]; });
        if (!ours) merged.push_back(std::move(m));
      }
    for (auto& m : matches(*q)) merged.push_back(std::move(m));
    result["matches"] = std::move(merged);
  }
  if (!problems.empty() && result.is_object()) {
    // Said in the result itself: what was not matched must not look matched-and-clean.
    std::string message = std::to_string(problems.size()) + " field" +
                          (problems.size() == 1 ? "" : "s") + " could not be matched: ";
    for (size_t i = 0; i < problems.size() && i < 5; ++i) message += (i ? "; " : "") + problems[i];
    if (problems.size() > 5) message += "; ...";
    if (!result.contains("warnings") || !result["warnings"].is_array())
      result["warnings"] = nlohmann::ordered_json::array();
    auto& warnings = result["warnings"];
    for (auto it = warnings.begin(); it != warnings.end();)  // from an earlier match: said anew
      it = it->is_object() && it->value("code", nlohmann::ordered_json()) == "unmatched_fields"
               ? warnings.erase(it)
               : it + 1;
    warnings.push_back({{"code", "unmatched_fields"}, {"message", message}});
  }
  return problems.size();
}

nlohmann::ordered_json result_json(const MediaResult& r, const Matcher* matcher) {
  auto j = to_json(r);
  j.erase("match_frames");  // for the matcher only
  if (matcher && r.has_hashes()) j["matches"] = matcher->matches(MatchQuery::from_result(r));
  return j;
}

}  // namespace frameprint
