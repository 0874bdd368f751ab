// Fuzz target: the job header and options codec (worker/pool/job_header.h,
// job_options.h) on any text. parse_job_header either throws MediaError
// kBadRequest or gives options no looser than the worker's defaults (a job
// may lower the limits, never raise them); a parsed header written again
// with make_job_header parses back to the same job. options_from_json gets
// every JSON value the text holds.
#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/fuzz/fuzz_targets.h"
#include "worker/media/media_error.h"
#include "worker/pool/job_header.h"
#include "worker/pool/job_options.h"

namespace frameprint::fuzz {

namespace {

HashOptions worker_defaults() {
  HashOptions d;
  d.seconds_per_hash = 1.0;
  d.limits.max_pixels = 50'000'000;
  d.limits.max_frames = 100'000;
  d.limits.max_seconds = 120.0;
  return d;
}

void check_within(const HashOptions& o, const HashOptions& d) {
  FUZZ_CHECK(o.seconds_per_hash >= 0);
  FUZZ_CHECK(o.limits.max_pixels >= 1 && o.limits.max_pixels <= d.limits.max_pixels);
  FUZZ_CHECK(o.limits.max_frames >= 1 && o.limits.max_frames <= d.limits.max_frames);
  FUZZ_CHECK(o.limits.max_seconds >= 0 && o.limits.max_seconds <= d.limits.max_seconds);
  FUZZ_CHECK(o.decoder_threads == d.decoder_threads);  // not the job's to choose
}

bool same_options(const HashOptions& a, const HashOptions& b) {
  return a.seconds_per_hash == b.seconds_per_hash && a.dihedral == b.dihedral &&
         a.exif_orientation == b.exif_orientation && a.autorotate == b.autorotate &&
         a.limits.max_pixels == b.limits.max_pixels && a.limits.max_frames == b.limits.max_frames &&
         a.limits.max_seconds == b.limits.max_seconds && a.decoder_threads == b.decoder_threads;
}

void header(std::string_view text, const HashOptions& defaults) {
  JobHeader h;
  try {
    parse_job_header(text, defaults, h);
  } catch (const MediaError& e) {
    FUZZ_CHECK(e.code() == ErrorCode::kBadRequest);
    return;
  }
  FUZZ_CHECK(h.id.is_string() || h.id.is_number_integer());
  check_within(h.options, defaults);
  // What a producer writes for this job reads back the same (producers
  // write string ids).
  if (!h.id.is_string() || !std::isfinite(h.options.seconds_per_hash)) return;
  JobHeader again;
  parse_job_header(make_job_header(h.id.get<std::string>(), h.name, h.path, h.options), defaults,
                   again);
  FUZZ_CHECK(again.id == h.id && again.name == h.name && again.path == h.path);
  FUZZ_CHECK(same_options(again.options, h.options));
}

void options(const nlohmann::json& j, const HashOptions& defaults) {
  try {
    check_within(options_from_json(j, defaults), defaults);
  } catch (const std::invalid_argument&) {
  }
}

}  // namespace

void job_header(Input input) {
  const std::string_view text(reinterpret_cast<const char*>(input.data()), input.size());
  const HashOptions defaults = worker_defaults();
  header(text, defaults);
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return;
  options(j, defaults);
  if (j.is_object() && j.contains("options")) options(j["options"], defaults);
}

}  // namespace frameprint::fuzz

FRAMEPRINT_FUZZ_ENTRY(frameprint::fuzz::job_header)
