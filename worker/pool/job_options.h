// Hashing options as they travel in a job header ("options": {...}): the
// producer writes them from its command line, the worker reads them on top
// of its own defaults. A job may lower the worker's limits, never raise them,
// and may ask for exact stills, never turn off a worker's --exact.
#pragma once

#include <nlohmann/json.hpp>

#include "worker/media/media_hasher.h"

namespace frameprint {

nlohmann::ordered_json options_to_json(const HashOptions& o);

// Throws std::invalid_argument (with the offending key) for a wrong type or
// value. Unknown keys are ignored, so newer producers work with older workers.
HashOptions options_from_json(const nlohmann::json& j, const HashOptions& worker_defaults);

}  // namespace frameprint
