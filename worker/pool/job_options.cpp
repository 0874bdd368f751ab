#include "worker/pool/job_options.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace frameprint {

nlohmann::ordered_json options_to_json(const HashOptions& o) {
  return {{"seconds_per_hash", o.seconds_per_hash},
          {"dihedral", o.dihedral},
          {"exif_orientation", o.exif_orientation},
          {"exact", o.exact_stills},
          {"autorotate", o.autorotate},
          {"for_matching", o.for_matching},
          {"match_seconds_per_hash", o.match_seconds_per_hash},
          {"match_decoded_fps", o.match_decoded_fps},
          {"max_pixels", o.limits.max_pixels},
          {"max_frames", o.limits.max_frames},
          {"max_seconds", o.limits.max_seconds}};
}

namespace {

template <typename T>
T number(const nlohmann::json& j, const char* key, T fallback, T min_value) {
  if (!j.contains(key)) return fallback;
  const auto& v = j[key];
  if (!v.is_number())
    throw std::invalid_argument(std::string("option ") + key + " must be a number");
  if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer())
      throw std::invalid_argument(std::string("option ") + key + " must be an integer");
  }
  const T x = v.get<T>();
  if (!(x >= min_value))
    throw std::invalid_argument(std::string("option ") + key + " is out of range");
  return x;
}

bool flag(const nlohmann::json& j, const char* key, bool fallback) {
  if (!j.contains(key)) return fallback;
  if (!j[key].is_boolean())
    throw std::invalid_argument(std::string("option ") + key + " must be true or false");
  return j[key].get<bool>();
}

}  // namespace

HashOptions options_from_json(const nlohmann::json& j, const HashOptions& d) {
  if (!j.is_object()) throw std::invalid_argument("options must be an object");
  HashOptions o = d;
  o.seconds_per_hash = number<double>(j, "seconds_per_hash", d.seconds_per_hash, 0.0);
  o.dihedral = flag(j, "dihedral", d.dihedral);
  o.exif_orientation = flag(j, "exif_orientation", d.exif_orientation);
  o.autorotate = flag(j, "autorotate", d.autorotate);
  o.for_matching = flag(j, "for_matching", d.for_matching);
  o.match_seconds_per_hash =
      number<double>(j, "match_seconds_per_hash", d.match_seconds_per_hash, 0.0);
  o.match_decoded_fps = number<double>(j, "match_decoded_fps", d.match_decoded_fps, 0.0);
  // A job may ask for the exact path; a worker started with --exact hashes
  // every still exactly, whatever the job says.
  o.exact_stills = flag(j, "exact", false) || d.exact_stills;
  o.limits.max_pixels =
      std::min(number<int64_t>(j, "max_pixels", d.limits.max_pixels, 1), d.limits.max_pixels);
  o.limits.max_frames =
      std::min(number<int64_t>(j, "max_frames", d.limits.max_frames, 1), d.limits.max_frames);
  o.limits.max_seconds =
      std::min(number<double>(j, "max_seconds", d.limits.max_seconds, 0.0), d.limits.max_seconds);
  return o;
}

}  // namespace frameprint
