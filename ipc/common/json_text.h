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

// The "id" of a job header or reply object when it is one the protocol
// allows (a string or an integer), else nullptr. Only such an id may be
// copied or written back: a peer's value can be nested a million levels
// deep, which nlohmann parses without recursion but copies and dumps
// recursively, overflowing the stack.
template <typename Json>
const Json* job_id(const Json& j) {
  if (!j.is_object()) return nullptr;
  const auto it = j.find("id");
  if (it == j.end() || !(it->is_string() || it->is_number_integer())) return nullptr;
  return &*it;
}

}  // namespace frameprint
