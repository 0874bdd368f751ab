#include "worker/matching/matcher.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace frameprint {

namespace {

double two_decimals(double v) { return std::round(v * 100.0) / 100.0; }

MatchQuery::Frame frame_of(int64_t index, double ts, int quality, const Hash256& pdq) {
  MatchQuery::Frame f;
  f.index = index;
  f.ts = ts;
  f.quality = quality;
  f.pdq = pdq;
  f.variants.push_back(pdq);
  return f;
}

}  // namespace

MatchQuery MatchQuery::from_result(const MediaResult& r) {
  MatchQuery q;
  q.video = r.kind == MediaKind::kVideo;
  q.md5 = r.md5;
  q.sha1 = r.sha1;
  q.sha256 = r.sha256;
  for (const auto& f : r.frames) {
    auto m = frame_of(f.index, f.ts, f.quality, f.pdq);
    if (f.dihedral)
      for (int k = 1; k < pdq::kDihedralCount; ++k)
        m.variants.push_back((*f.dihedral)[static_cast<size_t>(k)]);
    q.frames.push_back(std::move(m));
  }
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

std::optional<MatchQuery> MatchQuery::from_json(const nlohmann::json& r) {
  // Results with hashes: ok ones, and errors that kept the frames hashed
  // before a limit stopped decoding ("partial").
  const bool partial = r.is_object() && r.contains("partial") && r["partial"] == true;
  if (!r.is_object() || (text_field(r, "status") != "ok" && !partial) || !r.contains("frames") ||
      !r["frames"].is_array())
    return std::nullopt;
  MatchQuery q;
  q.video = text_field(r, "kind") == "video";
  q.md5 = text_field(r, "md5");
  q.sha1 = text_field(r, "sha1");
  q.sha256 = text_field(r, "sha256");
  for (const auto& f : r["frames"]) {
    if (!f.is_object() || !f.contains("pdq") || !f["pdq"].is_string()) return std::nullopt;
    const auto h = Hash256::from_hex(f["pdq"].get<std::string>());
    if (!h) return std::nullopt;
    auto m = frame_of(number_field<int64_t>(f, "index", 0), number_field<double>(f, "ts", 0.0),
                      number_field<int>(f, "quality", 0), *h);
    if (f.contains("dihedral") && f["dihedral"].is_object())
      for (const auto& [name, hex] : f["dihedral"].items())
        if (hex.is_string())
          if (const auto v = Hash256::from_hex(hex.get<std::string>())) m.variants.push_back(*v);
    q.frames.push_back(std::move(m));
  }
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
    m["id"] = info.id_text();
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

// The best distance per key over a frame's hash and its dihedral variants;
// key_of(entry) maps an index entry to what is reported (the entry itself,
// or the video owning a frame), or nullopt to skip the entry.
template <typename KeyOf>
std::map<uint32_t, int> best_hits(const pdq::HashSearch& index, const MatchQuery::Frame& f,
                                  int threshold, KeyOf&& key_of) {
  std::map<uint32_t, int> best;
  std::vector<std::vector<pdq::HashHit>> variant_hits;
  index.search(f.variants, threshold, variant_hits);  // one batch: the hash and its variants
  for (const auto& hits : variant_hits) {
    for (const auto& hit : hits) {
      const std::optional<uint32_t> key = key_of(hit.entry);
      if (!key) continue;
      auto [it, fresh] = best.emplace(*key, hit.distance);
      if (!fresh) it->second = std::min(it->second, hit.distance);
    }
  }
  return best;
}

}  // namespace

void Matcher::match_pdq(const MatchQuery& q, nlohmann::ordered_json& out) const {
  for (const auto& list : lists_.pdq) {
    for (const auto& f : q.frames) {
      if (f.quality < rules_.min_quality) continue;
      const auto best = best_hits(list.index, f, rules_.threshold,
                                  [](uint32_t entry) { return std::optional<uint32_t>(entry); });
      for (const auto& [entry, d] : best)
        report(out, list.name, "pdq", list.entries, entry, {{"distance", d}, {"frame", f.index}});
    }
  }
}

void Matcher::match_vpdq(const MatchQuery& q, nlohmann::ordered_json& out) const {
  std::vector<pdq::HashHit> hits;
  for (const auto& list : lists_.vpdq) {
    if (!q.video) {
      // An image against every frame of the list's videos: best distance per video.
      for (const auto& f : q.frames) {
        if (f.quality < rules_.min_quality) continue;
        const auto best = best_hits(
            list.frames, f, rules_.threshold, [&](uint32_t entry) -> std::optional<uint32_t> {
              const auto& owner = list.frame_owner[entry];
              if (list.videos[owner.video][owner.frame].quality < rules_.min_quality)
                return std::nullopt;
              return owner.video;
            });
        for (const auto& [video, d] : best)
          report(out, list.name, "vpdq", list.entries, video,
                 {{"distance", d}, {"frame", f.index}});
      }
      continue;
    }
    // A video: the list's videos sharing at least one close frame are the
    // only ones whose percentages can be above zero; compare those fully.
    std::vector<pdq::VpdqFrame> query;
    for (const auto& f : q.frames) query.push_back({f.pdq, f.quality, f.ts});
    std::set<uint32_t> candidates;
    for (const auto& f : q.frames) {
      if (f.quality < rules_.min_quality) continue;
      hits.clear();
      list.frames.search(f.pdq, rules_.threshold, hits);
      for (const auto& hit : hits) candidates.insert(list.frame_owner[hit.entry].video);
    }
    const pdq::VpdqRules vr{rules_.threshold, rules_.min_quality, rules_.unique_frames};
    for (uint32_t v : candidates) {
      const auto c = pdq::compare_videos(query, list.videos[v], vr);
      if (c.compared_pct < rules_.video_match_pct || c.query_pct < rules_.query_match_pct) continue;
      auto segments = nlohmann::ordered_json::array();
      for (const auto& [t0, t1] : pdq::matched_segments(query, c.query_matched))
        segments.push_back({t0, t1});
      report(out, list.name, "vpdq", list.entries, v,
             {{"query_pct", two_decimals(c.query_pct)},
              {"compared_pct", two_decimals(c.compared_pct)},
              {"segments", std::move(segments)}});
    }
  }
}

nlohmann::ordered_json Matcher::matches(const MatchQuery& q) const {
  auto out = nlohmann::ordered_json::array();
  match_digests(q, out);
  match_pdq(q, out);
  match_vpdq(q, out);
  return out;
}

void Matcher::annotate(nlohmann::ordered_json& result) const {
  const auto q = MatchQuery::from_json(result);
  if (q) result["matches"] = matches(*q);
}

}  // namespace frameprint
