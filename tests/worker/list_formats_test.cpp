// Hash lists in the ecosystem's formats (threatexchange CLI lines and
// dataset CSV, pdq-photo-hasher output, the vpdq package's lines,
// python-threatexchange / HMA JSON): what each carries reaches the match
// objects; byte order marks, CR LF, upper case, duplicates and low-quality
// entries are handled and counted; malformed and oversized input is refused
// with file:line and without echoing it.
#include <gtest/gtest.h>

#include <random>

#include "tests/support/temp_dir.h"
#include "worker/matching/matcher.h"

namespace frameprint {
namespace {

std::vector<uint8_t> text(const std::string& s) { return {s.begin(), s.end()}; }

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

class ListFormats : public ::testing::Test {
 protected:
  ListSpec spec(const std::string& prefix, const std::string& file, const std::string& content) {
    const auto path = dir_.write(file, text(content));
    return parse_list_spec(prefix + ":" + path.string());
  }
  Hash256 random_hash() {
    Hash256 h;
    for (auto& w : h.words) w = rng_();
    return h;
  }
  static MatchQuery image(const Hash256& h, int quality = 90) {
    MatchQuery q;
    q.md5 = std::string(32, 'a');
    q.sha1 = std::string(40, 'c');
    q.sha256 = std::string(64, 'b');
    q.frames.push_back(MatchQuery::Frame::plain(0, 0.0, quality, h));
    return q;
  }
  // The error message of loading `s`, or "" when it loaded.
  static std::string load_error(const ListSpec& s, const ListLoadOptions& o = {}) {
    try {
      HashLists::load({s}, o);
    } catch (const ListError& e) {
      return e.what();
    }
    return "";
  }
  testing::TempDir dir_;
  std::mt19937_64 rng_{7};
};

TEST_F(ListFormats, SpecsNameTypeFormatAndPath) {
  const auto a = parse_list_spec("pdq:te-csv:/x/data.csv");
  EXPECT_EQ(a.type, ListType::kPdq);
  EXPECT_EQ(a.format, ListFormat::kTeCsv);
  EXPECT_EQ(a.path, "/x/data.csv");
  EXPECT_EQ(a.name, "data");
  const auto b = parse_list_spec("te:/x/local.txt");
  EXPECT_FALSE(b.type.has_value());
  EXPECT_EQ(b.format, ListFormat::kTe);
  EXPECT_FALSE(parse_list_spec("auto:/x/y.txt").type.has_value());
  EXPECT_EQ(parse_list_spec("video_md5:/x").type, ListType::kMd5);
  EXPECT_EQ(parse_list_spec("video_sha256:/x").type, ListType::kSha256);
  EXPECT_EQ(parse_list_spec("sha1:/x").type, ListType::kSha1);
  EXPECT_EQ(parse_list_spec("vpdq:/x").type,
            ListType::kVpdq);  // a type first, a format only after a type
  EXPECT_EQ(parse_list_spec("vpdq:vpdq-json:/x").format, ListFormat::kVpdqJson);
  EXPECT_EQ(parse_list_spec("pdq:/a:b.txt").path,
            "/a:b.txt");  // not a format name: part of the path
  EXPECT_THROW(parse_list_spec("/x/y.txt"), std::invalid_argument);
  EXPECT_THROW(parse_list_spec("pdq:"), std::invalid_argument);
  EXPECT_THROW(parse_list_spec("phash:x.txt"), std::invalid_argument);
}

TEST_F(ListFormats, ThreatexchangeCliLinesWithBomCrlfAndUpperCase) {
  const Hash256 a = random_hash(), f0 = random_hash(), f1 = random_hash();
  const std::string md5(32, 'd'), sha256(64, 'e');
  const std::string te = "\xEF\xBB\xBFpdq " + upper(a.to_hex()) + "\r\n" +  //
                         "video_md5 " + md5 + "\r\n" +                      //
                         "video_sha256 " + sha256 + "\r\n" +                //
                         "raw_text some words\r\n" +                        //
                         "vpdq [\"" + f0.to_hex() + ",100,0.0\", \"" + f1.to_hex() +
                         ",40,1.0\"]\r\n";
  const auto all = HashLists::load({spec("auto", "te/local.txt", te)});
  ASSERT_EQ(all.stats.size(), 1u);
  const ListStats& st = all.stats[0];
  EXPECT_EQ(st.format, ListFormat::kTe);
  EXPECT_EQ(st.entries.at(ListType::kPdq), 1u);
  EXPECT_EQ(st.entries.at(ListType::kMd5), 1u);
  EXPECT_EQ(st.entries.at(ListType::kSha256), 1u);
  EXPECT_EQ(st.entries.at(ListType::kVpdq), 1u);
  EXPECT_EQ(st.rows, 5u);
  EXPECT_EQ(st.other_types, 1u);  // raw_text
  EXPECT_EQ(st.uppercase, 1u);
  EXPECT_EQ(st.low_quality_frames, 1u);
  EXPECT_TRUE(st.bom);
  EXPECT_EQ(st.crlf_lines, 5u);
  const auto j = st.to_json();
  EXPECT_EQ(j["entries"]["pdq"], 1);
  EXPECT_EQ(j["format"], "te");

  const Matcher m(HashLists::load({spec("auto", "te/local2.txt", te)}), {});
  auto q = image(a);
  q.md5 = md5;
  const auto hits = m.matches(q);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0]["type"], "md5");
  EXPECT_EQ(hits[0]["id"], "local2:2");  // te lines carry no id: the list and line
  EXPECT_EQ(hits[1]["type"], "pdq");
  EXPECT_EQ(hits[1]["id"], "local2:1");
  EXPECT_EQ(hits[1]["distance"], 0);

  // A type picks its rows out of the file; the rest are counted as other types.
  const auto only_pdq = HashLists::load({spec("pdq:te", "te/local3.txt", te)});
  EXPECT_EQ(only_pdq.pdq.size(), 1u);
  EXPECT_TRUE(only_pdq.digests.empty());
  EXPECT_EQ(only_pdq.stats[0].other_types, 4u);
  const auto md5s = HashLists::load({spec("video_md5", "te/local4.txt", te)});  // format detected
  ASSERT_EQ(md5s.digests.size(), 1u);
  EXPECT_EQ(md5s.digests[0].type, ListType::kMd5);
}

TEST_F(ListFormats, ThreatexchangeDatasetCsvCarriesCollabCategoryAndTags) {
  const Hash256 a = random_hash(), b = random_hash(), f0 = random_hash();
  // As Python's csv module writes it: CR LF, quotes around fields with commas or quotes.
  const std::string csv =
      "signal_type,signal_str,collab,category,tags\r\n"
      "pdq," +
      a.to_hex() +
      ",Sample Data,POSITIVE_CLASS,tag1 tag2\r\n"
      "pdq," +
      a.to_hex() +
      ",\"Other, Collab\",INVESTIGATION_SEEDS,\r\n"  // the same hash from a second collab
      "pdq," +
      upper(a.to_hex()) +
      ",Sample Data,POSITIVE_CLASS,tag1 tag2\r\n"  // a plain repeat
      "pdq," +
      b.to_hex() +
      ",Sample Data,NEGATIVE_CLASS,\r\n"
      "video_md5," +
      std::string(32, 'f') +
      ",Sample Data,POSITIVE_CLASS,video\r\n"
      "vpdq,\"[\"\"" +
      f0.to_hex() +
      ",100,0.0\"\"]\",Sample Data,POSITIVE_CLASS,\r\n"
      "url,https://example.com/x,Sample Data,POSITIVE_CLASS,\r\n";
  const auto lists = HashLists::load({spec("auto", "dataset.csv", csv)});
  const ListStats& st = lists.stats[0];
  EXPECT_EQ(st.format, ListFormat::kTeCsv);
  EXPECT_EQ(st.entries.at(ListType::kPdq), 2u);
  EXPECT_EQ(st.entries.at(ListType::kMd5), 1u);
  EXPECT_EQ(st.entries.at(ListType::kVpdq), 1u);
  EXPECT_EQ(st.duplicates, 2u);
  EXPECT_EQ(st.other_types, 1u);
  EXPECT_EQ(st.uppercase, 1u);

  const Matcher m(HashLists::load({spec("pdq:te-csv", "dataset2.csv", csv)}), {});
  const auto hits = m.matches(image(a));
  ASSERT_EQ(hits.size(), 2u);  // one per collaboration; the repeat adds nothing
  EXPECT_EQ(hits[0]["list"], "dataset2");
  EXPECT_EQ(hits[0]["id"], "dataset2:2");
  EXPECT_EQ(hits[0]["collab"], "Sample Data");
  EXPECT_EQ(hits[0]["category"], "POSITIVE_CLASS");
  EXPECT_EQ(hits[0]["tags"], nlohmann::json({"tag1", "tag2"}));
  EXPECT_EQ(hits[1]["collab"], "Other, Collab");
  EXPECT_EQ(hits[1]["category"], "INVESTIGATION_SEEDS");
  EXPECT_FALSE(hits[1].contains("tags"));

  // An image against the listed video's frame, with its collab.
  const Matcher v(HashLists::load({spec("vpdq:te-csv", "dataset3.csv", csv)}), {});
  const auto vh = v.matches(image(f0));
  ASSERT_EQ(vh.size(), 1u);
  EXPECT_EQ(vh[0]["type"], "vpdq");
  EXPECT_EQ(vh[0]["id"], "dataset3:7");
  EXPECT_EQ(vh[0]["collab"], "Sample Data");
}

TEST_F(ListFormats, PdqPhotoHasherOutputKeepsQualityAndFileName) {
  const Hash256 a = random_hash(), b = random_hash(), c = random_hash();
  const std::string out =
      a.to_hex() + ",100,photos/a, the first.jpg\n" +  // file names may hold commas
      b.to_hex() + ",30,photos/dark.jpg\n" +           // below --min-quality: dropped
      "hash=" + c.to_hex() + ",norm=128,delta=0,quality=90,filename=photos/c.png\n" +
      "hash=" + upper(b.to_hex()) + "\n";
  const auto lists = HashLists::load({spec("pdq", "hasher.txt", out)});
  const ListStats& st = lists.stats[0];
  EXPECT_EQ(st.format, ListFormat::kPdqHasher);
  EXPECT_EQ(st.entries.at(ListType::kPdq), 3u);  // a, c and the quality-less b
  EXPECT_EQ(st.low_quality, 1u);
  EXPECT_EQ(st.uppercase, 1u);

  const Matcher m(HashLists::load({spec("pdq", "hasher2.txt", out)}), {});
  auto hits = m.matches(image(a));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0]["id"], "photos/a, the first.jpg");
  EXPECT_EQ(hits[0]["list_quality"], 100);
  hits = m.matches(image(c));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0]["id"], "photos/c.png");
  EXPECT_EQ(hits[0]["list_quality"], 90);
  hits = m.matches(image(b));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0]["id"], "hasher2:4");  // the hash= line without a file name
  EXPECT_FALSE(hits[0].contains("list_quality"));

  // Without a type, a third field that is not a number means pdq-photo-hasher.
  EXPECT_EQ(HashLists::load({spec("auto", "hasher3.txt", out)}).stats[0].format,
            ListFormat::kPdqHasher);
}

TEST_F(ListFormats, VpdqPackageLinesAndJsonForms) {
  const Hash256 f0 = random_hash(), f1 = random_hash();
  // The vpdq package's command line: hex,quality,timestamp.
  const std::string three = f0.to_hex() + ",100,0.000\n" + f1.to_hex() + ",20,1.000\n";
  const auto lists = HashLists::load({spec("auto", "py/clip.txt", three)});
  EXPECT_EQ(lists.stats[0].format, ListFormat::kVpdq);
  ASSERT_EQ(lists.vpdq.size(), 1u);
  EXPECT_EQ(lists.vpdq[0].entries.first[0].id_text("l"), "clip");
  ASSERT_EQ(lists.vpdq[0].videos[0].size(), 2u);
  EXPECT_EQ(lists.vpdq[0].videos[0][1].quality, 20);
  EXPECT_DOUBLE_EQ(lists.vpdq[0].videos[0][1].ts, 1.0);
  EXPECT_EQ(lists.stats[0].low_quality_frames, 1u);

  // python-threatexchange's signal (what `threatexchange hash` prints after "vpdq "), its older
  // frame-number object, and HMA's hash object (a vpdq string beside the file's digest).
  const std::string pytx = "[\"" + f0.to_hex() + ",100,0.0\", \"" + f1.to_hex() + ",20,1.0\"]";
  std::string escaped = pytx;
  for (size_t i = 0; (i = escaped.find('"', i)) != std::string::npos; i += 2)
    escaped.insert(i, "\\");
  const std::string old = "{\"1\": {\"quality\": 20, \"hash\": \"" + f1.to_hex() +
                          "\", \"timestamp\": 1.0},\n"
                          " \"0\": {\"quality\": 100, \"hash\": \"" +
                          f0.to_hex() + "\", \"timestamp\": 0.0}}";
  const std::string hma =
      "{\"video_md5\": \"" + std::string(32, '1') + "\", \"vpdq\": \"" + escaped + "\"}";
  dir_.write("json/a.json", text(pytx));
  dir_.write("json/b.json", text(old));
  dir_.write("json/c.json", text(hma));
  const auto j = HashLists::load({parse_list_spec("auto:" + (dir_ / "json").string())});
  EXPECT_EQ(j.stats[0].format, ListFormat::kVpdqJson);
  ASSERT_EQ(j.vpdq.size(), 1u);
  EXPECT_EQ(j.vpdq[0].videos.size(), 1u);  // three files, one video
  EXPECT_EQ(j.stats[0].duplicates, 2u);
  EXPECT_EQ(j.vpdq[0].entries.first[0].id_text("l"), "a");
  ASSERT_EQ(j.digests.size(), 1u);
  EXPECT_EQ(j.digests[0].type, ListType::kMd5);

  // The same video as a query: matched once per listed file (each is an id).
  const Matcher m(HashLists::load({parse_list_spec("vpdq:" + (dir_ / "json").string())}), {});
  MatchQuery q;
  q.video = true;
  q.frames.push_back(MatchQuery::Frame::plain(0, 0.0, 100, f0));
  q.frames.push_back(MatchQuery::Frame::plain(1, 1.0, 20, f1));
  const auto hits = m.matches(q);
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0]["id"], "a");
  EXPECT_EQ(hits[1]["id"], "b");
  EXPECT_EQ(hits[2]["id"], "c");
  EXPECT_EQ(hits[0]["compared_pct"], 100.0);
}

TEST_F(ListFormats, PlainListsDuplicatesCaseAndSha1) {
  const Hash256 a = random_hash();
  const std::string pdq =
      a.to_hex() + ",case-1\n" + upper(a.to_hex()) + ",case-2\n" + a.to_hex() + "\n";
  const auto lists = HashLists::load({spec("pdq", "plain.txt", pdq)});
  EXPECT_EQ(lists.stats[0].entries.at(ListType::kPdq), 1u);
  EXPECT_EQ(lists.stats[0].duplicates, 2u);
  const Matcher m(HashLists::load({spec("pdq", "plain2.txt", pdq)}), {});
  const auto hits = m.matches(image(a));
  ASSERT_EQ(hits.size(), 2u);  // both ids; the id-less repeat adds nothing
  EXPECT_EQ(hits[0]["id"], "case-1");
  EXPECT_EQ(hits[1]["id"], "case-2");

  // Digests: the type from the length when no type is named; SHA-1 too.
  const std::string digests = std::string(40, 'C') + ",old-sha1\n" + std::string(32, 'a') + "\n";
  const Matcher d(HashLists::load({spec("auto", "digests.txt", digests)}), {});
  const auto dh = d.matches(image(random_hash()));
  ASSERT_EQ(dh.size(), 2u);
  EXPECT_EQ(dh[0]["type"], "md5");
  EXPECT_EQ(dh[1]["type"], "sha1");
  EXPECT_EQ(dh[1]["id"], "old-sha1");
  EXPECT_NE(
      load_error(spec("auto", "ambiguous.txt", a.to_hex() + "\n")).find("name the list's type"),
      std::string::npos);
}

TEST_F(ListFormats, MalformedLinesGiveFileAndLine) {
  const std::string h = random_hash().to_hex();
  const std::vector<std::tuple<std::string, std::string, std::string>> bad = {
      {"auto", "te1.txt", "pdq " + h + "\nvideo_md5 " + h + "\n"},  // 64 digits for an MD5
      {"auto", "te2.txt", "pdq " + h + "\nPDQ " + h + "\n"},
      {"auto", "te3.txt", "vpdq " + h + "\nvpdq [\"" + h + ",100\"]\n"},
      {"auto", "csv1.csv",
       "signal_type,signal_str,collab,category,tags\npdq," + h + ",c,POSITIVE_CLASS\n"},
      {"auto", "csv2.csv",
       "signal_type,signal_str,collab,category,tags\npdq,\"" + h + ",c,POSITIVE_CLASS,\n"},
      {"pdq:te-csv", "csv3.csv", "pdq," + h + "\n"},  // no header
      {"pdq", "hasher1.txt", h + ",100,a.jpg\n" + h + ",high,b.jpg\n"},
      {"pdq", "hasher2.txt", "hash=" + h + ",quality=101\n"},
      {"vpdq", "v1.txt", h + ",100,0.0\n0,100," + h + ",1.0\n"},  // the two vPDQ line shapes mixed
      {"vpdq", "v2.txt", h + ",100,-1.0\n"},
      {"vpdq", "v3.json", "[\"" + h + ",100,0.0\",\n"},
      {"auto", "odd.txt", "a,b,c,d,e\n"},
  };
  for (const auto& [prefix, file, content] : bad) {
    const std::string e = load_error(spec(prefix, file, content));
    EXPECT_NE(e.find(file + ":"), std::string::npos) << file << ": " << e;
  }
  EXPECT_NE(load_error(spec("auto", "te4.txt", "# c\npdq " + h + "\npdq zz\n")).find("te4.txt:3:"),
            std::string::npos);
  EXPECT_NE(load_error(spec("pdq", "hasher3.txt", h + ",100,a.jpg\n" + h + ",high,b.jpg\n"))
                .find("hasher3.txt:2:"),
            std::string::npos);
}

TEST_F(ListFormats, OverLongLinesAndFilesAreRefusedWithoutEchoingThem) {
  ListLoadOptions small;
  small.limits.max_line_bytes = 1000;
  const std::string hostile(5000, 'A');
  const std::string e =
      load_error(spec("pdq", "long.txt", random_hash().to_hex() + "\n" + hostile + "\n"), small);
  EXPECT_NE(e.find("long.txt:2: line longer than 1000 bytes"), std::string::npos) << e;
  EXPECT_LT(e.size(), 300u);
  EXPECT_EQ(e.find("AAAAAAAAAA"), std::string::npos);
  // A JSON list is bounded the same way.
  EXPECT_NE(load_error(spec("vpdq", "long.json", "[\"" + hostile + "\"]"), small)
                .find("longer than 1000"),
            std::string::npos);
  // A malformed line is quoted in part only.
  const std::string e2 = load_error(spec("pdq", "wide.txt", std::string(900, 'z') + "\n"), small);
  EXPECT_LT(e2.size(), 300u) << e2;

  ListLoadOptions tiny;
  tiny.limits.max_file_bytes = 100;
  EXPECT_NE(load_error(spec("pdq", "big.txt", std::string(200, '#')), tiny)
                .find("more than the limit of 100"),
            std::string::npos);
}

}  // namespace
}  // namespace frameprint
