// Exact Hamming-radius search over lists of 256-bit hashes: a vectorised
// linear scan, and multi-index hashing (MIH) for large lists. Both return
// exactly the entries within the threshold; MIH only looks at far fewer.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/hash256.h"

namespace frameprint::pdq {

struct HashHit {
  uint32_t entry;  // index into the list
  int distance;
};

// Appends every entry of `list` within `threshold` of `query` (in list order).
void linear_search(std::span<const Hash256> list, const Hash256& query, int threshold,
                   std::vector<HashHit>& out);

// Multi-index hashing (Norouzi et al.): the 256 bits are cut into 16 chunks
// of 16 bits. Two hashes within distance t agree to within floor(t / 16)
// bits on at least one chunk, so probing each chunk's table with every value
// that close finds every match. For t up to 63 (radius 3) this is exact;
// above, search() falls back to the linear scan. Memory: 12 bytes per entry
// per chunk table plus the hashes, about 224 MB for a million entries.
class MultiIndex {
 public:
  static constexpr int kChunks = 16;

  MultiIndex() = default;
  explicit MultiIndex(std::vector<Hash256> hashes);

  size_t size() const { return hashes_.size(); }
  const std::vector<Hash256>& hashes() const { return hashes_; }

  // Appends every entry within `threshold` of `query`, each once, in no
  // particular order.
  void search(const Hash256& query, int threshold, std::vector<HashHit>& out) const;

  // Appends the entries within `threshold` of `query` that agree with it
  // exactly on at least one 16-bit chunk, each once: a subset of search()
  // that holds every entry within 15 bits (16 chunks cannot all differ)
  // and most of those further out (a random pair 31 bits apart agrees on
  // two chunks on average). It probes one bucket per chunk instead of 17,
  // about a tenth of search()'s cost at threshold 31: for finding which
  // listed items to look at closely, not for the hits themselves.
  void search_seeds(const Hash256& query, int threshold, std::vector<HashHit>& out) const;

 private:
  std::vector<Hash256> hashes_;
  // Per chunk, entries grouped by chunk value: ids_[c][offsets_[c][v] ..
  // offsets_[c][v + 1]) hold the entries whose chunk c equals v.
  std::array<std::vector<uint32_t>, kChunks> offsets_;
  std::array<std::vector<uint32_t>, kChunks> ids_;
  // Beside each posting, one 64-bit word of its hash from outside the
  // chunk: its distance alone exceeds the threshold for about half of the
  // random candidates, which are then dropped without fetching the hash.
  std::array<std::vector<uint64_t>, kChunks> signatures_;
};

inline uint16_t hash_chunk(const Hash256& h, int c) {
  return static_cast<uint16_t>(h.words[static_cast<size_t>(c >> 2)] >> (16 * (c & 3)));
}

}  // namespace frameprint::pdq
