#include "kernels/hash256.h"

namespace frameprint {

std::string Hash256::to_hex() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(64, '0');
  for (int pos = 0; pos < 64; ++pos) {
    const int low_bit = 252 - 4 * pos;  // the nibble holding bits low_bit..low_bit+3
    const unsigned nibble = static_cast<unsigned>((words[low_bit >> 6] >> (low_bit & 63)) & 0xFu);
    out[pos] = digits[nibble];
  }
  return out;
}

std::optional<Hash256> Hash256::from_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  Hash256 h;
  for (int pos = 0; pos < 64; ++pos) {
    const char c = hex[pos];
    uint64_t v;
    if (c >= '0' && c <= '9') v = static_cast<uint64_t>(c - '0');
    else if (c >= 'a' && c <= 'f') v = static_cast<uint64_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v = static_cast<uint64_t>(c - 'A' + 10);
    else return std::nullopt;
    const int low_bit = 252 - 4 * pos;
    h.words[low_bit >> 6] |= v << (low_bit & 63);
  }
  return h;
}

}  // namespace frameprint
