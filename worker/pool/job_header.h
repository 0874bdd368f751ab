// The job header: the first frame of every pool request, a JSON object
//   {"id": "...", "name": "photo.jpg", "path": "/abs/path" (optional),
//    "url": "https://..." (optional), "options": {...}}
// written by producers (`frameprint submit`) and read by workers. Both sides
// use this one codec, beside the options codec (job_options.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "worker/media/media_hasher.h"

namespace frameprint {

struct JobHeader {
  nlohmann::json id;                // a string or an integer, echoed in the reply
  std::string name;                 // display name; "" when absent
  std::optional<std::string> path;  // a path job
  std::optional<std::string> url;   // a URL job; with neither, the media bytes follow
  HashOptions options;              // the worker's defaults, tightened by the job
};

// The header frame's text for a job.
std::string make_job_header(const std::string& id, const std::string& name,
                            const std::optional<std::string>& path, const HashOptions& options,
                            const std::optional<std::string>& url = std::nullopt);

// Parses a header into `out` (id first, so that an error reply can still
// carry it). Throws MediaError kBadRequest naming what is wrong.
void parse_job_header(std::string_view text, const HashOptions& worker_defaults, JobHeader& out);

}  // namespace frameprint
