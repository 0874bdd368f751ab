// What `frameprint serve` answers about hashes, in the shapes of
// Hasher-Matcher-Actioner's API (facebook/ThreatExchange, OpenMediaMatch):
// raw lookups, lookups grouped by list ("bank"), pairwise comparisons,
// index status, and the hash object of a hashed file. No HTTP here: the
// server (http_server.h) maps requests onto these calls and ApiError onto
// status codes.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "worker/matching/list_formats.h"
#include "worker/matching/matcher.h"

namespace frameprint::serve {

// An answer other than 200: the status and what to tell the client.
class ApiError : public std::runtime_error {
 public:
  // `code`: a short name for programs ("" gives one from the status).
  ApiError(int status, const std::string& message, std::string code = "")
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}
  int status() const { return status_; }
  std::string code() const;

 private:
  int status_;
  std::string code_;
};

// The signal types the API speaks: HMA's names (pdq, vpdq, video_md5,
// video_sha256) and frameprint's (md5, sha1, sha256). Throws ApiError 400.
ListType signal_type(std::string_view name);

using Banks = std::optional<std::set<std::string>>;  // nullopt: every list
// "a,b" -> {a, b}; empty or absent: nullopt.
Banks parse_banks(const std::string& param);

// The HMA hash object of a frameprint result (hash_media's JSON): an image
// gives {"pdq": HEX} ("" when its quality is below `min_quality`, as
// python-threatexchange does), a video {"video_md5": HEX, "vpdq": JSON}
// (python-threatexchange's list of "hex,quality,timestamp"). `types`
// narrows or widens it: any of pdq, vpdq, md5/video_md5, sha1,
// sha256/video_sha256. Throws ApiError 400 for a type the media cannot have.
nlohmann::ordered_json signals_of(const nlohmann::ordered_json& result,
                                  const std::vector<std::string>& types, int min_quality);

// HMA's POST /m/compare: {"pdq": [A, B], ...} -> {"pdq": [match, {"distance": d}], ...};
// vPDQ pairs give the two percentages. Throws ApiError 400, or 413 when
// a vPDQ signal has more than `max_frames` frames.
nlohmann::ordered_json compare_signals(const nlohmann::json& body, const MatchRules& rules,
                                       size_t max_frames);

class LookupService {
 public:
  // `expects_lists`: the server was given --list (so it is not ready
  // until they are loaded).
  // `rules`: what /m/compare judges by while no lists are loaded (with
  // lists, the matcher's own).
  explicit LookupService(bool expects_lists = false, MatchRules rules = {})
      : expects_lists_(expects_lists), rules_(rules) {}
  bool expects_lists() const { return expects_lists_; }

  // Swaps in newly loaded lists (nullptr: none); lookups in flight finish
  // with the lists they started with.
  void replace(std::shared_ptr<const Matcher> matcher);
  // A reload that failed: the lists stay as they were, and the failure is
  // counted and shown (index_status, serve's metrics).
  void reload_failed(const std::string& why);
  struct Reloads {
    int64_t loaded_at = -1;  // unix seconds of the lists in use; -1: none
    size_t failures = 0;     // reloads that failed since serve started
    int64_t last_failed_at = -1;
    std::string last_error;  // of the last reload, "" when it succeeded
  };
  Reloads reloads() const;
  // Throws ApiError 400 unless every name in `banks` is a list in use.
  void check_banks(const Banks& banks) const { (void)state_for(banks); }
  // What each list in use holds (empty without lists).
  std::vector<ListStats> list_stats() const;
  bool ready() const;  // lists are loaded
  MatchRules rules() const;

  // GET /m/raw_lookup: {"matches": [ID, ...]}, or with distances
  // {"matches": [{"bank_content_id": ID, "distance": "D", "bank": LIST}, ...]}.
  nlohmann::ordered_json raw_lookup(std::string_view type, std::string_view signal,
                                    bool include_distance, const Banks& banks) const;
  // GET /m/lookup by signal: {LIST: [{"bank_content_id": ID, "distance": "D"}, ...], ...}.
  nlohmann::ordered_json lookup(std::string_view type, std::string_view signal,
                                const Banks& banks) const;
  // A hashed file's matches as GET/POST /m/lookup give them: keyed by the
  // signal type that matched, then by list, as lookup() does.
  nlohmann::ordered_json lookup_result(const nlohmann::ordered_json& result,
                                       const Banks& banks) const;
  // Adds "matches" (docs/output.md) to a hashed file's result.
  void annotate(nlohmann::ordered_json& result) const;
  // GET /m/index/status: {TYPE: {"present": bool, "built_to": UNIX_TIME, "size": N,
  // "frameprint": {"lists": {LIST: N, ...}, "reload_failures": N, ...}}, ...}:
  // HMA's fields, and frameprint's inside each type's object (where HMA
  // clients ignore it).
  //
  // Every lookup given `banks` throws ApiError 400 (code unknown_list) for
  // a name that is not one of the lists loaded, naming those that are.
  nlohmann::ordered_json index_status(const std::string& only_type) const;

 private:
  struct State {
    std::shared_ptr<const Matcher> matcher;
    int64_t loaded_at = -1;  // unix seconds
  };
  Reloads failed_;  // guarded by mu_ (loaded_at unused)
  std::shared_ptr<const State> state() const;
  // The state, once `banks` are known to be its lists.
  std::shared_ptr<const State> state_for(const Banks& banks) const;
  nlohmann::ordered_json matches_of(std::string_view type, std::string_view signal,
                                    ListType& parsed, const Banks& banks) const;

  bool expects_lists_;
  MatchRules rules_;
  mutable std::mutex mu_;
  std::shared_ptr<const State> state_ = std::make_shared<State>();
};

}  // namespace frameprint::serve
