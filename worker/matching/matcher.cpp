#include "worker/matching/matcher.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "ipc/common/json_text.h"
#include "worker/matching/list_reader.h"

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
  MatchQuery q;
  q.video = text_field(r, "kind") == "video";
  q.md5 = digest_field(r, "md5", 32, problems);
  q.sha1 = digest_field(r, "sha1", 40, problems);
  q.sha256 = digest_field(r, "sha256", 64, problems);
  size_t n = 0;
  for (const auto& f : r["frames"]) {
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
    auto m = frame_of(number_field<int64_t>(f, "index", 0), number_field<double>(f, "ts", 0.0),
                      qv.get<int>(), *h);
    if (f.contains("dihedral") && f["dihedral"].is_object()) {
      for (const auto& [name, hex] : f["dihedral"].items()) {
        const auto v = hex.is_string() ? Hash256::from_hex(hex.get<std::string>()) : std::nullopt;
        if (v) m.variants.push_back(*v);
        else problems.push_back(at + "dihedral " + name + " is not 64 hex digits");
      }
    }
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

size_t Matcher::annotate(nlohmann::ordered_json& result) const {
  std::vector<std::string> problems;
  const auto q = MatchQuery::from_json(result, &problems);
  if (q) result["matches"] = matches(*q);
  if (!problems.empty() && result.is_object()) {
    // Said in the result itself: what was not matched must not look matched-and-clean.
    std::string message = std::to_string(problems.size()) + " field" +
                          (problems.size() == 1 ? "" : "s") + " could not be matched: ";
    for (size_t i = 0; i < problems.size() && i < 5; ++i) message += (i ? "; " : "") + problems[i];
    if (problems.size() > 5) message += "; ...";
    if (!result.contains("warnings") || !result["warnings"].is_array())
      result["warnings"] = nlohmann::ordered_json::array();
    result["warnings"].push_back({{"code", "unmatched_fields"}, {"message", message}});
  }
  return problems.size();
}

}  // namespace frameprint
