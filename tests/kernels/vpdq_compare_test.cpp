#include "kernels/vpdq_compare.h"

#include <gtest/gtest.h>

#include <cstdio>

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
  EXPECT_EQ(seg[0], std::make_pair(1.0, 2.0));

  rules.threshold = 4;  // distance == threshold matches
  r = compare_videos(query, compared, rules);
  EXPECT_DOUBLE_EQ(r.query_pct, 75.0);
  EXPECT_EQ(matched_segments(query, r.query_matched).size(), 2u);

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
