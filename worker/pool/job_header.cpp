#include "worker/pool/job_header.h"

#include <stdexcept>

#include "ipc/common/json_text.h"
#include "worker/media/media_error.h"
#include "worker/pool/job_options.h"

namespace frameprint {

std::string make_job_header(const std::string& id, const std::string& name,
                            const std::optional<std::string>& path, const HashOptions& options,
                            const std::optional<std::string>& url) {
  nlohmann::ordered_json header;
  header["id"] = id;
  header["name"] = name;
  if (path) header["path"] = *path;
  if (url) header["url"] = *url;
  header["options"] = options_to_json(options);
  return json_text(header);
}

void parse_job_header(std::string_view text, const HashOptions& worker_defaults, JobHeader& out) {
  const auto header = nlohmann::json::parse(text, nullptr, false);
  if (!header.is_object())
    throw MediaError(ErrorCode::kBadRequest, "the job header is not a JSON object");
  const nlohmann::json* id = job_id(header);
  if (!id)
    throw MediaError(ErrorCode::kBadRequest, "the job header has no string or integer \"id\"");
  out.id = *id;
  if (header.contains("name") && header["name"].is_string())
    out.name = header["name"].get<std::string>();
  if (header.contains("path") && !header["path"].is_null()) {
    if (!header["path"].is_string())
      throw MediaError(ErrorCode::kBadRequest, "\"path\" must be a string");
    out.path = header["path"].get<std::string>();
  }
  if (header.contains("url") && !header["url"].is_null()) {
    if (!header["url"].is_string())
      throw MediaError(ErrorCode::kBadRequest, "\"url\" must be a string");
    out.url = header["url"].get<std::string>();
  }
  out.options = worker_defaults;
  try {
    if (header.contains("options"))
      out.options = options_from_json(header["options"], worker_defaults);
  } catch (const std::invalid_argument& e) {
    throw MediaError(ErrorCode::kBadRequest, e.what());
  }
}

}  // namespace frameprint
