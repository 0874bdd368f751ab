// Finding copies: re-uploads of listed photos and videos, with the edits
// re-uploads carry, matched at the defaults against lists made by the
// reference (../shared/testdata), and nothing else matched.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "kernels/pdq_backend.h"
#include "tests/support/temp_dir.h"
#include "tests/support/testdata.h"
#include "worker/matching/matcher.h"
#include "worker/media/media_hasher.h"

namespace frameprint {
namespace {

using nlohmann::ordered_json;

class CopyDetection : public ::testing::Test {
 protected:
  MediaResult hash_bytes(std::vector<uint8_t> bytes, bool for_matching) {
    MediaSource source = MediaSource::from_bytes(std::move(bytes));
    HashOptions o;
    o.for_matching = for_matching;
    return hash_media(source, o, *backend_);
  }
  std::filesystem::path write(const std::string& name, const std::string& text) {
    const auto p = dir_.path() / name;
    std::ofstream(p) << text;
    return p;
  }
  testing::TempDir dir_;
  std::unique_ptr<pdq::PdqBackend> backend_ = pdq::make_cpu_backend();
};

std::vector<uint8_t> jpeg(const cv::Mat& m) {
  std::vector<uint8_t> out;
  EXPECT_TRUE(cv::imencode(".jpg", m, out, {cv::IMWRITE_JPEG_QUALITY, 90}));
  return out;
}

// What re-posted photos look like.
cv::Mat phone_padding(const cv::Mat& m) {  // black bars to a 9:19.5 screen
  const int h = m.cols * 195 / 90;
  cv::Mat out;
  cv::copyMakeBorder(m, out, (h - m.rows) / 2, h - m.rows - (h - m.rows) / 2, 0, 0,
                     cv::BORDER_CONSTANT, cv::Scalar(0, 0, 0));
  return out;
}
cv::Mat white_border(const cv::Mat& m) {
  cv::Mat out;
  const int b = m.cols / 10;
  cv::copyMakeBorder(m, out, b, b, b, b, cv::BORDER_CONSTANT, cv::Scalar(255, 255, 255));
  return out;
}
cv::Mat screenshot(const cv::Mat& m) {  // dark surround, a status bar with a clock and icons
  const int w = m.cols * 11 / 10, h = w * 2;
  cv::Mat out(h, w, CV_8UC3, cv::Scalar(32, 32, 32));
  m.copyTo(out(cv::Rect((w - m.cols) / 2, (h - m.rows) / 2, m.cols, m.rows)));
  cv::rectangle(out, cv::Rect(0, 0, w, h / 28), cv::Scalar(48, 48, 48), cv::FILLED);
  cv::rectangle(out, cv::Rect(w / 20, h / 100, w / 12, h / 70), cv::Scalar(255, 255, 255),
                cv::FILLED);
  cv::rectangle(out, cv::Rect(w * 8 / 10, h / 100, w / 8, h / 70), cv::Scalar(255, 255, 255),
                cv::FILLED);
  return out;
}

TEST_F(CopyDetection, PaddedBorderedScreenshottedTurnedAndMirroredPhotosMatchAtTheDefaults) {
  FRAMEPRINT_REQUIRE_TESTDATA();
  const auto dir = testing::testdata_dir() / "pdq";
  std::string listed;  // the reference's hash of the original photo
  for (const auto& row : testing::read_csv(dir / "images.csv"))
    if (row.at("file") == "bridge-1-original.jpg") listed = row.at("pdq");
  ASSERT_EQ(listed.size(), 64u);
  const Matcher matcher(
      HashLists::load({parse_list_spec("pdq:" + write("l.txt", listed + ",bridge\n").string())}),
      {});
  const cv::Mat photo = cv::imread((dir / "images" / "bridge-1-original.jpg").string());
  ASSERT_FALSE(photo.empty());
  cv::Mat flipped, turned;
  cv::flip(photo, flipped, 1);
  cv::rotate(photo, turned, cv::ROTATE_90_CLOCKWISE);
  const std::vector<std::tuple<std::string, cv::Mat, std::string>> copies = {
      {"phone padding", phone_padding(photo), "unpadded"},
      {"white border", white_border(photo), "unpadded"},
      {"screenshot", screenshot(photo), "unpadded"},
      {"mirrored", flipped, "flip"},  // flipy in PDQ's naming: a flip about the y axis
      {"turned", turned, "rotate"},   // rotate90 or rotate270, by the dihedral's convention
  };
  for (const auto& [what, picture, variant] : copies) {
    const auto bytes = jpeg(picture);
    // Plain PDQ does not find these copies...
    const MediaResult plain = hash_bytes(bytes, false);
    ASSERT_TRUE(plain.ok()) << what;
    EXPECT_TRUE(matcher.matches(MatchQuery::from_result(plain)).empty()) << what;
    // ...hashed for matching, they are found, saying by which hash.
    const MediaResult r = hash_bytes(bytes, true);
    const auto hits = matcher.matches(MatchQuery::from_result(r));
    ASSERT_EQ(hits.size(), 1u) << what;
    EXPECT_EQ(hits[0]["id"], "bridge") << what;
    EXPECT_EQ(hits[0].value("variant", "").rfind(variant, 0), 0u) << what << ": " << hits[0];
    EXPECT_LE(hits[0]["distance"].get<int>(), 31) << what;
    // What is printed is unchanged: the same frames, no variants.
    EXPECT_EQ(to_json(r)["frames"], to_json(plain)["frames"]) << what;
  }
  // The photo itself matches by its plain hash (no variant named).
  const auto hits = matcher.matches(MatchQuery::from_result(hash_bytes(jpeg(photo), true)));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_FALSE(hits[0].contains("variant"));
}

// The reference's every-frame hashes of a shared video as a list file, or
// the first frame at or after each second of them (a list made at 1 hash/s).
std::string reference_list(const std::string& name, double step) {
  std::string out;
  double next = 0;
  for (const auto& l :
       testing::read_vpdq_file(testing::testdata_dir() / "vpdq" / "reference" / (name + ".txt"))) {
    if (step > 0) {
      if (l.timestamp + 1e-6 < next) continue;
      next = (std::floor((l.timestamp + 1e-6) / step) + 1) * step;
    }
    out += std::to_string(l.index) + "," + std::to_string(l.quality) + "," + l.hash.to_hex() + "," +
           std::to_string(l.timestamp) + "\n";
  }
  return out;
}

TEST_F(CopyDetection, AListedVideoMatchesItsFileAtTheDefaultsWhateverRateItsListWasMadeAt) {
  FRAMEPRINT_REQUIRE_TESTDATA();
  const auto video = testing::testdata_dir() / "vpdq" / "videos" / "chair-19-sd-bar.mp4";
  HashOptions o;  // the defaults: one printed hash a second
  o.for_matching = true;
  const MediaResult r = hash_file(video, "chair.mp4", o, *backend_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.frames.size(), 19u);  // what is printed stays at --seconds-per-hash
  for (const double step : {0.0, 1.0}) {
    std::filesystem::create_directories(dir_.path() / std::to_string(step));
    write(std::to_string(step) + "/chair-19-sd-bar.txt", reference_list("chair-19-sd-bar", step));
    HashLists lists =
        HashLists::load({parse_list_spec("vpdq:" + (dir_.path() / std::to_string(step)).string())});
    const Matcher m(std::move(lists), {});
    const auto hits = m.matches(MatchQuery::from_result(r));
    ASSERT_EQ(hits.size(), 1u) << "list every " << step << " s";
    EXPECT_EQ(hits[0]["kind"], "full") << step;
    EXPECT_GT(hits[0]["query_pct"].get<double>(), 95.0) << step;
    EXPECT_GT(hits[0]["compared_pct"].get<double>(), 95.0) << step;
    // The reference matcher's rule misses the every-frame list: 19 query
    // frames cover about 1/30 of its frames.
    MatchRules frames;
    frames.vpdq_rule = VpdqRule::kFrames;
    HashLists again =
        HashLists::load({parse_list_spec("vpdq:" + (dir_.path() / std::to_string(step)).string())});
    const Matcher old(std::move(again), frames);
    EXPECT_EQ(old.matches(MatchQuery::from_result(r)).empty(), step == 0.0) << step;
  }
}

}  // namespace
}  // namespace frameprint
