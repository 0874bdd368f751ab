#include "kernels/hash_index.h"

#include <bit>
#include <stdexcept>

namespace frameprint::pdq {

namespace {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
// POPCNT is not in baseline x86-64; build the scan both ways.
#define FP_POPCNT_CLONES __attribute__((target_clones("popcnt", "default")))
#else
#define FP_POPCNT_CLONES
#endif

FP_POPCNT_CLONES void scan(const Hash256* list, size_t n, const Hash256& q, int threshold,
                           std::vector<HashHit>& out) {
  const uint64_t q0 = q.words[0], q1 = q.words[1], q2 = q.words[2], q3 = q.words[3];
  for (size_t i = 0; i < n; ++i) {
    const int d = std::popcount(list[i].words[0] ^ q0) + std::popcount(list[i].words[1] ^ q1) +
                  std::popcount(list[i].words[2] ^ q2) + std::popcount(list[i].words[3] ^ q3);
    if (d <= threshold) out.push_back({static_cast<uint32_t>(i), d});
  }
}

// Calls fn(v) for every 16-bit value within `radius` bits of `center`.
template <typename Fn>
void for_each_near(uint16_t center, int radius, Fn&& fn) {
  fn(center);
  if (radius < 1) return;
  for (int a = 0; a < 16; ++a) {
    const auto va = static_cast<uint16_t>(center ^ (1u << a));
    fn(va);
    if (radius < 2) continue;
    for (int b = a + 1; b < 16; ++b) {
      const auto vb = static_cast<uint16_t>(va ^ (1u << b));
      fn(vb);
      if (radius < 3) continue;
      for (int c = b + 1; c < 16; ++c) fn(static_cast<uint16_t>(vb ^ (1u << c)));
    }
  }
}

inline int chunk_distance(uint16_t a, uint16_t b) {
  return std::popcount(static_cast<unsigned>(a ^ b));
}

struct Tables {
  const std::vector<Hash256>& hashes;
  const std::array<std::vector<uint32_t>, MultiIndex::kChunks>& offsets;
  const std::array<std::vector<uint32_t>, MultiIndex::kChunks>& ids;
  const std::array<std::vector<uint64_t>, MultiIndex::kChunks>& signatures;
};

// The word of the hash stored beside chunk c's postings: not the one that
// holds chunk c.
inline size_t signature_word(int c) { return static_cast<size_t>(((c >> 2) + 2) & 3); }

// The probe loop as one function, so each build (POPCNT or not) inlines its
// popcounts into it. Three passes keep many memory accesses in flight: all
// probe keys (prefetching their bucket offsets), then all candidates
// (prefetching their hashes), then the distance checks.
FP_POPCNT_CLONES void probe(const Tables& t, const Hash256& query, int threshold, int radius,
                            std::vector<HashHit>& out) {
  constexpr int kChunks = MultiIndex::kChunks;
  std::array<uint16_t, kChunks> qc;
  for (int c = 0; c < kChunks; ++c) qc[static_cast<size_t>(c)] = hash_chunk(query, c);

  struct Key {
    uint16_t value;
    uint8_t chunk;
  };
  std::vector<Key> keys;
  keys.reserve(static_cast<size_t>(kChunks) * 17);
  for (int c = 0; c < kChunks; ++c) {
    const uint32_t* off = t.offsets[static_cast<size_t>(c)].data();
    for_each_near(qc[static_cast<size_t>(c)], radius, [&](uint16_t v) {
      __builtin_prefetch(off + v);
      keys.push_back({v, static_cast<uint8_t>(c)});
    });
  }
  struct Candidate {
    uint32_t id;
    uint32_t chunk;
  };
  std::vector<Candidate> cand;
  cand.reserve(4096);
  for (const Key& k : keys) {
    const uint32_t* off = t.offsets[k.chunk].data();
    const uint32_t* ids = t.ids[k.chunk].data();
    const uint64_t* sig = t.signatures[k.chunk].data();
    const uint64_t qw = query.words[signature_word(k.chunk)];
    for (uint32_t i = off[k.value]; i < off[k.value + 1u]; ++i) {
      if (std::popcount(sig[i] ^ qw) > threshold) continue;  // a lower bound on the distance
      __builtin_prefetch(&t.hashes[ids[i]]);
      cand.push_back({ids[i], k.chunk});
    }
  }
  for (const Candidate& cd : cand) {
    const Hash256& h = t.hashes[cd.id];
    const int d = hamming_distance(h, query);
    if (d > threshold) continue;
    // Report each entry once: from the first chunk that is within the
    // radius (an earlier chunk within it found the entry already).
    bool earlier = false;
    for (uint32_t e = 0; e < cd.chunk && !earlier; ++e)
      earlier = chunk_distance(hash_chunk(h, static_cast<int>(e)), qc[e]) <= radius;
    if (!earlier) out.push_back({cd.id, d});
  }
}

}  // namespace

void linear_search(std::span<const Hash256> list, const Hash256& query, int threshold,
                   std::vector<HashHit>& out) {
  scan(list.data(), list.size(), query, threshold, out);
}

MultiIndex::MultiIndex(std::vector<Hash256> hashes) : hashes_(std::move(hashes)) {
  if (hashes_.size() >= UINT32_MAX) throw std::length_error("MultiIndex: too many entries");
  for (int c = 0; c < kChunks; ++c) {
    auto& off = offsets_[static_cast<size_t>(c)];
    auto& ids = ids_[static_cast<size_t>(c)];
    off.assign(65537, 0);
    for (const auto& h : hashes_) ++off[hash_chunk(h, c) + 1u];
    for (size_t v = 1; v < off.size(); ++v) off[v] += off[v - 1];
    auto& sig = signatures_[static_cast<size_t>(c)];
    ids.resize(hashes_.size());
    sig.resize(hashes_.size());
    std::vector<uint32_t> fill(off.begin(), off.end() - 1);
    for (uint32_t i = 0; i < hashes_.size(); ++i) {
      const uint32_t slot = fill[hash_chunk(hashes_[i], c)]++;
      ids[slot] = i;
      sig[slot] = hashes_[i].words[signature_word(c)];
    }
  }
}

void MultiIndex::search(const Hash256& query, int threshold, std::vector<HashHit>& out) const {
  if (threshold < 0 || hashes_.empty()) return;
  const int radius = threshold / kChunks;
  if (radius > 3) {  // probing would cost more than scanning
    linear_search(hashes_, query, threshold, out);
    return;
  }
  probe(Tables{hashes_, offsets_, ids_, signatures_}, query, threshold, radius, out);
}

void MultiIndex::search_seeds(const Hash256& query, int threshold,
                              std::vector<HashHit>& out) const {
  if (threshold < 0 || hashes_.empty()) return;
  probe(Tables{hashes_, offsets_, ids_, signatures_}, query, threshold, 0, out);
}

}  // namespace frameprint::pdq
