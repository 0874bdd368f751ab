#include "worker/job_handler.h"

#include <system_error>

#include "worker/job_options.h"

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
    throw MediaError(ErrorCode::kPathNotAllowed, "this worker takes no path jobs (no --allow-root)");
  // Judge the resolved path when it exists (symlinks inside the root that
  // point out are refused here, and again by the kernel when opening).
  std::error_code ec;
  const fs::path real = fs::canonical(p, ec);
  const fs::path judged = ec ? p.lexically_normal() : real;
  for (const auto& root : policy.allow_roots)
    if (is_within(judged, root)) return {root, judged.lexically_relative(root)};
  throw MediaError(ErrorCode::kPathNotAllowed, "path is outside every allowed root");
}

}  // namespace

JobOutcome handle_job(std::string_view header_text, std::optional<std::span<const uint8_t>> bytes,
                      const JobPolicy& policy, pdq::PdqBackend& backend) {
  JobOutcome out;
  nlohmann::json id = nullptr;
  std::string display;
  MediaResult result;
  try {
    const auto header = nlohmann::json::parse(header_text, nullptr, false);
    if (!header.is_object()) throw MediaError(ErrorCode::kBadRequest, "the job header is not a JSON object");
    if (header.contains("id")) id = header["id"];
    if (!id.is_string() && !id.is_number_integer())
      throw MediaError(ErrorCode::kBadRequest, "the job header has no string \"id\"");
    if (header.contains("name") && header["name"].is_string()) display = header["name"].get<std::string>();
    const bool has_path = header.contains("path") && !header["path"].is_null();
    if (has_path && !header["path"].is_string()) throw MediaError(ErrorCode::kBadRequest, "\"path\" must be a string");
    if (has_path == bytes.has_value())
      throw MediaError(ErrorCode::kBadRequest, "a job carries either a \"path\" or the file's bytes, not both or neither");
    HashOptions options = policy.defaults;
    try {
      if (header.contains("options")) options = options_from_json(header["options"], policy.defaults);
    } catch (const std::invalid_argument& e) {
      throw MediaError(ErrorCode::kBadRequest, e.what());
    }
    if (bytes) {
      if (bytes->size() > policy.max_bytes)
        throw MediaError(ErrorCode::kTooLarge, "the file has " + std::to_string(bytes->size()) +
                                                   " bytes, more than this worker's limit of " +
                                                   std::to_string(policy.max_bytes) + " (--max-bytes)");
      MediaSource source = MediaSource::view(*bytes);
      result = hash_media(source, options, backend);
      out.bytes = bytes->size();
    } else {
      const std::string given = header["path"].get<std::string>();
      if (display.empty()) display = given;
      const auto [root, relative] = allowed_path(given, policy);
      MediaSource source = MediaSource::open_beneath(root, relative);  // the size is that of what was opened
      if (source.size() > policy.max_bytes)
        throw MediaError(ErrorCode::kTooLarge, "the file has " + std::to_string(source.size()) +
                                                   " bytes, more than this worker's limit of " +
                                                   std::to_string(policy.max_bytes) + " (--max-bytes)");
      result = hash_media(source, options, backend);
      out.bytes = source.size();
    }
  } catch (const MediaError& e) {
    result = MediaResult{};
    result.error = e;
  }
  result.path = display;
  out.ok = result.ok();
  out.frames = result.frames.size();
  out.reply = to_json(result);
  out.reply["id"] = id;
  out.reply["worker"] = policy.worker_name;
  return out;
}

}  // namespace frameprint
