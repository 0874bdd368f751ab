#include "worker/serve/lookup_service.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>

#include "kernels/vpdq_compare.h"
#include "worker/media/media_result.h"

namespace frameprint::serve {

using nlohmann::ordered_json;

std::string ApiError::code() const {
  if (!code_.empty()) return code_;
  switch (status_) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 413: return "too_large";
    case 415: return "unsupported_media_type";
    case 503: return "busy";
    default: return status_ >= 500 ? "internal" : "bad_request";
  }
}

ListType signal_type(std::string_view name) {
  const auto t = list_type_from_name(name);
  if (!t) throw ApiError(400, "No such SignalType '" + std::string(name) + "'");
  return *t;
}

Banks parse_banks(const std::string& param) {
  if (param.empty()) return std::nullopt;
  std::set<std::string> banks;
  size_t start = 0;
  while (start <= param.size()) {
    const size_t comma = std::min(param.find(',', start), param.size());
    if (comma > start) banks.insert(param.substr(start, comma - start));
    start = comma + 1;
  }
  if (banks.empty()) return std::nullopt;
  return banks;
}

namespace {

ListRow parse_or_400(ListType t, std::string_view signal) {
  try {
    return parse_signal(t, signal);
  } catch (const std::invalid_argument& e) {
    throw ApiError(400, std::string("invalid signal: ") + e.what());
  }
}

MatchQuery query_of(ListType t, const ListRow& row) {
  MatchQuery q;
  switch (t) {
    case ListType::kPdq:
      // A bare hash says nothing of its quality: HMA compares it whatever it is.
      q.frames.push_back(MatchQuery::Frame::plain(0, 0, 100, row.pdq));
      break;
    case ListType::kVpdq:
      q.video = true;
      for (size_t i = 0; i < row.frames.size(); ++i)
        q.frames.push_back(MatchQuery::Frame::plain(static_cast<int64_t>(i), row.frames[i].ts,
                                                    row.frames[i].quality, row.frames[i].hash));
      break;
    case ListType::kMd5: q.md5 = row.digest; break;
    case ListType::kSha1: q.sha1 = row.digest; break;
    case ListType::kSha256: q.sha256 = row.digest; break;
  }
  return q;
}

// python-threatexchange's pretty_str of a match: the distance, vPDQ's
// "query%[compared%]", or "-" for exact digests.
std::string distance_text(const ordered_json& m) {
  if (m.contains("distance")) return std::to_string(m["distance"].get<int>());
  if (m.contains("query_pct")) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.0f%%[%.0f%%]", m["query_pct"].get<double>(),
                  m["compared_pct"].get<double>());
    return buf;
  }
  return "-";
}

bool in_banks(const ordered_json& m, const Banks& banks) {
  return !banks || banks->count(m["list"].get<std::string>()) > 0;
}

// {LIST: [{"bank_content_id": ID, "distance": D}, ...]}; one item per list
// entry (the best distance when several frames hit it).
ordered_json by_bank(const ordered_json& matches, const Banks& banks) {
  ordered_json out = ordered_json::object();
  std::map<std::pair<std::string, std::string>, std::pair<size_t, int>> seen;  // -> item, distance
  for (const auto& m : matches) {
    if (!in_banks(m, banks)) continue;
    const std::string list = m["list"].get<std::string>();
    const std::string id = m["id"].get<std::string>();
    auto& items = out[list];
    if (items.is_null()) items = ordered_json::array();
    const int d = m.contains("distance") ? m["distance"].get<int>() : -1;
    const auto [it, fresh] = seen.try_emplace({list, id}, items.size(), d);
    if (fresh) {
      items.push_back({{"bank_content_id", id}, {"distance", distance_text(m)}});
    } else if (d >= 0 && d < it->second.second) {
      it->second.second = d;
      items[it->second.first]["distance"] = distance_text(m);
    }
  }
  return out;
}

// The signal type a match object came from, as HMA names it for the kind
// of media queried.
std::string hma_type(const std::string& match_type, bool video) {
  if (video && match_type == "md5") return "video_md5";
  if (video && match_type == "sha256") return "video_sha256";
  return match_type;
}

std::vector<FrameHash> frames_of(const ordered_json& result) {
  std::vector<FrameHash> out;
  if (!result.contains("frames") || !result["frames"].is_array()) return out;
  for (const auto& f : result["frames"]) {
    FrameHash h;
    h.index = f.value("index", int64_t{0});
    h.ts = f.value("ts", 0.0);
    h.quality = f.value("quality", 0);
    if (const auto p = Hash256::from_hex(f.value("pdq", std::string()))) h.pdq = *p;
    out.push_back(h);
  }
  return out;
}

}  // namespace

ordered_json signals_of(const ordered_json& result, const std::vector<std::string>& types,
                        int min_quality) {
  const bool video = result.value("kind", std::string()) == "video";
  std::vector<std::string> wanted = types;
  if (wanted.empty())
    wanted =
        video ? std::vector<std::string>{"video_md5", "vpdq"} : std::vector<std::string>{"pdq"};
  const std::vector<FrameHash> frames = frames_of(result);
  ordered_json out = ordered_json::object();
  for (const auto& name : wanted) {
    switch (signal_type(name)) {
      case ListType::kPdq:
        if (video) throw ApiError(400, "signal type 'pdq' is a photo's; a video has vpdq");
        out[name] = frames.empty() || frames[0].quality < min_quality ? std::string()
                                                                      : frames[0].pdq.to_hex();
        break;
      case ListType::kVpdq:
        if (!video) throw ApiError(400, "signal type 'vpdq' is a video's; a photo has pdq");
        out[name] = to_vpdq_signal(frames);
        break;
      case ListType::kMd5: out[name] = result.value("md5", std::string()); break;
      case ListType::kSha1: out[name] = result.value("sha1", std::string()); break;
      case ListType::kSha256: out[name] = result.value("sha256", std::string()); break;
    }
  }
  return out;
}

ordered_json compare_signals(const nlohmann::json& body, const MatchRules& rules,
                             size_t max_frames) {
  if (!body.is_object() || body.empty())
    throw ApiError(400, "expected a JSON object {\"SIGNAL_TYPE\": [SIGNAL, SIGNAL], ...}");
  ordered_json out = ordered_json::object();
  for (const auto& [name, pair] : body.items()) {
    const ListType t = signal_type(name);
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string())
      throw ApiError(400, "comparison hashes for " + name + " must be a list of exactly 2 strings");
    if (t == ListType::kVpdq) {
      // A vPDQ signal is a JSON list of strings: two quotes a frame. Counted
      // before the frames are parsed, so that a huge one costs no memory.
      for (const auto& s : pair) {
        const auto& text = s.get_ref<const std::string&>();
        const size_t frames = static_cast<size_t>(std::count(text.begin(), text.end(), '"')) / 2;
        if (frames > max_frames)
          throw ApiError(413,
                         "a vPDQ signal to compare has " + std::to_string(frames) +
                             " frames; this server compares at most " + std::to_string(max_frames),
                         "too_many_frames");
      }
    }
    const ListRow a = parse_or_400(t, pair[0].get<std::string>());
    const ListRow b = parse_or_400(t, pair[1].get<std::string>());
    if (t == ListType::kPdq) {
      const int d = hamming_distance(a.pdq, b.pdq);
      out[name] = {d <= rules.threshold, {{"distance", d}}};
    } else if (t == ListType::kVpdq) {
      if (a.frames.size() > max_frames || b.frames.size() > max_frames)
        throw ApiError(413,
                       "a vPDQ signal to compare has " +
                           std::to_string(std::max(a.frames.size(), b.frames.size())) +
                           " frames; this server compares at most " + std::to_string(max_frames),
                       "too_many_frames");
      // Two long runs of one static frame pair every frame with every other:
      // the pairs are bounded (512 K, 8 MB) as the frames are.
      MatchRules bounded = rules;
      bounded.max_pairs = size_t{1} << 19;
      VideoVerdict v;
      try {
        v = judge_video(query_of(t, a), b.frames, std::nullopt, bounded);
      } catch (const std::length_error&) {
        throw ApiError(413,
                       "the two vPDQ signals have more than " + std::to_string(bounded.max_pairs) +
                           " pairs of matching frames (long static scenes); compare shorter or "
                           "deduplicated signals",
                       "too_many_pairs");
      }
      ordered_json detail = {{"query_match_percent", v.query_pct},
                             {"compared_match_percent", v.compared_pct}};
      if (v.match) detail["kind"] = v.kind;
      out[name] = {v.match, std::move(detail)};
    } else {
      out[name] = {a.digest == b.digest, ordered_json::object()};
    }
  }
  return out;
}

void LookupService::replace(std::shared_ptr<const Matcher> matcher) {
  auto s = std::make_shared<State>();
  s->matcher = std::move(matcher);
  s->loaded_at = s->matcher ? std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count()
                            : -1;
  std::lock_guard lock(mu_);
  state_ = std::move(s);
  failed_.last_error.clear();
}

void LookupService::reload_failed(const std::string& why) {
  std::lock_guard lock(mu_);
  ++failed_.failures;
  failed_.last_failed_at = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  failed_.last_error = why;
}

LookupService::Reloads LookupService::reloads() const {
  std::lock_guard lock(mu_);
  Reloads r = failed_;
  r.loaded_at = state_->loaded_at;
  return r;
}

std::vector<ListStats> LookupService::list_stats() const {
  const auto s = state();
  return s->matcher ? s->matcher->stats() : std::vector<ListStats>{};
}

std::shared_ptr<const LookupService::State> LookupService::state_for(const Banks& banks) const {
  auto s = state();
  if (!banks || !s->matcher) return s;
  for (const std::string& bank : *banks) {
    const auto& lists = s->matcher->stats();
    if (std::any_of(lists.begin(), lists.end(), [&](const ListStats& l) { return l.name == bank; }))
      continue;
    std::string names;
    for (const auto& l : lists) names += (names.empty() ? "" : ", ") + l.name;
    throw ApiError(400, "no list named '" + bank + "' in banks; the lists are: " + names,
                   "unknown_list");
  }
  return s;
}

std::shared_ptr<const LookupService::State> LookupService::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

bool LookupService::ready() const { return state()->matcher != nullptr; }

MatchRules LookupService::rules() const {
  const auto s = state();
  return s->matcher ? s->matcher->rules() : rules_;
}

ordered_json LookupService::matches_of(std::string_view type, std::string_view signal,
                                       ListType& parsed, const Banks& banks) const {
  parsed = signal_type(type);
  const ListRow row = parse_or_400(parsed, signal);
  const auto s = state_for(banks);
  if (!s->matcher)
    throw ApiError(503, "no hash lists are loaded (frameprint serve --list)", "no_lists");
  return s->matcher->matches(query_of(parsed, row));
}

ordered_json LookupService::raw_lookup(std::string_view type, std::string_view signal,
                                       bool include_distance, const Banks& banks) const {
  ListType t{};
  const ordered_json matches = matches_of(type, signal, t, banks);
  ordered_json out = ordered_json::array();
  const ordered_json banked = by_bank(matches, banks);  // items() refers to it
  for (const auto& [list, items] : banked.items())
    for (const auto& it : items) {
      if (!include_distance) {
        out.push_back(it["bank_content_id"]);
        continue;
      }
      ordered_json m = it;
      m["bank"] = list;
      out.push_back(std::move(m));
    }
  return {{"matches", std::move(out)}};
}

ordered_json LookupService::lookup(std::string_view type, std::string_view signal,
                                   const Banks& banks) const {
  ListType t{};
  return by_bank(matches_of(type, signal, t, banks), banks);
}

ordered_json LookupService::lookup_result(const ordered_json& result, const Banks& banks) const {
  const auto s = state_for(banks);
  if (!s->matcher)
    throw ApiError(503, "no hash lists are loaded (frameprint serve --list)", "no_lists");
  const bool video = result.value("kind", std::string()) == "video";
  ordered_json out = ordered_json::object();
  // Every signal the file has is answered, matched or not (as HMA does).
  const ordered_json signals = signals_of(result, {}, 0);  // items() refers to it
  for (const auto& [name, value] : signals.items()) out[name] = ordered_json::object();
  const auto q = MatchQuery::from_json(result);
  if (!q) return out;
  ordered_json grouped = ordered_json::object();
  for (const auto& m : s->matcher->matches(*q))
    grouped[hma_type(m["type"].get<std::string>(), video)].push_back(m);
  for (const auto& [type, matches] : grouped.items()) out[type] = by_bank(matches, banks);
  return out;
}

void LookupService::annotate(ordered_json& result) const {
  if (const auto s = state(); s->matcher) s->matcher->annotate(result);
  else if (result.is_object()) result.erase("match_frames");
}

ordered_json LookupService::index_status(const std::string& only_type) const {
  const auto s = state();
  std::vector<std::pair<std::string, ListType>> types = {{"pdq", ListType::kPdq},
                                                         {"vpdq", ListType::kVpdq},
                                                         {"md5", ListType::kMd5},
                                                         {"sha1", ListType::kSha1},
                                                         {"sha256", ListType::kSha256}};
  if (!only_type.empty()) types = {{only_type, signal_type(only_type)}};
  const Reloads reloads = this->reloads();
  ordered_json out = ordered_json::object();
  for (const auto& [name, t] : types) {
    size_t size = 0;
    bool present = false;
    if (s->matcher)
      for (const auto& st : s->matcher->stats())
        if (const auto it = st.entries.find(t); it != st.entries.end()) {
          present = true;
          size += it->second;
        }
    out[name] = {
        {"present", present}, {"built_to", present ? s->loaded_at : int64_t{-1}}, {"size", size}};
    ordered_json lists = ordered_json::object();
    if (s->matcher)
      for (const auto& st : s->matcher->stats())
        if (const auto it = st.entries.find(t); it != st.entries.end()) lists[st.name] = it->second;
    ordered_json mine = {{"lists", std::move(lists)},
                         {"loaded_at", reloads.loaded_at},
                         {"reload_failures", reloads.failures}};
    if (!reloads.last_error.empty()) {
      mine["last_reload_failed_at"] = reloads.last_failed_at;
      mine["last_reload_error"] = reloads.last_error;
    }
    out[name]["frameprint"] = std::move(mine);
  }
  return out;
}

}  // namespace frameprint::serve
