#include "kernels/vpdq_compare.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <random>
#include <set>

#include "tests/support/random_hash.h"
#include "tests/support/testdata.h"

namespace frameprint::pdq {
namespace {

std::vector<VpdqFrame> frames_of(const std::vector<testing::VpdqLine>& lines) {
  std::vector<VpdqFrame> f;
  for (const auto& l : lines) f.push_back({l.hash, l.quality, l.timestamp});
  return f;
}

// Every ordered pair of the shared reference hash files gives the
// percentages the reference matcher printed, to two decimals.
TEST(VpdqCompare, ReproducesTheReferenceMatcherPercentages) {
  FRAMEPRINT_REQUIRE_TESTDATA();
  const auto dir = testing::testdata_dir() / "vpdq";
  int pairs = 0;
  for (const auto& row : testing::read_csv(dir / "match-reference.csv")) {
    const auto q =
        frames_of(testing::read_vpdq_file(dir / "reference" / (row.at("query") + ".txt")));
    const auto c =
        frames_of(testing::read_vpdq_file(dir / "reference" / (row.at("compared") + ".txt")));
    VpdqRules rules;
    rules.threshold = std::stoi(row.at("threshold"));
    rules.min_quality = std::stoi(row.at("min_quality"));
    const auto r = compare_videos(q, c, rules);
    char qp[32], cp[32];
    std::snprintf(qp, sizeof qp, "%.2f", r.query_pct);
    std::snprintf(cp, sizeof cp, "%.2f", r.compared_pct);
    EXPECT_EQ(qp, row.at("query_pct")) << row.at("query") << " vs " << row.at("compared");
    EXPECT_EQ(cp, row.at("compared_pct")) << row.at("query") << " vs " << row.at("compared");
    ++pairs;
  }
  EXPECT_EQ(pairs, 30);
}

Hash256 h(uint64_t v) {
  Hash256 x;
  x.words[0] = v;
  return x;
}

// Past 4 M distances the comparison goes through an index: the counts are
// still the definition's (some frame of the other video within the
// threshold), here computed by a plain double loop, for long videos with
// near copies and for long static scenes.
TEST(VpdqCompare, LongVideosCountTheSameThroughAnIndex) {
  std::mt19937_64 rng(5);
  auto random_hash = [&] { return testing::random_hash(rng); };
  std::vector<VpdqFrame> q, c;
  for (int i = 0; i < 2500; ++i)
    q.push_back({random_hash(), 40 + static_cast<int>(rng() % 61), i / 30.0});
  for (int i = 0; i < 2200; ++i) {
    Hash256 h = i % 3 == 0 ? q[rng() % q.size()].hash : random_hash();
    for (int b = 0; b < static_cast<int>(rng() % 40); ++b)
      h.words[rng() % 4] ^= uint64_t{1} << (rng() % 64);
    c.push_back({h, 40 + static_cast<int>(rng() % 61), i / 25.0});
  }
  const Hash256 still = random_hash();
  std::vector<VpdqFrame> s1(3000, VpdqFrame{still, 100, 0}), s2(2500, VpdqFrame{still, 100, 0});
  for (const auto& [a, b] : {std::pair{&q, &c}, std::pair{&c, &q}, std::pair{&s1, &s2}}) {
    for (const bool unique : {false, true}) {
      VpdqRules r;
      r.unique_frames = unique;
      const auto got = compare_videos(*a, *b, r);
      // The definition, by brute force.
      auto pct = [&](const std::vector<VpdqFrame>& from, const std::vector<VpdqFrame>& to,
                     std::vector<bool>* marks) {
        std::set<std::array<uint64_t, 4>> seen_from, seen_to;
        std::vector<const VpdqFrame*> kept_to;
        for (const auto& f : to)
          if (f.quality >= r.min_quality && (!unique || seen_to.insert(f.hash.words).second))
            kept_to.push_back(&f);
        size_t n = 0, kept = 0;
        for (size_t i = 0; i < from.size(); ++i) {
          const auto& f = from[i];
          if (f.quality < r.min_quality || (unique && !seen_from.insert(f.hash.words).second))
            continue;
          ++kept;
          const bool hit = std::any_of(kept_to.begin(), kept_to.end(), [&](const VpdqFrame* t) {
            return hamming_distance(f.hash, t->hash) <= r.threshold;
          });
          if (hit) ++n;
          if (hit && marks) (*marks)[i] = true;
        }
        return kept ? static_cast<double>(n) * 100.0 / static_cast<double>(kept) : 0.0;
      };
      std::vector<bool> marks(a->size(), false);
      EXPECT_DOUBLE_EQ(got.query_pct, pct(*a, *b, &marks));
      EXPECT_DOUBLE_EQ(got.compared_pct, pct(*b, *a, nullptr));
      EXPECT_EQ(got.query_matched, marks);
    }
  }
  // The random pair matches in part, the static scenes wholly.
  const auto mixed = compare_videos(q, c, VpdqRules{});
  EXPECT_GT(mixed.compared_pct, 20.0);
  EXPECT_LT(mixed.compared_pct, 50.0);
  EXPECT_DOUBLE_EQ(compare_videos(s1, s2, VpdqRules{}).query_pct, 100.0);
}

TEST(VpdqCompare, QualityFilterThresholdAndSegments) {
  // Query: 5 frames 1 s apart; frames 1-2 match, frame 3 is too dark to compare, frame 4 matches.
  const std::vector<VpdqFrame> query = {
      {h(0xFFFF), 90, 0}, {h(1), 90, 1}, {h(3), 90, 2}, {h(7), 10, 3}, {h(15), 90, 4}};
  const std::vector<VpdqFrame> compared = {{h(0), 90, 0}, {h(0), 30, 1}};
  VpdqRules rules;
  rules.threshold = 3;
  auto r = compare_videos(query, compared, rules);
  // Query frames kept: 4; matched: h(1) d=1, h(3) d=2, h(15) d=4>3 no, h(0xFFFF) d=16 no.
  EXPECT_DOUBLE_EQ(r.query_pct, 50.0);
  EXPECT_DOUBLE_EQ(r.compared_pct, 100.0);  // the dark compared frame is not counted
  const auto seg = matched_segments(query, r.query_matched);
  ASSERT_EQ(seg.size(), 1u);
  EXPECT_EQ(seg[0], std::make_pair(1.0, 3.0));  // frames 1 and 2, each standing for 1 s

  rules.threshold = 4;  // distance == threshold matches
  r = compare_videos(query, compared, rules);
  EXPECT_DOUBLE_EQ(r.query_pct, 75.0);
  const auto two = matched_segments(query, r.query_matched);
  ASSERT_EQ(two.size(), 2u);
  // The last frame alone: as long as the frame before it, not an empty range.
  EXPECT_EQ(two[1], std::make_pair(4.0, 5.0));

  // Nothing comparable on one side: 0 / 0.
  rules.min_quality = 95;
  r = compare_videos(query, compared, rules);
  EXPECT_EQ(r.query_pct, 0.0);
  EXPECT_EQ(r.compared_pct, 0.0);
}

TEST(VpdqCompare, UniqueFramesCountRepeatsOnce) {
  const std::vector<VpdqFrame> query = {
      {h(1), 90, 0}, {h(1), 90, 1}, {h(1), 90, 2}, {h(0xFFFFFF), 90, 3}};
  const std::vector<VpdqFrame> compared = {{h(1), 90, 0}};
  VpdqRules rules;
  rules.threshold = 2;
  EXPECT_DOUBLE_EQ(compare_videos(query, compared, rules).query_pct, 75.0);
  rules.unique_frames = true;
  EXPECT_DOUBLE_EQ(compare_videos(query, compared, rules).query_pct, 50.0);
}

}  // namespace
}  // namespace frameprint::pdq
