// Multi-index hashing must return exactly what a linear scan returns, on
// random lists with near-duplicates planted at distances around the
// threshold (where an inexact index would lose or invent matches).
#include "kernels/hash_index.h"
#include "kernels/hash_search.h"
#include "kernels/pdq_cuda.h"
#include "tests/support/random_hash.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

namespace frameprint::pdq {
namespace {

using testing::random_hash;

Hash256 flip_bits(Hash256 h, int n, std::mt19937_64& rng) {
  std::vector<int> bits(256);
  for (int i = 0; i < 256; ++i) bits[static_cast<size_t>(i)] = i;
  std::shuffle(bits.begin(), bits.end(), rng);
  for (int i = 0; i < n; ++i)
    h.words[static_cast<size_t>(bits[static_cast<size_t>(i)] >> 6)] ^=
        uint64_t{1} << (bits[static_cast<size_t>(i)] & 63);
  return h;
}

std::set<std::pair<uint32_t, int>> as_set(const std::vector<HashHit>& hits) {
  std::set<std::pair<uint32_t, int>> s;
  for (const auto& h : hits)
    EXPECT_TRUE(s.insert({h.entry, h.distance}).second) << "entry reported twice";
  return s;
}

TEST(HashIndex, MultiIndexEqualsLinearScanAroundTheThreshold) {
  std::mt19937_64 rng(1234);
  std::vector<Hash256> list;
  std::vector<Hash256> queries;
  for (int i = 0; i < 200; ++i) queries.push_back(random_hash(rng));
  for (int i = 0; i < 30000; ++i) list.push_back(random_hash(rng));
  // Near-duplicates of every query at distances 0..40, several at 30..33.
  for (const auto& q : queries)
    for (int d : {0, 5, 15, 29, 30, 31, 31, 32, 33, 40, 47, 48, 63, 64})
      list.push_back(flip_bits(q, d, rng));
  std::shuffle(list.begin(), list.end(), rng);
  const MultiIndex index(list);
  size_t total = 0;
  for (int threshold : {0, 10, 31, 32, 47, 63, 70}) {
    for (const auto& q : queries) {
      std::vector<HashHit> a, b;
      linear_search(list, q, threshold, a);
      index.search(q, threshold, b);
      ASSERT_EQ(as_set(a), as_set(b)) << "threshold " << threshold;
      for (const auto& h : a) EXPECT_EQ(h.distance, hamming_distance(list[h.entry], q));
      total += a.size();
    }
  }
  EXPECT_GT(total, 200u * 7u);  // the planted pairs were found
}

// Seeds: exactly the entries within the threshold that share a whole
// 16-bit chunk with the query, worked out here bit by bit.
TEST(HashIndex, SeedsAreTheHitsThatShareAChunk) {
  std::mt19937_64 rng(4321);
  std::vector<Hash256> list, queries;
  for (int i = 0; i < 100; ++i) queries.push_back(random_hash(rng));
  for (int i = 0; i < 20000; ++i) list.push_back(random_hash(rng));
  for (const auto& q : queries)
    for (int d : {0, 8, 15, 16, 24, 31, 31, 31, 32, 40}) list.push_back(flip_bits(q, d, rng));
  const MultiIndex index(list);
  size_t within15 = 0, beyond15 = 0, missed = 0;
  for (int threshold : {15, 31}) {
    for (const auto& q : queries) {
      std::vector<HashHit> all, seeds;
      linear_search(list, q, threshold, all);
      index.search_seeds(q, threshold, seeds);
      std::vector<HashHit> want;
      for (const auto& h : all) {
        bool shares = false;
        for (int c = 0; c < MultiIndex::kChunks; ++c)
          shares = shares || hash_chunk(list[h.entry], c) == hash_chunk(q, c);
        if (!shares) {
          EXPECT_GT(h.distance, 15) << "a hit within 15 bits shares no chunk";
          ++missed;
          continue;
        }
        want.push_back(h);
        ++(h.distance <= 15 ? within15 : beyond15);
      }
      ASSERT_EQ(as_set(seeds), as_set(want)) << "threshold " << threshold;
    }
  }
  // Most planted pairs past 15 bits are still seeds; some are not.
  EXPECT_GT(within15, 0u);
  EXPECT_GT(beyond15, 4u * missed);
  EXPECT_GT(missed, 0u);
}

TEST(HashIndex, LinearSearchReportsInListOrderWithDistances) {
  std::mt19937_64 rng(7);
  const Hash256 q = random_hash(rng);
  std::vector<Hash256> list = {flip_bits(q, 31, rng), flip_bits(q, 32, rng), q, random_hash(rng)};
  std::vector<HashHit> hits;
  linear_search(list, q, 31, hits);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].entry, 0u);
  EXPECT_EQ(hits[0].distance, 31);
  EXPECT_EQ(hits[1].entry, 2u);
  EXPECT_EQ(hits[1].distance, 0);
  const MultiIndex empty{std::vector<Hash256>{}};
  hits.clear();
  empty.search(q, 31, hits);
  EXPECT_TRUE(hits.empty());
}

// The matcher's search: on the CPU here (use_gpu says why not), on the GPU
// where a device is usable; the hits equal the linear scan's either way.
TEST(HashSearch, SameHitsWhereverItSearches) {
  std::mt19937_64 rng(99);
  std::vector<Hash256> list, queries;
  for (int i = 0; i < 5000; ++i) list.push_back(random_hash(rng));
  for (int i = 0; i < 50; ++i)
    queries.push_back(flip_bits(list[static_cast<size_t>(i * 97)], i % 40, rng));
  HashSearch search(list);
  std::string why;
  const bool gpu = search.use_gpu(0, &why);
  EXPECT_EQ(gpu, cuda_device_count() > 0);
  if (!gpu) {
    EXPECT_FALSE(why.empty());
  }
  EXPECT_EQ(search.on_gpu(), gpu);
  std::vector<std::vector<HashHit>> hits;
  search.search(queries, 31, hits);
  ASSERT_EQ(hits.size(), queries.size());
  for (size_t q = 0; q < queries.size(); ++q) {
    std::vector<HashHit> want;
    linear_search(list, queries[q], 31, want);
    EXPECT_EQ(as_set(hits[q]), as_set(want)) << q;
    std::vector<HashHit> one;
    search.search(queries[q], 31, one);
    EXPECT_EQ(as_set(one), as_set(want)) << q;
    // Seeds: the hits that share a 16-bit chunk with the query, wherever
    // the search runs (the CPU and the GPU must choose the same candidates).
    std::vector<std::vector<HashHit>> seeds;
    search.search_seeds(std::span(&queries[q], 1), 31, seeds);
    ASSERT_EQ(seeds.size(), 1u);
    std::vector<HashHit> shared;
    for (const auto& h : want) {
      bool shares = false;
      for (int c = 0; c < MultiIndex::kChunks; ++c)
        shares = shares || hash_chunk(list[h.entry], c) == hash_chunk(queries[q], c);
      if (shares) shared.push_back(h);
    }
    EXPECT_EQ(as_set(seeds[0]), as_set(shared)) << q;
  }
}

}  // namespace
}  // namespace frameprint::pdq
