// Hash lists (every format, malformed and empty ones) and the matcher's
// rules: PDQ threshold and quality, dihedral hashes, digests, images
// against video frames, and videos against vPDQ lists with the reference's
// percentages.
#include <gtest/gtest.h>

#include <random>

#include "tests/support/random_hash.h"
#include "tests/support/temp_dir.h"
#include "tests/support/testdata.h"
#include "worker/matching/match_options.h"
#include "worker/matching/matcher.h"

namespace frameprint {
namespace {

using nlohmann::json;

std::vector<uint8_t> text(const std::string& s) { return {s.begin(), s.end()}; }

using testing::random_hash;
Hash256 flipped(Hash256 h, int n) {
  for (int i = 0; i < n; ++i) h.words[static_cast<size_t>(i) % 4] ^= uint64_t{1} << (i / 4);
  return h;
}

class Matching : public ::testing::Test {
 protected:
  ListSpec spec(const std::string& type_and_name, const std::string& content) {
    const auto colon = type_and_name.find(':');
    const auto path = dir_.write(type_and_name.substr(colon + 1), text(content));
    return parse_list_spec(type_and_name.substr(0, colon) + ":" + path.string());
  }
  MatchQuery image(const Hash256& h, int quality = 90) {
    MatchQuery q;
    q.md5 = std::string(32, 'a');
    q.sha256 = std::string(64, 'b');
    q.frames.push_back(MatchQuery::Frame::plain(0, 0.0, quality, h));
    return q;
  }
  testing::TempDir dir_;
  std::mt19937_64 rng_{99};
};

TEST_F(Matching, ListsInEveryFormatLoad) {
  const Hash256 a = random_hash(rng_), b = random_hash(rng_);
  const auto lists = HashLists::load({
      spec("pdq:known.txt", "# a comment\n\n" + a.to_hex() + "\n" + b.to_hex() + ",case-17\n"),
      spec("md5:md5s.csv", "D41D8CD98F00B204E9800998ECF8427E,empty-file\n"),
      spec("sha256:shas.txt", std::string(64, 'f') + "\n"),
      spec("vpdq:clip.txt", "0,100," + a.to_hex() + ",0.000\n1,90," + b.to_hex() + ",1.000\n"),
  });
  ASSERT_EQ(lists.pdq.size(), 1u);
  EXPECT_EQ(lists.pdq[0].name, "known");
  ASSERT_EQ(lists.pdq[0].entries.first.size(), 2u);
  EXPECT_EQ(lists.pdq[0].entries.first[0].id_text("known"),
            "known:3");  // default id: list and line
  EXPECT_EQ(lists.pdq[0].entries.first[1].id_text("l"), "case-17");
  ASSERT_EQ(lists.digests.size(), 2u);
  EXPECT_EQ(lists.digests[0].index.count("d41d8cd98f00b204e9800998ecf8427e"), 1u);
  ASSERT_EQ(lists.vpdq.size(), 1u);
  ASSERT_EQ(lists.vpdq[0].videos.size(), 1u);
  EXPECT_EQ(lists.vpdq[0].entries.first[0].id_text("l"), "clip");
  EXPECT_EQ(lists.vpdq[0].videos[0][1].quality, 90);
  EXPECT_EQ(lists.vpdq[0].frames.size(), 2u);

  // An empty list is an error, unless allowed.
  EXPECT_THROW(HashLists::load({spec("pdq:empty.txt", "# nothing yet\n")}), ListError);
  ListLoadOptions allow;
  allow.allow_empty = true;
  const auto empty =
      HashLists::load({spec("pdq:empty.txt", "# nothing yet\n"), spec("md5:none.txt", "")}, allow);
  EXPECT_TRUE(empty.pdq.empty());
  ASSERT_EQ(empty.stats.size(), 2u);
  EXPECT_EQ(empty.stats[0].total_entries(), 0u);
  const Matcher m(HashLists::load({spec("pdq:empty2.txt", "")}, allow), {});
  EXPECT_TRUE(m.matches(image(a)).empty());
}

TEST_F(Matching, MalformedLinesRejectTheListWithFileAndLine) {
  const Hash256 a = random_hash(rng_);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"pdq:bad1.txt", a.to_hex() + "\nnot-a-hash\n"},
      {"pdq:bad2.txt", a.to_hex() + ",id,extra\n"},
      {"md5:bad3.txt", "abc\n"},
      {"sha256:bad4.txt", std::string(63, 'a') + "g\n"},
      {"vpdq:bad5.txt", "0,100," + a.to_hex() + "\n"},
      {"vpdq:bad6.txt", "0,101," + a.to_hex() + ",0.0\n"},
      {"vpdq:bad7.txt", "0,100," + a.to_hex() + ",soon\n"},
  };
  for (const auto& [s, content] : bad) {
    try {
      HashLists::load({spec(s, content)});
      ADD_FAILURE() << s << " loaded";
    } catch (const ListError& e) {
      const std::string file = s.substr(s.find(':') + 1);
      EXPECT_NE(std::string(e.what()).find(file + ":"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(HashLists::load({parse_list_spec("pdq:" + (dir_ / "missing.txt").string())}),
               ListError);
  EXPECT_THROW(parse_list_spec("phash:x.txt"), std::invalid_argument);
  EXPECT_THROW(parse_list_spec("pdq"), std::invalid_argument);
}

TEST_F(Matching, PdqThresholdQualityAndDihedral) {
  const Hash256 a = random_hash(rng_);
  const Matcher m(HashLists::load({spec("pdq:list.txt", flipped(a, 31).to_hex() + ",at31\n" +
                                                            flipped(a, 32).to_hex() + ",at32\n")}),
                  {});
  auto hits = m.matches(image(a));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0]["id"], "at31");
  EXPECT_EQ(hits[0]["distance"], 31);
  EXPECT_EQ(hits[0]["type"], "pdq");
  EXPECT_EQ(hits[0]["list"], "list");
  EXPECT_TRUE(m.matches(image(a, 49)).empty());  // below --min-quality
  EXPECT_EQ(m.matches(image(a, 50)).size(), 1u);

  MatchRules strict;
  strict.threshold = 10;
  const Matcher s(HashLists::load({spec("pdq:l2.txt", flipped(a, 31).to_hex() + "\n")}), strict);
  EXPECT_TRUE(s.matches(image(a)).empty());

  // Dihedral variants: each list entry is reported once per frame, with the
  // best distance over the hash and its variants.
  auto q = image(random_hash(rng_));
  q.frames[0].variants.push_back({flipped(a, 5), 4});   // 26 from at31, 27 from at32
  q.frames[0].variants.push_back({flipped(a, 20), 5});  // 11 from at31, 12 from at32
  hits = m.matches(q);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0]["id"], "at31");
  EXPECT_EQ(hits[0]["distance"], 11);
  EXPECT_EQ(hits[0]["variant"], "flipy");  // which hash hit is said
  EXPECT_EQ(hits[1]["id"], "at32");
  EXPECT_EQ(hits[1]["distance"], 12);
}

TEST_F(Matching, DigestsMatchExactly) {
  const Matcher m(HashLists::load({spec("md5:m.txt", std::string(32, 'A') + ",x\n" +
                                                         std::string(32, 'c') + ",y\n"),
                                   spec("sha256:s.txt", std::string(64, 'b') + ",z\n")}),
                  {});
  const auto hits = m.matches(image(random_hash(rng_)));
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0]["type"], "md5");
  EXPECT_EQ(hits[0]["id"], "x");
  EXPECT_EQ(hits[1]["type"], "sha256");
}

TEST_F(Matching, ImagesMatchFramesOfListedVideos) {
  const Hash256 a = random_hash(rng_);
  std::string clip;
  for (int i = 0; i < 5; ++i)
    clip += std::to_string(i) + ",100," + flipped(random_hash(rng_), 0).to_hex() + "," +
            std::to_string(i) + ".0\n";
  clip += "5,100," + flipped(a, 12).to_hex() + ",5.0\n6,10," + a.to_hex() +
          ",6.0\n";  // the exact one is too dark
  const Matcher m(HashLists::load({spec("vpdq:v.txt", clip)}), {});
  const auto hits = m.matches(image(a));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0]["type"], "vpdq");
  EXPECT_EQ(hits[0]["id"], "v");
  EXPECT_EQ(hits[0]["distance"], 12);
}

TEST_F(Matching, VideosGetTheReferencePercentagesAndSegments) {
  FRAMEPRINT_REQUIRE_TESTDATA();
  const auto ref = testing::testdata_dir() / "vpdq" / "reference";
  MatchRules frames;  // --vpdq-rule frames: the reference matcher's counts
  frames.vpdq_rule = VpdqRule::kFrames;
  const Matcher m(HashLists::load({parse_list_spec("vpdq:" + ref.string())}), frames);
  MatchQuery q;
  q.video = true;
  for (const auto& l : testing::read_vpdq_file(ref / "chair-19-sd-bar.txt"))
    q.frames.push_back(MatchQuery::Frame::plain(l.index, l.timestamp, l.quality, l.hash));
  const auto hits = m.matches(q);
  ASSERT_EQ(hits.size(), 2u);  // itself, and the sepia version (83.95% of its frames >= 80%)
  std::map<std::string, json> by_id;
  for (const auto& h : hits) by_id[h["id"]] = h;
  EXPECT_EQ(by_id.at("chair-22-sd-sepia-bar")["query_pct"], 100.0);
  EXPECT_EQ(by_id.at("chair-22-sd-sepia-bar")["compared_pct"], 83.95);
  EXPECT_EQ(by_id.at("chair-19-sd-bar")["compared_pct"], 100.0);
  const auto& seg = by_id.at("chair-19-sd-bar")["segments"];
  ASSERT_EQ(seg.size(), 1u);
  EXPECT_DOUBLE_EQ(seg[0][0].get<double>(), 0.0);
  // To the end of the last frame: it stands for as long as the one before it.
  const double last = q.frames.back().ts, before = q.frames[q.frames.size() - 2].ts;
  EXPECT_NEAR(seg[0][1].get<double>(), last + (last - before), 0.0015);

  MatchRules picky = frames;
  picky.video_match_pct = 90;
  const Matcher p(HashLists::load({parse_list_spec("vpdq:" + ref.string())}), picky);
  EXPECT_EQ(p.matches(q).size(), 1u);  // the sepia version is out at 83.95%
}

TEST_F(Matching, ResultsFromJsonAreAnnotated) {
  const Hash256 a = random_hash(rng_);
  const Matcher m(HashLists::load({spec("pdq:k.txt", a.to_hex() + ",k1\n")}), {});
  nlohmann::ordered_json ok = {
      {"path", "x.jpg"},
      {"status", "ok"},
      {"kind", "image"},
      {"frames", {{{"index", 0}, {"ts", 0.0}, {"quality", 100}, {"pdq", a.to_hex()}}}}};
  m.annotate(ok);
  ASSERT_EQ(ok["matches"].size(), 1u);
  EXPECT_EQ(ok["matches"][0]["id"], "k1");
  nlohmann::ordered_json err = {{"path", "y"}, {"status", "error"}};
  EXPECT_EQ(m.annotate(err), 0u);
  EXPECT_FALSE(err.contains("matches"));
}

// A field that cannot be used is never matched as if it were absent or 0
// (issue 14): a quality given as a string would silently keep a frame from
// being compared. What is usable is still matched; the rest is named.
TEST_F(Matching, UnusableFieldsAreNamedNotSilentlyDropped) {
  const Hash256 a = random_hash(rng_), b = random_hash(rng_);
  const Matcher m(HashLists::load({spec("pdq:k.txt", a.to_hex() + ",ka\n" + b.to_hex() + ",kb\n")}),
                  {});
  nlohmann::ordered_json r = {
      {"path", "x.mp4"},
      {"status", "ok"},
      {"kind", "video"},
      {"md5", "not-a-digest"},
      {"frames",
       {{{"index", 0}, {"ts", 0.0}, {"quality", "100"}, {"pdq", a.to_hex()}},
        {{"index", 1}, {"ts", 1.0}, {"quality", 100}, {"pdq", b.to_hex()}},
        {{"index", 2}, {"ts", 2.0}, {"quality", 100}, {"pdq", "xyz"}},
        {{"index", 3}, {"ts", 3.0}, {"quality", 101}, {"pdq", a.to_hex()}}}}};
  EXPECT_EQ(m.annotate(r), 4u);
  ASSERT_EQ(r["matches"].size(), 1u);  // frame 1, the only usable one
  EXPECT_EQ(r["matches"][0]["id"], "kb");
  ASSERT_TRUE(r.contains("warnings"));
  const auto& w = r["warnings"].back();
  EXPECT_EQ(w["code"], "unmatched_fields");
  const std::string message = w["message"];
  for (const char* part :
       {"4 fields", "frame 0: quality \"100\"", "frame 2: pdq", "frame 3: quality 101", "md5"})
    EXPECT_NE(message.find(part), std::string::npos) << part << " in " << message;
  nlohmann::ordered_json odd = {
      {"path", "z"}, {"status", "done"}, {"frames", nlohmann::json::array()}};
  EXPECT_EQ(m.annotate(odd), 1u);
}

// python-threatexchange's vpdq tests (test_vpdq_faiss.py, the index tests),
// under --vpdq-rule pytx: unique hashes, quality >= 50, distance <= 31, a
// match when >= 80% of the query's frames have a counterpart.
class PytxRule : public Matching {
 protected:
  // A video of n distinct frames (hashes far apart), one a second.
  std::vector<Hash256> distinct(int n) {
    std::vector<Hash256> v;
    for (int i = 0; i < n; ++i) v.push_back(random_hash(rng_));
    return v;
  }
  std::string listed(const std::vector<Hash256>& v, int low_quality_from = 1 << 30) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i)
      out += std::to_string(i) + "," + (static_cast<int>(i) >= low_quality_from ? "10" : "100") +
             "," + v[i].to_hex() + "," + std::to_string(i) + ".0\n";
    return out;
  }
  static MatchQuery query(const std::vector<Hash256>& v) {
    MatchQuery q;
    q.video = true;
    for (size_t i = 0; i < v.size(); ++i)
      q.frames.push_back(
          MatchQuery::Frame::plain(static_cast<int64_t>(i), static_cast<double>(i), 100, v[i]));
    return q;
  }
  json only(const Matcher& m, const MatchQuery& q) {
    const auto hits = m.matches(q);
    return hits.size() == 1 ? json(hits[0]) : json();
  }
};

TEST_F(PytxRule, GivesPythonThreatexchangesAnswers) {
  const auto v = distinct(10);
  const Matcher m(HashLists::load({spec("vpdq:v.txt", listed(v))}), pytx_rules());
  // Identical: (100, 100).
  auto hit = only(m, query(v));
  ASSERT_TRUE(hit.is_object());
  EXPECT_EQ(hit["query_pct"], 100.0);
  EXPECT_EQ(hit["compared_pct"], 100.0);
  // The query is the first half of the listed video: (100, 50), a match.
  hit = only(m, query({v.begin(), v.begin() + 5}));
  ASSERT_TRUE(hit.is_object());
  EXPECT_EQ(hit["query_pct"], 100.0);
  EXPECT_EQ(hit["compared_pct"], 50.0);
  EXPECT_EQ(hit["kind"], "partial");
  // The listed video is the first half of the query: (50, 100), no match.
  const Matcher half(HashLists::load({spec("vpdq:h.txt", listed({v.begin(), v.begin() + 5}))}),
                     pytx_rules());
  EXPECT_TRUE(half.matches(query(v)).empty());
  // Just below 80% of the query's frames: no match; at and above: a match.
  auto q = distinct(20);
  std::copy(v.begin(), v.end(), q.begin());             // 10 of 20 frames
  std::vector<Hash256> q79(q.begin(), q.begin() + 12);  // 10 of 12: 83%
  hit = only(m, query(q79));
  ASSERT_TRUE(hit.is_object());
  EXPECT_NEAR(hit["query_pct"].get<double>(), 83.33, 0.01);
  std::vector<Hash256> q76(q.begin(), q.begin() + 13);  // 10 of 13: 76.9%
  EXPECT_TRUE(m.matches(query(q76)).empty());
  // Repeated hashes count once: 10 listed frames shown twice each still 100%.
  std::vector<Hash256> twice;
  for (const auto& h : v) twice.insert(twice.end(), {h, h});
  twice.push_back(random_hash(rng_));
  twice.push_back(random_hash(rng_));  // 10 of 12 unique: 83%, though 20 of 22 frames
  hit = only(m, query(twice));
  ASSERT_TRUE(hit.is_object());
  EXPECT_NEAR(hit["query_pct"].get<double>(), 83.33, 0.01);
  // Frames below quality 50 take no part: the listed video's dark half is
  // not counted against it, and cannot be matched.
  const Matcher dark(HashLists::load({spec("vpdq:d.txt", listed(v, 5))}), pytx_rules());
  hit = only(dark, query({v.begin(), v.begin() + 5}));
  ASSERT_TRUE(hit.is_object());
  EXPECT_EQ(hit["compared_pct"], 100.0);
  EXPECT_TRUE(dark.matches(query({v.begin() + 5, v.end()})).empty());
}

TEST(MatchOptions, TheFlagsChooseTheRule) {
  MatchOptions o;
  EXPECT_EQ(resolve_rules(o).vpdq_rule, VpdqRule::kTime);
  o.vpdq_rule = "pytx";
  MatchRules r = resolve_rules(o);
  EXPECT_EQ(r.vpdq_rule, VpdqRule::kFrames);
  EXPECT_EQ(r.query_match_pct, 80);
  EXPECT_EQ(r.video_match_pct, 0);
  EXPECT_TRUE(r.unique_frames);
  o.video_match_pct = 10;  // the frame-count flags keep their meaning under it
  EXPECT_EQ(resolve_rules(o).video_match_pct, 10);
  // Given without a rule, they choose the reference's frame counts.
  MatchOptions old;
  old.video_match_pct = 90;
  r = resolve_rules(old);
  EXPECT_EQ(r.vpdq_rule, VpdqRule::kFrames);
  EXPECT_EQ(r.video_match_pct, 90);
  EXPECT_FALSE(r.unique_frames);
  old.vpdq_rule = "bogus";
  EXPECT_THROW(resolve_rules(old), std::invalid_argument);
}

// The default rule by time, on the reference's hashes of real footage:
// kinds, segments on both sides, and no match between unrelated videos.
// The list's index only chooses the videos to compare: a copy whose printed
// frames (one a second) match nothing is still found through the frames
// hashed between them (searched for seeds), and judged as comparing the two
// videos directly judges it.
TEST_F(Matching, CopiesFoundThroughFramesBetweenThePrintedOnesAreJudgedAsACompareWould) {
  std::vector<std::vector<pdq::VpdqFrame>> videos(300);
  std::string te;
  for (auto& v : videos) {
    te += "vpdq [";
    for (int k = 0; k < 20; ++k) {
      v.push_back({random_hash(rng_), 90, double(k)});
      te += std::string(k ? ", \"" : "\"") + v.back().hash.to_hex() + ",90," + std::to_string(k) +
            ".000\"";
    }
    te += "]\n";
  }
  const auto path = dir_.write("videos.te", text(te));
  const Matcher m(HashLists::load({parse_list_spec("vpdq:te:" + path.string())}), {});
  const auto& copied = videos[123];
  MatchQuery q;
  q.video = true;
  for (int k = 0; k < 20; ++k) {
    q.frames.push_back(MatchQuery::Frame::plain(k * 10, k, 90, random_hash(rng_)));  // printed
    auto between = MatchQuery::Frame::plain(k * 10 + 1, k + 0.1, 90,
                                            flipped(copied[static_cast<size_t>(k)].hash, 12));
    between.printed = false;
    q.frames.push_back(std::move(between));
  }
  const auto hits = m.matches(q);
  ASSERT_EQ(hits.size(), 1u) << hits;
  const auto direct = judge_video(q, copied, std::nullopt, m.rules());
  ASSERT_TRUE(direct.match);
  for (const auto& [k, v] : direct.fields.items()) EXPECT_EQ(hits[0][k], v) << k;
  EXPECT_GT(hits[0]["query_pct"].get<double>(), 80.0);
  // Without the frames between, nothing matches: they were what found it.
  MatchQuery printed_only = q;
  std::erase_if(printed_only.frames, [](const auto& f) { return !f.printed; });
  EXPECT_TRUE(m.matches(printed_only).empty());
}

TEST_F(Matching, VideosMatchByTimeWithKindsAndSegmentsOnBothSides) {
  FRAMEPRINT_REQUIRE_TESTDATA();
  const auto ref = testing::testdata_dir() / "vpdq" / "reference";
  auto frames_of = [&](const std::string& name, double from, double to, double shift) {
    std::vector<MatchQuery::Frame> out;
    for (const auto& l : testing::read_vpdq_file(ref / (name + ".txt")))
      if (l.timestamp >= from && l.timestamp < to)
        out.push_back(
            MatchQuery::Frame::plain(l.index, l.timestamp - from + shift, l.quality, l.hash));
    return out;
  };
  auto video = [](std::vector<MatchQuery::Frame> f) {
    MatchQuery q;
    q.video = true;
    q.frames = std::move(f);
    return q;
  };
  const Matcher m(HashLists::load({parse_list_spec("vpdq:" + ref.string())}), {});
  auto hit_on = [&](const MatchQuery& q, const std::string& id) {
    for (const auto& h : m.matches(q))
      if (h["id"] == id) return json(h);
    return json();
  };
  // The second half of chair-19: partial, the query's 0 s at the listed 9.4 s.
  auto hit = hit_on(video(frames_of("chair-19-sd-bar", 9.4, 99, 0)), "chair-19-sd-bar");
  ASSERT_TRUE(hit.is_object());
  EXPECT_EQ(hit["kind"], "partial");
  EXPECT_NEAR(hit["compared_pct"].get<double>(), 50.0, 4.0);
  ASSERT_EQ(hit["segments"].size(), 1u);
  EXPECT_NEAR(hit["segments"][0]["query"][0].get<double>(), 0.0, 0.05);
  // Where the picture holds still, the offset is known to a few frames.
  EXPECT_NEAR(hit["segments"][0]["listed"][0].get<double>(), 9.4, 0.1);
  // chair-19 inside a longer video (6.9 s of pattern first): contains.
  auto longer = frames_of("pattern-hd-no-bar", 0, 99, 0);
  for (auto& f : frames_of("chair-19-sd-bar", 0, 99, 6.9)) longer.push_back(f);
  hit = hit_on(video(longer), "chair-19-sd-bar");
  ASSERT_TRUE(hit.is_object());
  EXPECT_EQ(hit["kind"], "contains");
  EXPECT_GT(hit["compared_pct"].get<double>(), 97.0);
  ASSERT_EQ(hit["segments"].size(), 1u);
  EXPECT_NEAR(hit["segments"][0]["query"][0].get<double>(), 6.9, 0.05);
  EXPECT_NEAR(hit["segments"][0]["listed"][0].get<double>(), 0.0, 0.1);
  // Every pair of the six shared videos: only copies of one source match
  // (chair-22 is chair-19 in sepia; the pattern files are one recording).
  const auto group = [](const std::string& n) { return n.substr(0, n.find('-')); };
  for (const auto& e : std::filesystem::directory_iterator(ref)) {
    const std::string name = e.path().stem().string();
    const auto hits = m.matches(video(frames_of(name, 0, 1e9, 0)));
    bool self = false;
    for (const auto& h : hits) {
      EXPECT_EQ(group(h["id"].get<std::string>()), group(name)) << name << " matched " << h;
      self |= h["id"] == name && h["kind"] == "full";
    }
    EXPECT_TRUE(self) << name;
  }
}

}  // namespace
}  // namespace frameprint
