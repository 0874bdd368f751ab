#include "worker/pool/job_handler.h"

#include <system_error>

#include "ipc/common/json_text.h"
#include "worker/pool/job_header.h"

namespace frameprint {

namespace fs = std::filesystem;

std::vector<fs::path> canonical_roots(const std::vector<std::string>& roots) {
  std::vector<fs::path> out;
  for (const auto& r : roots) out.push_back(fs::canonical(r));  // throws when missing
  return out;
}

namespace {

bool is_within(const fs::path& p, const fs::path& root) {
  auto [ri, pi] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
  return ri == root.end();
}

// Finds the allowed root the job's path lies in (lexically, after removing
// "." and ".."), and the path relative to it. The open itself then stays
// beneath that root whatever symlinks say (MediaSource::open_beneath).
// Throws MediaError.
std::pair<fs::path, fs::path> allowed_path(const std::string& given, const JobPolicy& policy) {
  const fs::path p(given);
  if (!p.is_absolute()) throw MediaError(ErrorCode::kBadRequest, "path must be absolute");
  if (policy.allow_roots.empty())
    throw MediaError(ErrorCode::kPathNotAllowed,
                     "this worker takes no path jobs (no --allow-root)");
  // Judge the resolved path when it exists (symlinks inside the root that
  // point out are refused here, and again by the kernel when opening).
  std::error_code ec;
  const fs::path real = fs::canonical(p, ec);
  const fs::path judged = ec ? p.lexically_normal() : real;
  for (const auto& root : policy.allow_roots)
    if (is_within(judged, root)) return {root, judged.lexically_relative(root)};
  throw MediaError(ErrorCode::kPathNotAllowed, "path is outside every allowed root");
}

void check_size(uint64_t size, const JobPolicy& policy) {
  if (size > policy.max_bytes)
    throw MediaError(ErrorCode::kTooLarge, "the file has " + std::to_string(size) +
                                               " bytes, more than this worker's limit of " +
                                               std::to_string(policy.max_bytes) + " (--max-bytes)");
}

}  // namespace

JobOutcome handle_job(std::string_view header_text, std::optional<std::span<const uint8_t>> bytes,
                      const JobPolicy& policy, const HashStep& hash) {
  JobOutcome out;
  JobHeader header;
  std::optional<MediaError> error;
  bool hashing = false;  // errors from here on are the media's, not the policy's
  try {
    parse_job_header(header_text, policy.defaults, header);
    // Hashing for matching is the worker's choice (it holds the lists), not the job's.
    header.options.for_matching = policy.defaults.for_matching;
    header.options.match_seconds_per_hash = policy.defaults.match_seconds_per_hash;
    header.options.match_decoded_fps = policy.defaults.match_decoded_fps;
    if (int{header.path.has_value()} + int{header.url.has_value()} + int{bytes.has_value()} != 1)
      throw MediaError(ErrorCode::kBadRequest,
                       "a job carries one of a \"path\", a \"url\" or the file's bytes");
    const HashOptions& options = header.options;
    if (options.seconds_per_hash < policy.min_seconds_per_hash)
      throw MediaError(ErrorCode::kBadRequest, "this worker hashes at most one frame every " +
                                                   std::to_string(policy.min_seconds_per_hash) +
                                                   " s (--min-seconds-per-hash)");
    if (options.dihedral && !policy.allow_dihedral)
      throw MediaError(ErrorCode::kBadRequest,
                       "this worker does not compute dihedral hashes for jobs");
    if (bytes) {
      check_size(bytes->size(), policy);
      MediaSource source = MediaSource::view(*bytes);
      hashing = true;
      out.reply = hash(source, options);
      out.bytes = bytes->size();
    } else if (header.url) {
      if (header.name.empty()) header.name = *header.url;
      if (!policy.fetch_url)
        throw MediaError(ErrorCode::kBadRequest,
                         "this worker takes no URL jobs (no --allow-url-fetch)");
      // Fetched here, in the worker; only the bytes reach the decoder.
      const std::vector<uint8_t> fetched = policy.fetch_url(*header.url, policy.max_bytes);
      check_size(fetched.size(), policy);
      MediaSource source = MediaSource::view(fetched);
      hashing = true;
      out.reply = hash(source, options);
      out.bytes = fetched.size();
    } else {
      const std::string& given = *header.path;
      if (header.name.empty()) header.name = given;
      const auto [root, relative] = allowed_path(given, policy);
      MediaSource source =
          MediaSource::open_beneath(root, relative);  // the size is that of what was opened
      check_size(source.size(), policy);
      hashing = true;
      out.reply = hash(source, options);
      out.bytes = source.size();
    }
  } catch (const MediaError& e) {
    error = e;
    out.refused =
        !hashing && (e.code() == ErrorCode::kBadRequest || e.code() == ErrorCode::kPathNotAllowed ||
                     e.code() == ErrorCode::kUrlNotAllowed || e.code() == ErrorCode::kTooLarge);
  }
  if (error) {
    MediaResult failed;
    failed.error = error;
    out.reply = to_json(failed);
  }
  out.reply["path"] = header.name;
  out.ok = out.reply.contains("status") && out.reply["status"] == "ok";
  out.frames = out.reply.contains("frames") && out.reply["frames"].is_array()
                   ? out.reply["frames"].size()
                   : 0;
  out.reply["id"] = header.id;
  out.reply["worker"] = policy.worker_name;
  return out;
}

HashStep in_process(pdq::PdqBackend& backend) {
  return [&backend](MediaSource& source, const HashOptions& options) {
    return to_json(hash_media(source, options, backend));
  };
}

bool cap_reply(nlohmann::ordered_json& reply, size_t max_bytes) {
  size_t size = json_text(reply).size();
  if (size <= max_bytes) return true;
  if (!reply.contains("frames") || !reply["frames"].is_array() || reply["frames"].empty())
    return true;
  auto& frames = reply["frames"];
  const size_t total = frames.size();
  // Cut in proportion, then trim until it fits (a few passes at most).
  while (size > max_bytes && !frames.empty()) {
    const double keep = static_cast<double>(max_bytes) / static_cast<double>(size) * 0.95;
    const size_t n =
        std::min(frames.size() - 1, static_cast<size_t>(static_cast<double>(frames.size()) * keep));
    frames.erase(frames.begin() + static_cast<std::ptrdiff_t>(n), frames.end());
    size = json_text(reply).size();
  }
  const size_t kept = frames.size();  // `frames` dangles once keys are added below
  reply["partial"] = true;
  if (!reply.contains("warnings") || !reply["warnings"].is_array())
    reply["warnings"] = nlohmann::ordered_json::array();
  reply["warnings"].push_back(
      {{"code", "reply_truncated"},
       {"message",
        "the result was larger than the worker's --max-reply-bytes (" + std::to_string(max_bytes) +
            "): only the first " + std::to_string(kept) + " of " + std::to_string(total) +
            " frames are in it; hash with a larger --seconds-per-hash or without --dihedral"}});
  return false;
}

}  // namespace frameprint
