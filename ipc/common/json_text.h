// JSON as it goes on the wire and into output lines: compact, on one line,
// with invalid UTF-8 (e.g. in file names) replaced instead of throwing.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace frameprint {

template <typename Json>
std::string json_text(const Json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace frameprint
