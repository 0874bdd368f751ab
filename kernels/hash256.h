// A 256-bit PDQ hash: bit k is DCT coefficient (k / 16, k % 16) of the
// 16x16 block. Printed as 64 hex digits, most significant bit (255) first,
// which is the order Meta's reference tools print and hash lists use.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace frameprint {

struct Hash256 {
  std::array<uint64_t, 4> words{};  // words[0] holds bits 0..63

  void set_bit(int k) { words[k >> 6] |= uint64_t{1} << (k & 63); }
  bool bit(int k) const { return (words[k >> 6] >> (k & 63)) & 1u; }

  friend bool operator==(const Hash256&, const Hash256&) = default;

  // 64 lowercase hex digits, bit 255 first.
  std::string to_hex() const;
  // Accepts 64 hex digits (either case); nullopt for anything else.
  static std::optional<Hash256> from_hex(std::string_view hex);
};

inline int hamming_distance(const Hash256& a, const Hash256& b) {
  int d = 0;
  for (int i = 0; i < 4; ++i) d += std::popcount(a.words[i] ^ b.words[i]);
  return d;
}

}  // namespace frameprint
