// The HMA-shaped answers of worker/serve/lookup_service.h, on the shared
// reference data: lists made from the reference's hashes, expected values
// from the reference's own files (images.csv, match-reference.csv).
#include <gtest/gtest.h>

#include <bit>
#include <fstream>
#include <set>

#include "tests/support/temp_dir.h"
#include "tests/support/testdata.h"
#include "worker/matching/match_options.h"
#include "worker/serve/lookup_service.h"

namespace frameprint::serve {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

int bits(const std::string& a, const std::string& b) {
  int d = 0;
  for (size_t i = 0; i < a.size(); i += 2)
    d += std::popcount(static_cast<unsigned>(std::stoul(a.substr(i, 2), nullptr, 16) ^
                                             std::stoul(b.substr(i, 2), nullptr, 16)));
  return d;
}

int api_status(const std::function<void()>& f) {
  try {
    f();
  } catch (const ApiError& e) {
    return e.status();
  }
  return 200;
}

// python-threatexchange's vPDQ signal of a reference hash file.
std::string vpdq_signal_of(const std::filesystem::path& file) {
  json frames = json::array();
  for (const auto& l : testing::read_vpdq_file(file)) {
    char ts[32];
    std::snprintf(ts, sizeof ts, "%.3f", l.timestamp);
    frames.push_back(l.hash.to_hex() + "," + std::to_string(l.quality) + "," + ts);
  }
  return frames.dump();
}

class Lookups : public ::testing::Test {
 protected:
  void SetUp() override {
    FRAMEPRINT_REQUIRE_TESTDATA();
    rows_ = testing::read_csv(testing::testdata_dir() / "pdq/images.csv");
    std::ofstream list(dir_ / "photos.txt");
    for (const auto& r : rows_) list << r.at("pdq") << "," << r.at("file") << "\n";
    list.close();
    MatchOptions o;
    o.lists = {"pdq:" + (dir_ / "photos.txt").string(),
               "vpdq:" + (testing::testdata_dir() / "vpdq/reference").string()};
    service_.replace(load_matcher(o));
  }

  testing::TempDir dir_;
  std::vector<std::map<std::string, std::string>> rows_;
  LookupService service_{true};
};

TEST_F(Lookups, RawLookupNamesEveryEntryWithinTheThreshold) {
  const std::string query = rows_[0].at("pdq");
  std::set<std::string> want;
  std::map<std::string, int> want_distance;
  for (const auto& r : rows_)
    if (const int d = bits(query, r.at("pdq")); d <= 31) {
      want.insert(r.at("file"));
      want_distance[r.at("file")] = d;
    }
  ASSERT_GT(want.size(), 5u);
  const ordered_json plain = service_.raw_lookup("pdq", query, false, std::nullopt);
  std::set<std::string> got;
  for (const auto& id : plain["matches"]) got.insert(id.get<std::string>());
  EXPECT_EQ(got, want);
  const ordered_json with = service_.raw_lookup("pdq", query, true, std::nullopt);
  ASSERT_EQ(with["matches"].size(), want.size());
  for (const auto& m : with["matches"]) {
    const std::string id = m["bank_content_id"];
    EXPECT_EQ(m["distance"], std::to_string(want_distance.at(id))) << id;
    EXPECT_EQ(m["bank"], "photos");
  }
  // Upper case is the same hash.
  std::string upper = query;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(service_.raw_lookup("pdq", upper, false, std::nullopt)["matches"].size(), want.size());
  // A bank filter naming the list keeps its hits; a name that is no list is
  // an error that names the lists there are, not an empty answer.
  EXPECT_EQ(service_.raw_lookup("pdq", query, false, parse_banks("photos"))["matches"].size(),
            want.size());
  for (const std::string banks : {"other", "photos,photo"}) {
    try {
      service_.raw_lookup("pdq", query, false, parse_banks(banks));
      ADD_FAILURE() << "banks=" << banks << " was answered";
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 400);
      EXPECT_EQ(e.code(), "unknown_list");
      EXPECT_NE(std::string(e.what()).find("the lists are: photos"), std::string::npos) << e.what();
    }
    EXPECT_THROW(service_.lookup("pdq", query, parse_banks(banks)), ApiError);
  }
}

TEST_F(Lookups, VideoLookupGivesTheReferencePercentages) {
  const auto ref = testing::testdata_dir() / "vpdq";
  const ordered_json by_bank =
      service_.lookup("vpdq", vpdq_signal_of(ref / "reference/chair-19-sd-bar.txt"), std::nullopt);
  ASSERT_TRUE(by_bank.contains("reference")) << by_bank.dump();
  std::map<std::string, std::string> got;
  for (const auto& m : by_bank["reference"]) got[m["bank_content_id"]] = m["distance"];
  // match-reference.csv: chair-19 against chair-22 is 100.00 / 83.95; against itself 100 / 100.
  std::map<std::string, std::string> want;
  for (const auto& r : testing::read_csv(ref / "match-reference.csv")) {
    if (r.at("query") != "chair-19-sd-bar" || std::stod(r.at("compared_pct")) < 80) continue;
    char text[64];
    std::snprintf(text, sizeof text, "%.0f%%[%.0f%%]", std::stod(r.at("query_pct")),
                  std::stod(r.at("compared_pct")));
    want[r.at("compared")] = text;
  }
  want["chair-19-sd-bar"] = "100%[100%]";
  EXPECT_EQ(got, want);

  const json pair = {{"vpdq",
                      {vpdq_signal_of(ref / "reference/chair-19-sd-bar.txt"),
                       vpdq_signal_of(ref / "reference/chair-22-sd-sepia-bar.txt")}}};
  const ordered_json c = compare_signals(pair, service_.rules(), 20000);
  EXPECT_EQ(c["vpdq"][0], true);
  EXPECT_NEAR(c["vpdq"][1]["query_match_percent"].get<double>(), 100.00, 0.005);
  EXPECT_NEAR(c["vpdq"][1]["compared_match_percent"].get<double>(), 83.95, 0.005);
}

TEST_F(Lookups, CompareGivesTheDistanceAndTheVerdict) {
  const std::string a = rows_[0].at("pdq");
  for (const auto& r : rows_) {
    const json pair = {{"pdq", {a, r.at("pdq")}}};
    const ordered_json c = compare_signals(pair, service_.rules(), 20000);
    const int d = bits(a, r.at("pdq"));
    EXPECT_EQ(c["pdq"][1]["distance"], d);
    EXPECT_EQ(c["pdq"][0], d <= 31);
  }
  const json digests = {
      {"video_md5", {"d41d8cd98f00b204e9800998ecf8427e", "D41D8CD98F00B204E9800998ECF8427E"}}};
  EXPECT_EQ(compare_signals(digests, service_.rules(), 20000)["video_md5"][0], true);
  for (const json& bad : {json::array(), json{{"pdq", {a}}}, json{{"pdq", {a, "nothex"}}},
                          json{{"nosuchtype", {a, a}}}, json{{"pdq", {a, 3}}}})
    EXPECT_EQ(api_status([&] { compare_signals(bad, service_.rules(), 20000); }), 400)
        << bad.dump();
}

TEST_F(Lookups, IndexStatusCountsWhatTheListsHold) {
  std::set<std::string> distinct;
  for (const auto& r : rows_) distinct.insert(r.at("pdq"));
  const ordered_json s = service_.index_status("");
  EXPECT_EQ(s["pdq"]["present"], true);
  EXPECT_EQ(s["pdq"]["size"], distinct.size());
  EXPECT_GT(s["pdq"]["built_to"].get<int64_t>(), 1700000000);
  EXPECT_EQ(s["vpdq"]["size"], 6u);
  EXPECT_EQ(s["md5"]["present"], false);
  EXPECT_EQ(service_.index_status("video_md5").size(), 1u);
  EXPECT_EQ(api_status([&] { service_.index_status("nope"); }), 400);
}

TEST_F(Lookups, BadRequestsAndMissingLists) {
  EXPECT_EQ(api_status([&] { service_.raw_lookup("pdq", "abc", false, std::nullopt); }), 400);
  EXPECT_EQ(api_status([&] { service_.raw_lookup("photo", rows_[0].at("pdq"), false, {}); }), 400);
  EXPECT_EQ(api_status([&] { service_.lookup("vpdq", "[\"x,1,0\"]", std::nullopt); }), 400);
  EXPECT_EQ(api_status([&] { service_.lookup("vpdq", "[[[[[[]]]]]]", std::nullopt); }), 400);
  EXPECT_EQ(api_status([&] { service_.lookup("md5", "d41d8cd98f00b204e9800998ecf8427", {}); }),
            400);
  LookupService empty(true);
  EXPECT_FALSE(empty.ready());
  EXPECT_EQ(api_status([&] { empty.raw_lookup("pdq", rows_[0].at("pdq"), false, {}); }), 503);
}

TEST(Signals, AnImageHasPdqAVideoHasMd5AndVpdq) {
  ordered_json image = {
      {"status", "ok"},
      {"kind", "image"},
      {"md5", "m"},
      {"sha1", "s1"},
      {"sha256", "s2"},
      {"frames", {{{"index", 0}, {"ts", 0}, {"quality", 100}, {"pdq", std::string(64, 'a')}}}}};
  EXPECT_EQ(signals_of(image, {}, 50), (ordered_json{{"pdq", std::string(64, 'a')}}));
  EXPECT_EQ(signals_of(image, {"pdq", "md5", "sha256"}, 50),
            (ordered_json{{"pdq", std::string(64, 'a')}, {"md5", "m"}, {"sha256", "s2"}}));
  image["frames"][0]["quality"] = 40;  // as python-threatexchange: no hash below the quality bar
  EXPECT_EQ(signals_of(image, {}, 50)["pdq"], "");
  EXPECT_EQ(api_status([&] { signals_of(image, {"vpdq"}, 50); }), 400);

  ordered_json video = {
      {"status", "ok"},
      {"kind", "video"},
      {"md5", "m"},
      {"sha256", "s2"},
      {"frames",
       {{{"index", 0}, {"ts", 0.0}, {"quality", 90}, {"pdq", std::string(64, 'b')}},
        {{"index", 30}, {"ts", 1.001}, {"quality", 80}, {"pdq", std::string(64, 'c')}}}}};
  const ordered_json s = signals_of(video, {}, 50);
  EXPECT_EQ(s["video_md5"], "m");
  EXPECT_EQ(s["vpdq"], "[\"" + std::string(64, 'b') + ",90,0.000\", \"" + std::string(64, 'c') +
                           ",80,1.001\"]");
  // The signal is one that parse_signal takes back.
  EXPECT_EQ(parse_signal(ListType::kVpdq, s["vpdq"].get<std::string>()).frames.size(), 2u);
  EXPECT_EQ(api_status([&] { signals_of(video, {"pdq"}, 50); }), 400);
}

}  // namespace
}  // namespace frameprint::serve
