// JSON as it goes on the wire and into output lines: compact, on one line,
// with invalid UTF-8 (e.g. in file names) replaced instead of throwing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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

namespace frameprint {

// Whether `s` is well-formed UTF-8 (JSON text can carry only that): no
// stray continuation bytes, overlong forms, surrogates or code points past
// U+10FFFF.
inline bool is_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3Fu);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

inline std::string base64(std::string_view bytes) {
  static constexpr char kDigits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (i + 1 < bytes.size())
      v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 2]);
    out += kDigits[(v >> 18) & 63];
    out += kDigits[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kDigits[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kDigits[v & 63] : '=';
  }
  return out;
}

// Sets "path" (a lossy, replaced rendering when it is not UTF-8) and, for
// such names, "path_b64" with the exact bytes, so that two names differing
// only in invalid bytes stay apart.
template <typename Json>
void set_path(Json& j, const std::string& path) {
  j["path"] = path;
  if (!is_utf8(path)) j["path_b64"] = base64(path);
}

}  // namespace frameprint
