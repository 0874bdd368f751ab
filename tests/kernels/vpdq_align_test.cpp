#include "kernels/vpdq_align.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <tuple>

#include "tests/support/random_hash.h"
#include "tests/support/testdata.h"

namespace frameprint::pdq {
namespace {

struct Video {
  std::vector<VpdqFrame> frames;
  std::vector<TaggedHash> hashes;  // one per frame, for the query view

  std::vector<QueryFrame> query() const {
    std::vector<QueryFrame> q;
    for (size_t i = 0; i < frames.size(); ++i)
      q.push_back({frames[i].ts, frames[i].quality, std::span(&hashes[i], 1)});
    return q;
  }
  void add(const VpdqFrame& f) {
    frames.push_back(f);
    hashes.push_back({f.hash, 0});
  }
};

// The reference's every-frame hashes of a shared video, optionally only
// [from, to) seconds, shifted by `shift`, or only the first frame at or after
// each `step` seconds (a list made at 1 hash/s).
Video reference(const std::string& name, double step = 0, double from = 0, double to = 1e9,
                double shift = 0) {
  Video v;
  double next = from;
  for (const auto& l :
       testing::read_vpdq_file(testing::testdata_dir() / "vpdq" / "reference" / (name + ".txt"))) {
    if (l.timestamp < from - 1e-9 || l.timestamp >= to) continue;
    if (step > 0) {
      if (l.timestamp + 1e-6 < next) continue;
      next = (std::floor((l.timestamp + 1e-6) / step) + 1) * step;
    }
    v.add({l.hash, l.quality, l.timestamp - from + shift});
  }
  return v;
}

VideoAlignment align(const Video& q, const Video& l, const AlignRules& r = {}) {
  const auto qf = q.query();
  return align_videos(qf, l.frames, strict_pairs(qf, l.frames, r), r);
}

TEST(VpdqAlign, CoverageInTimeDoesNotDependOnEitherSidesRate) {
  FRAMEPRINT_REQUIRE_TESTDATA();
  const Video every = reference("chair-19-sd-bar");
  const Video sparse = reference("chair-19-sd-bar", 1.0);
  ASSERT_GT(every.frames.size(), 10 * sparse.frames.size());
  for (const auto& [q, l] : {std::pair{&every, &every}, std::pair{&every, &sparse},
                             std::pair{&sparse, &every}, std::pair{&sparse, &sparse}}) {
    const auto a = align(*q, *l);
    EXPECT_GT(a.query_pct(), 97.0) << q->frames.size() << " vs " << l->frames.size();
    EXPECT_GT(a.listed_pct(), 97.0) << q->frames.size() << " vs " << l->frames.size();
    ASSERT_EQ(a.segments.size(), 1u);
    EXPECT_NEAR(a.segments[0].query_start, 0.0, 0.05);
    EXPECT_NEAR(a.segments[0].listed_start, 0.0, 0.05);
  }
}

TEST(VpdqAlign, AHalfAndAContainedClipAreMeasuredOnBothSides) {
  FRAMEPRINT_REQUIRE_TESTDATA();
  // chair-19 is 18.8 s long. Its first half against the whole, both ways.
  const Video whole = reference("chair-19-sd-bar");
  const Video half = reference("chair-19-sd-bar", 0, 0, 9.4);
  auto a = align(half, whole);
  EXPECT_GT(a.query_pct(), 97.0);
  EXPECT_NEAR(a.listed_pct(), 50.0, 4.0);
  a = align(whole, half);
  EXPECT_NEAR(a.query_pct(), 50.0, 4.0);
  EXPECT_GT(a.listed_pct(), 97.0);

  // The listed clip inside a longer video: 4 s of doorknob, then the chair
  // listed at one hash a second, queried every frame.
  Video compilation = reference("doorknob-hd-no-bar");
  for (const auto& f : reference("chair-19-sd-bar", 0, 0, 1e9, 4.0).frames) compilation.add(f);
  a = align(compilation, reference("chair-19-sd-bar", 1.0));
  EXPECT_GT(a.listed_pct(), 97.0);
  // Of doorknob's 4 s, 60 frames (2 s) are below quality 50: not usable time.
  EXPECT_NEAR(a.query_seconds, 18.8 + 2.0, 0.1);
  EXPECT_NEAR(a.query_matched_s, 18.8, 0.3);
  ASSERT_EQ(a.segments.size(), 1u);
  EXPECT_NEAR(a.segments[0].query_start, 4.0, 0.1);
  EXPECT_NEAR(a.segments[0].listed_start, 0.0, 0.1);
  EXPECT_NEAR(a.segments[0].query_end, 22.8, 0.2);

  // Unrelated footage shares nothing.
  a = align(reference("doorknob-hd-no-bar"), whole);
  EXPECT_EQ(a.query_matched_s, 0.0);
  EXPECT_TRUE(a.segments.empty());
}

Hash256 with_bits_flipped(Hash256 h, int first, int n) {
  for (int b = first; b < first + n; ++b)
    h.words[static_cast<size_t>(b / 64)] ^= uint64_t{1} << (b % 64);
  return h;
}

TEST(VpdqAlign, FramesInLineWithMatchedNeighboursPassTheRelaxedThreshold) {
  std::mt19937_64 rng(7);
  auto random_hash = [&] { return testing::random_hash(rng); };
  // Listed: 20 distinct frames, one a second. Query: the same at 0.5 s
  // offsets... every other frame 20 bits off (strict), the rest 40 bits
  // off (an overlay, say).
  Video listed, query;
  for (int k = 0; k < 20; ++k) listed.add({random_hash(), 90, double(k)});
  for (int k = 0; k < 20; ++k)
    query.add({with_bits_flipped(listed.frames[k].hash, 0, k % 2 ? 40 : 20), 90, double(k)});
  AlignRules r;
  auto a = align(query, listed, r);
  EXPECT_EQ(a.query_frames_matched, 20);
  EXPECT_EQ(std::count_if(a.pairs.begin(), a.pairs.end(), [](auto& p) { return p.relaxed; }), 10);
  EXPECT_GT(a.listed_pct(), 99.0);
  // Turned off: only the strict half, and the coverage says so.
  r.relaxed_threshold = r.threshold;
  a = align(query, listed, r);
  EXPECT_EQ(a.query_frames_matched, 10);
  // 40 bits off with no strict neighbour is not a match.
  Video lone;
  for (int k = 0; k < 20; ++k)
    lone.add({with_bits_flipped(listed.frames[k].hash, 0, 40), 90, double(k)});
  a = align(lone, listed, AlignRules{});
  EXPECT_EQ(a.query_frames_matched, 0);
  // In line in time only: a frame 40 bits off the listed frame of another
  // time is not taken.
  Video shuffled = query;
  std::swap(shuffled.hashes[5], shuffled.hashes[15]);
  std::swap(shuffled.frames[5].hash, shuffled.frames[15].hash);
  a = align(shuffled, listed, AlignRules{});
  EXPECT_EQ(a.query_frames_matched, 18);
}

// Long videos (millions of frame pairs) are paired through an index of the
// larger side, and a matcher's query through an index of its own hashes;
// the pairs must be those of comparing every frame with every frame: the
// best of a query frame's hashes per listed frame (the first on a tie),
// usable quality on both sides, in query order.
struct PairCase {
  std::vector<VpdqFrame> listed;
  std::vector<std::vector<TaggedHash>> hashes;
  std::vector<QueryFrame> query;

  PairCase(size_t listed_frames, size_t query_frames, uint64_t seed) {
    std::mt19937_64 rng(seed);
    auto random_hash = [&] { return testing::random_hash(rng); };
    for (size_t j = 0; j < listed_frames; ++j)
      listed.push_back({random_hash(), j % 50 == 7 ? 30 : 90, static_cast<double>(j) * 0.5});
    // Copies of listed frames at 0..40 bits, mirrored copies, repeats
    // (several query frames per listed frame), noise, and unusable hashes.
    hashes.resize(query_frames);
    for (size_t i = 0; i < query_frames; ++i) {
      const auto& src = listed[(i * 7) % listed.size()].hash;
      const int bits = static_cast<int>(i % 41);
      const Hash256 plain = i % 3 == 0 ? random_hash() : with_bits_flipped(src, 3, bits);
      const Hash256 other = i % 5 == 0 ? with_bits_flipped(src, 100, bits / 2) : plain;
      hashes[i] = {{plain, 0, 90}, {other, 5, i % 11 == 0 ? 20 : 90}};
    }
    for (size_t i = 0; i < query_frames; ++i)
      query.push_back({static_cast<double>(i) * 0.1, i % 13 == 0 ? 40 : 90, std::span(hashes[i])});
  }

  std::vector<FramePair> brute_force(const AlignRules& r) const {
    std::vector<FramePair> want;
    for (uint32_t i = 0; i < query.size(); ++i) {
      if (query[i].quality < r.min_quality) continue;
      for (uint32_t j = 0; j < listed.size(); ++j) {
        if (listed[j].quality < r.min_quality) continue;
        int best = 257;
        uint8_t tag = 0;
        for (const auto& th : query[i].hashes)
          if (th.quality >= r.min_quality && hamming_distance(th.hash, listed[j].hash) < best) {
            best = hamming_distance(th.hash, listed[j].hash);
            tag = th.tag;
          }
        if (best <= r.threshold) want.push_back({i, j, best, tag, false});
      }
    }
    return want;
  }
};

void expect_same_pairs(const std::vector<FramePair>& got, const std::vector<FramePair>& want) {
  ASSERT_GT(want.size(), 100u);
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end(),
                             [](const auto& a, const auto& b) { return a.query < b.query; }));
  auto key = [](const FramePair& p) { return std::tuple(p.query, p.listed, p.distance, p.tag); };
  std::vector<std::tuple<uint32_t, uint32_t, int, uint8_t>> a, b;
  for (const auto& p : got) a.push_back(key(p));
  for (const auto& p : want) b.push_back(key(p));
  std::sort(a.begin(), a.end());
  EXPECT_EQ(a, b);
  EXPECT_TRUE(std::any_of(want.begin(), want.end(), [](const auto& p) { return p.tag == 5; }));
}

TEST(VpdqAlign, LongVideosGetTheSamePairsThroughAnIndex) {
  const AlignRules r;
  // 2 x 1200 query hashes against 2000 listed frames (4.8 M distances):
  // the query side is the larger, and is indexed.
  const PairCase wide(2000, 1200, 11);
  expect_same_pairs(strict_pairs(wide.query, wide.listed, r), wide.brute_force(r));
  // 2 x 600 against 4000: the listed side is indexed.
  const PairCase tall(4000, 600, 12);
  expect_same_pairs(strict_pairs(tall.query, tall.listed, r), tall.brute_force(r));
  // A matcher's query (2,400 hashes: indexed once) against a short
  // listed video (40 frames: 96,000 distances, past brute force's share).
  const PairCase matcher(40, 1200, 13);
  static_assert(QueryPairs::kIndexFrom <= 2400 && QueryPairs::kBruteForceUpTo < 2400 * 40);
  expect_same_pairs(QueryPairs(matcher.query, r).with(matcher.listed), matcher.brute_force(r));
}

TEST(VpdqAlign, PairsPastTheBoundAreRefusedOnEveryPath) {
  // One static frame on both sides pairs every frame with every other.
  Video still;
  const Hash256 h = reference("chair-19-sd-bar").frames[0].hash;
  for (int i = 0; i < 3000; ++i) still.add({h, 100, i / 30.0});
  const auto q = still.query();
  AlignRules r;
  r.max_pairs = 1000000;
  // 3000 x 100 = 300,000 pairs: brute force, and found.
  const std::span<const VpdqFrame> few(still.frames.data(), 100);
  EXPECT_EQ(strict_pairs(q, few, r).size(), 300000u);
  // 3000 x 3000 = 9 M pairs through the listed side's index, the query's,
  // and brute force (a bound past the distances it computes).
  EXPECT_THROW(strict_pairs(q, still.frames, r), std::length_error);
  EXPECT_THROW(QueryPairs(q, r).with(still.frames), std::length_error);
  const std::span<const QueryFrame> q1000(q.data(), 1000);
  const std::span<const VpdqFrame> l1000(still.frames.data(), 1000);
  r.max_pairs = 999999;  // 1000 x 1000 distances: under the index's share, brute force
  EXPECT_THROW(strict_pairs(q1000, l1000, r), std::length_error);
  r.max_pairs = 0;  // no bound
  EXPECT_EQ(strict_pairs(q1000, l1000, r).size(), 1000000u);
}

TEST(VpdqAlign, LoosePairsCountOnlyInRunsAtOneOffset) {
  std::mt19937_64 rng(11);
  Video listed, query;
  for (int k = 0; k < 10; ++k) {
    Hash256 h;
    for (auto& w : h.words) w = rng();
    listed.add({h, 90, double(k)});
    query.add({with_bits_flipped(h, 0, 40), 90, double(k) + 0.5});  // 0.5 s into the query
  }
  const auto qf = query.query();
  auto loose = [&](std::vector<uint32_t> frames, int shift) {
    std::vector<FramePair> p;
    for (uint32_t i : frames) p.push_back({i, i + static_cast<uint32_t>(shift), 40, 0, false});
    return p;
  };
  // Three query frames at one offset: a run, and the frames between follow.
  auto a = align_videos(qf, listed.frames, loose({2, 3, 4}, 0), AlignRules{});
  EXPECT_EQ(a.query_frames_matched, 10);
  // Two, or three at offsets that disagree: nothing.
  a = align_videos(qf, listed.frames, loose({2, 3}, 0), AlignRules{});
  EXPECT_EQ(a.query_frames_matched, 0);
  auto scattered = loose({2}, 0);
  for (auto& p : loose({3}, 4)) scattered.push_back(p);
  for (auto& p : loose({4}, -3)) scattered.push_back(p);
  a = align_videos(qf, listed.frames, scattered, AlignRules{});
  EXPECT_EQ(a.query_frames_matched, 0);
}

TEST(VpdqAlign, LowQualityFramesTakeNoPart) {
  Video listed, query;
  Hash256 a, b;
  a.words = {1, 2, 3, 4};
  b.words = {~1ull, 5, 6, 7};
  for (int k = 0; k < 10; ++k) listed.add({k < 5 ? a : b, k < 5 ? 90 : 10, double(k)});
  for (int k = 0; k < 10; ++k) query.add({k < 5 ? a : b, 90, double(k)});
  const auto al = align(query, listed);
  EXPECT_NEAR(al.listed_seconds, 5.0, 1e-9);  // the dark half is not part of the listed time
  EXPECT_NEAR(al.listed_pct(), 100.0, 1e-9);
  EXPECT_NEAR(al.query_pct(), 50.0, 1e-9);
}

}  // namespace
}  // namespace frameprint::pdq
