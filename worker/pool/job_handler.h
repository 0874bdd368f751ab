// One pool job, from its header (and inline bytes) to the reply: the JSON
// `frameprint hash` prints, plus "id" and "worker". Never throws: a bad job
// is an error result like a bad file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/pdq_backend.h"
#include "worker/media/media_hasher.h"

namespace frameprint {

struct JobPolicy {
  HashOptions defaults;                            // jobs may only lower the limits
  std::vector<std::filesystem::path> allow_roots;  // canonical; empty: no path jobs
  uint64_t max_bytes = uint64_t{256} << 20;        // largest file a job may carry or name
  // What jobs may ask for: clients choose options, the worker sets bounds.
  double min_seconds_per_hash = 0;  // jobs asking for denser sampling are refused
  bool allow_dihedral = true;
  size_t max_reply_bytes = size_t{64} << 20;  // larger results are cut (see cap_reply)
  std::string worker_name;
  // URL jobs: the media behind a job's "url", at most max_bytes; throws
  // MediaError (url_not_allowed, fetch_failed, too_large). Empty: this
  // worker takes no URL jobs.
  std::function<std::vector<uint8_t>(const std::string& url, uint64_t max_bytes)> fetch_url;
};

struct JobOutcome {
  nlohmann::ordered_json reply;
  bool ok = false;
  uint64_t bytes = 0;    // media bytes hashed
  size_t frames = 0;     // frames hashed
  bool refused = false;  // refused by the worker's policy (header, size, path) before hashing
};

// The step that hashes a job's media: in this process, or in a confined
// child (sandbox.h). Returns the result object (to_json(MediaResult));
// throws MediaError for failures of its own.
using HashStep =
    std::function<nlohmann::ordered_json(MediaSource& source, const HashOptions& options)>;
HashStep in_process(pdq::PdqBackend& backend);

// header: the job's JSON header frame; bytes: the media, when sent inline.
// Parsing, policy and opening happen here; only `hash` reads the media.
JobOutcome handle_job(std::string_view header, std::optional<std::span<const uint8_t>> bytes,
                      const JobPolicy& policy, const HashStep& hash);

// Keeps a reply under `max_bytes` of JSON text: frames are dropped from the
// end (with their matches' frame references left as they are) and the reply
// says so ("partial": true and a "reply_truncated" warning). Returns false
// when it had to cut.
bool cap_reply(nlohmann::ordered_json& reply, size_t max_bytes);

// Canonical form of each --allow-root (they must exist).
std::vector<std::filesystem::path> canonical_roots(const std::vector<std::string>& roots);

}  // namespace frameprint
