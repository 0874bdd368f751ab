// The frameprint executable as a user runs it: output lines, exit codes,
// directories, parallel jobs and the vPDQ text format.
#include <gtest/gtest.h>

#include <fstream>
#include <sys/stat.h>

#include <map>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <regex>
#include <sstream>

#include "ipc/common/json_text.h"
#include "tests/support/media_writer.h"
#include "tests/support/run_process.h"
#include "tests/support/temp_dir.h"

namespace frameprint {
namespace {

using nlohmann::json;

std::vector<json> lines_of(const std::string& out) {
  std::vector<json> v;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) v.push_back(json::parse(line));
  return v;
}

class HashCli : public ::testing::Test {
 protected:
  void SetUp() override {
    cv::Mat m(90, 120, CV_8UC3);
    cv::randu(m, 0, 255);
    std::vector<uint8_t> png;
    cv::imencode(".png", m, png);
    dir_.write("media/b.png", png);
    dir_.write("media/sub/a.png", png);
    testing::VideoSpec s;
    s.container = "matroska";
    s.encoder = "ffv1";
    for (int i = 0; i < 25; ++i) s.pts_seconds.push_back(i * 0.1);
    testing::write_video(dir_ / "media/clip.mkv", s);
    dir_.write("media/broken.jpg", {0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3});
  }
  testing::ProcessResult run(std::vector<std::string> args) {
    args.insert(args.begin(), FRAMEPRINT_CLI);
    return testing::run_process(args, 120);
  }
  testing::TempDir dir_;
};

TEST_F(HashCli, OneLinePerFileInOrderWithThePathAsGiven) {
  const std::string media = (dir_ / "media").string();
  const auto r = run({"hash", media + "/sub/a.png", media + "/clip.mkv"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["path"], media + "/sub/a.png");
  EXPECT_EQ(lines[0]["status"], "ok");
  EXPECT_EQ(lines[0]["kind"], "image");
  EXPECT_EQ(lines[0]["width"], 120);
  EXPECT_EQ(lines[0]["frames"].size(), 1u);
  EXPECT_EQ(lines[1]["kind"], "video");
  EXPECT_EQ(lines[1]["codec"], "ffv1");
  // One hash per second by default: frames at 0.0, 1.0 and 2.0 s.
  ASSERT_EQ(lines[1]["frames"].size(), 3u);
  EXPECT_EQ(lines[1]["frames"][1]["index"], 10);
  EXPECT_DOUBLE_EQ(lines[1]["frames"][1]["ts"].get<double>(), 1.0);
  for (const char* key : {"md5", "sha256", "rotation", "duration_s", "fps"})
    EXPECT_TRUE(lines[1].contains(key)) << key;
  EXPECT_EQ(lines[1]["decoder"], "cpu");  // no GPU here
}

TEST_F(HashCli, FailuresAreReportedPerFileWithExitStatus2) {
  const std::string media = (dir_ / "media").string();
  const auto r = run({"hash", media});
  EXPECT_EQ(r.exit_code, 2);
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 4u);  // the directory, recursively, sorted
  EXPECT_EQ(lines[0]["path"], media + "/b.png");
  EXPECT_EQ(lines[1]["path"], media + "/broken.jpg");
  EXPECT_EQ(lines[1]["status"], "error");
  EXPECT_EQ(lines[1]["error"]["code"], "truncated");
  EXPECT_FALSE(lines[1]["error"]["message"].get<std::string>().empty());
  EXPECT_EQ(lines[2]["path"], media + "/clip.mkv");
  EXPECT_EQ(lines[3]["path"], media + "/sub/a.png");
  EXPECT_EQ(lines[0]["frames"], lines[3]["frames"]);  // same picture, same hash

  const auto missing = run({"hash", (dir_ / "nope.mp4").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(lines_of(missing.out).at(0)["error"]["code"], "io_error");
}

TEST_F(HashCli, UsageErrorsExit1) {
  EXPECT_EQ(run({"hash"}).exit_code, 1);
  EXPECT_EQ(run({"hash", "--seconds-per-hash", "-1", "x"}).exit_code, 1);
  EXPECT_EQ(run({"hash", "--format", "xml", "x"}).exit_code, 1);
  EXPECT_EQ(run({"frobnicate"}).exit_code, 1);
  EXPECT_EQ(run({"hash", "--help"}).exit_code, 0);
}

TEST_F(HashCli, ParallelJobsGiveTheSameOutput) {
  const std::string media = (dir_ / "media").string();
  const auto one = run({"hash", "--seconds-per-hash", "0", media});
  const auto three = run({"hash", "--seconds-per-hash", "0", "--jobs", "3", media});
  EXPECT_EQ(one.out, three.out);
  EXPECT_EQ(three.exit_code, 2);
}

TEST_F(HashCli, VpdqTextFormat) {
  const std::string clip = (dir_ / "media/clip.mkv").string();
  const auto r = run({"hash", "--format", "vpdq", "--seconds-per-hash", "0", clip});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto json_run = lines_of(run({"hash", "--seconds-per-hash", "0", clip}).out).at(0);
  std::istringstream in(r.out);
  std::string line;
  const std::regex shape(R"((\d+),(\d+),([0-9a-f]{64}),(\d+\.\d{3}))");
  size_t n = 0;
  while (std::getline(in, line)) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, shape)) << line;
    const auto& f = json_run["frames"][n];
    EXPECT_EQ(std::stoi(m[1]), f["index"].get<int>());
    EXPECT_EQ(std::stoi(m[2]), f["quality"].get<int>());
    EXPECT_EQ(m[3].str(), f["pdq"].get<std::string>());
    ++n;
  }
  EXPECT_EQ(n, 25u);

  const auto out_dir = dir_ / "vpdq";
  const auto many = run(
      {"hash", "--format", "vpdq", "--output-dir", out_dir.string(), (dir_ / "media").string()});
  EXPECT_EQ(many.exit_code, 2);  // broken.jpg
  EXPECT_TRUE(std::filesystem::exists(out_dir / "clip.txt"));
  const auto text = testing::read_bytes(out_dir / "clip.txt");
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);  // one hash a second: 0, 1, 2 s
  EXPECT_FALSE(std::filesystem::exists(out_dir / "b.txt"));  // images get no vPDQ file
  EXPECT_EQ(run({"hash", "--format", "vpdq", (dir_ / "media").string()}).exit_code, 1);
}

TEST_F(HashCli, DihedralOption) {
  const auto r = run({"hash", "--dihedral", (dir_ / "media/b.png").string()});
  const auto line = lines_of(r.out).at(0);
  const auto& d = line["frames"][0]["dihedral"];
  for (const char* k :
       {"rotate90", "rotate180", "rotate270", "flipx", "flipy", "flipplus1", "flipminus1"})
    EXPECT_EQ(d[k].get<std::string>().size(), 64u) << k;
}

TEST_F(HashCli, ExactOptionIsReportedForImages) {
  const std::string png = (dir_ / "media/b.png").string();
  const std::string clip = (dir_ / "media/clip.mkv").string();
  const auto fast = lines_of(run({"hash", png, clip}).out);
  const auto exact = lines_of(run({"hash", "--exact", png, clip}).out);
  ASSERT_EQ(fast.size(), 2u);
  ASSERT_EQ(exact.size(), 2u);
  EXPECT_EQ(fast[0]["exact"], false);
  EXPECT_EQ(exact[0]["exact"], true);
  EXPECT_FALSE(exact[1].contains("exact"));  // videos have one route
  EXPECT_EQ(fast[1]["frames"], exact[1]["frames"]);
}

// OpenCV (and its ~140 libraries) is loaded only when a still needs it:
// never for videos, nor for JPEGs by the default route.
TEST_F(HashCli, OpenCvIsLoadedOnlyForStillsThatNeedIt) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizer runtimes change how the OpenCV module is loaded (no RTLD_DEEPBIND)";
#endif
  cv::Mat m(64, 96, CV_8UC3);
  cv::randu(m, 0, 255);
  std::vector<uint8_t> jpeg;
  cv::imencode(".jpg", m, jpeg);
  const auto photo = dir_.write("stills/photo.jpg", jpeg).string();
  const std::string png = (dir_ / "media/b.png").string();
  const std::string clip = (dir_ / "media/clip.mkv").string();
  auto loads_opencv = [&](std::vector<std::string> args) {
    // The dynamic loader lists every object it maps (glibc's LD_DEBUG).
    args.insert(args.begin(), {"/usr/bin/env", "LD_DEBUG=files", FRAMEPRINT_CLI, "hash"});
    const auto r = testing::run_process(args, 120);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.err.find("libopencv_imgcodecs") != std::string::npos;
  };
  EXPECT_FALSE(loads_opencv({clip}));
  EXPECT_FALSE(loads_opencv({photo}));
  EXPECT_TRUE(loads_opencv({png}));
  EXPECT_TRUE(loads_opencv({"--exact", photo}));

  // With a library preloaded the module is opened without RTLD_DEEPBIND;
  // the hashes are the same.
  const auto plain = run({"hash", png});
  const auto preloaded =
      testing::run_process({"/usr/bin/env", "LD_PRELOAD=libm.so.6", FRAMEPRINT_CLI, "hash", png});
  ASSERT_EQ(preloaded.exit_code, 0) << preloaded.err;
  EXPECT_EQ(lines_of(preloaded.out).at(0)["frames"], lines_of(plain.out).at(0)["frames"]);
}

TEST_F(HashCli, AMissingOpenCvModuleFailsOnlyTheStillsThatNeedIt) {
  cv::Mat m(64, 96, CV_8UC3);
  cv::randu(m, 0, 255);
  std::vector<uint8_t> jpeg;
  cv::imencode(".jpg", m, jpeg);
  const auto photo = dir_.write("stills/photo.jpg", jpeg).string();
  const std::string missing = (dir_ / "no/libframeprint_stills.so").string();
  const auto r = testing::run_process(
      {"/usr/bin/env", "FRAMEPRINT_STILLS_MODULE=" + missing, FRAMEPRINT_CLI, "hash", photo,
       (dir_ / "media/b.png").string(), (dir_ / "media/clip.mkv").string()});
  EXPECT_EQ(r.exit_code, 2);
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["status"], "ok");
  EXPECT_EQ(lines[1]["status"], "error");
  EXPECT_EQ(lines[1]["error"]["code"], "unsupported_format");
  EXPECT_NE(lines[1]["error"]["message"].get<std::string>().find(missing), std::string::npos)
      << lines[1];
  EXPECT_EQ(lines[2]["status"], "ok");
}

TEST_F(HashCli, MatchAddsMatchesAndHashListGivesTheSame) {
  const std::string media = (dir_ / "media").string();
  const auto hashed = run({"hash", media});
  const auto lines = lines_of(hashed.out);
  const std::string png_hash =
      lines.at(0)["frames"][0]["pdq"];  // b.png (same picture as sub/a.png)
  const std::string clip_md5 = lines.at(2)["md5"];
  dir_.write("lists/known.txt", std::vector<uint8_t>(png_hash.begin(), png_hash.end()));
  const std::string md5_line = clip_md5 + ",clip-17\n";
  dir_.write("lists/md5s.txt", std::vector<uint8_t>(md5_line.begin(), md5_line.end()));
  dir_.write("results.jsonl", std::vector<uint8_t>(hashed.out.begin(), hashed.out.end()));
  const std::string pdq_list = "pdq:" + (dir_ / "lists/known.txt").string();
  const std::string md5_list = "md5:" + (dir_ / "lists/md5s.txt").string();

  const auto matched =
      run({"match", "--list", pdq_list, "--list", md5_list, (dir_ / "results.jsonl").string()});
  EXPECT_EQ(matched.exit_code, 0) << matched.err;
  const auto m = lines_of(matched.out);
  ASSERT_EQ(m.size(), 4u);
  ASSERT_EQ(m[0]["matches"].size(), 1u);
  EXPECT_EQ(m[0]["matches"][0]["list"], "known");
  EXPECT_EQ(m[0]["matches"][0]["id"], "known:1");  // no id in the list: list and line
  EXPECT_EQ(m[0]["matches"][0]["distance"], 0);
  EXPECT_FALSE(m[1].contains("matches"));  // the broken file has no hashes
  ASSERT_EQ(m[2]["matches"].size(), 1u);
  EXPECT_EQ(m[2]["matches"][0]["type"], "md5");
  EXPECT_EQ(m[2]["matches"][0]["id"], "clip-17");
  EXPECT_EQ(m[3]["matches"].size(), 1u);

  const auto inline_run = run({"hash", "--list", pdq_list, "--list", md5_list, media});
  EXPECT_EQ(lines_of(inline_run.out), m);  // hash --list == hash | match

  // match keeps the matches a result has: those of a list given again are
  // found again (not doubled), those of other lists stay, first.
  dir_.write("matched.jsonl", std::vector<uint8_t>(inline_run.out.begin(), inline_run.out.end()));
  const auto again = run({"match", "--list", pdq_list, (dir_ / "matched.jsonl").string()});
  EXPECT_EQ(lines_of(again.out), m);
  dir_.write("lists/known2.txt", std::vector<uint8_t>(png_hash.begin(), png_hash.end()));
  const auto more = lines_of(run({"match", "--list", "pdq:" + (dir_ / "lists/known2.txt").string(),
                                  (dir_ / "matched.jsonl").string()})
                                 .out);
  ASSERT_EQ(more.size(), 4u);
  ASSERT_EQ(more[0]["matches"].size(), 2u) << more[0];
  EXPECT_EQ(more[0]["matches"][0]["id"], "known:1");
  EXPECT_EQ(more[0]["matches"][1]["id"], "known2:1");
  EXPECT_EQ(more[2]["matches"], m[2]["matches"]);  // the md5 match kept

  // A result whose quality is a string is matched no further and said so (exit 2).
  std::string edited = hashed.out;
  const size_t q = edited.find("\"quality\":");
  ASSERT_NE(q, std::string::npos);
  const size_t value = q + 10, comma = edited.find(',', value);
  edited.replace(value, comma - value, "\"" + edited.substr(value, comma - value) + "\"");
  dir_.write("edited.jsonl", std::vector<uint8_t>(edited.begin(), edited.end()));
  const auto strict = run({"match", "--list", pdq_list, (dir_ / "edited.jsonl").string()});
  EXPECT_EQ(strict.exit_code, 2);
  EXPECT_NE(strict.err.find("edited.jsonl:1: 1 fields could not be matched"), std::string::npos)
      << strict.err;
  const auto first = lines_of(strict.out).at(0);
  EXPECT_TRUE(first["matches"].empty());
  EXPECT_EQ(first["warnings"].back()["code"], "unmatched_fields");

  dir_.write("lists/bad.txt", std::vector<uint8_t>{'z', 'z', '\n'});
  const auto bad = run({"match", "--list", "pdq:" + (dir_ / "lists/bad.txt").string(),
                        (dir_ / "results.jsonl").string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("bad.txt:1:"), std::string::npos) << bad.err;
}

// What a newcomer meets in the first hour (issue 22): -v after the
// subcommand, keygen making its folder and refusing to overwrite without
// --force, a summary line, --matches-only, and one warning for many bad
// input lines.
TEST_F(HashCli, TheFirstHourSaysWhatHappened) {
  namespace fs = std::filesystem;
  const std::string media = (dir_ / "media").string();
  const auto verbose = run({"hash", "-v", media + "/b.png"});
  EXPECT_EQ(verbose.exit_code, 0) << verbose.err;

  const std::string keys = (dir_ / "fresh/keys/broker").string();
  const auto made = run({"keygen", keys});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_EQ(fs::status(dir_ / "fresh/keys").permissions() & fs::perms::all, fs::perms::owner_all);
  std::ifstream first_in(keys + ".pub");
  const std::string first((std::istreambuf_iterator<char>(first_in)), {});
  const auto again = run({"keygen", keys});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;
  EXPECT_EQ(run({"keygen", "--force", keys}).exit_code, 0);
  std::ifstream second_in(keys + ".pub");
  const std::string second((std::istreambuf_iterator<char>(second_in)), {});
  EXPECT_NE(first, second) << "--force wrote the same key";
  EXPECT_FALSE(fs::exists(keys + ".key.tmp"));

  // A list holding b.png's hash (and so sub/a.png's, the same picture).
  const std::string png_hash =
      lines_of(run({"hash", media + "/b.png"}).out).at(0)["frames"][0]["pdq"];
  dir_.write("lists/one.txt", std::vector<uint8_t>(png_hash.begin(), png_hash.end()));
  const std::string list = "pdq:" + (dir_ / "lists/one.txt").string();
  const auto all = run({"hash", "--list", list, media});
  const auto only = run({"hash", "--list", list, "--matches-only", media});
  EXPECT_EQ(only.exit_code, all.exit_code);  // broken.jpg fails either way
  std::vector<json> matched;
  for (const auto& j : lines_of(all.out))
    if (j.contains("matches") && !j["matches"].empty()) matched.push_back(j);
  ASSERT_EQ(matched.size(), 2u);
  EXPECT_EQ(lines_of(only.out), matched);
  EXPECT_NE(only.err.find("broken.jpg: "), std::string::npos) << only.err;  // failures still said
  EXPECT_NE(only.err.find("frameprint hash: 4 inputs, 3 ok, 1 failed, 2 with matches"),
            std::string::npos)
      << only.err;
  EXPECT_EQ(run({"hash", "--matches-only", media}).exit_code, 1);  // without --list

  // match given a CSV by mistake: one warning naming the first line, and a count.
  dir_.write("rows.csv", std::vector<uint8_t>{'a', ',', 'b', '\n', 'c', ',', 'd', '\n', 'e', '\n'});
  const auto csv = run({"match", "--list", list, (dir_ / "rows.csv").string()});
  EXPECT_EQ(csv.exit_code, 2);
  EXPECT_NE(csv.err.find("rows.csv:1: not a JSON object; skipped (and 2 more lines like it)"),
            std::string::npos)
      << csv.err;
  EXPECT_EQ(csv.err.find("rows.csv:2"), std::string::npos) << csv.err;
}

// Every entry of a walked directory is accounted for (issue 14): an error
// line for each one passed over, links under their own names, special files
// never opened, names that are not UTF-8 kept exactly.
TEST_F(HashCli, EveryEntryOfADirectoryIsAccountedFor) {
  namespace fs = std::filesystem;
  const fs::path tree = dir_ / "tree";
  const fs::path outside = dir_ / "outside.png";
  fs::create_directories(tree);
  fs::copy_file(dir_ / "media" / "b.png", tree / "a.png");
  fs::copy_file(dir_ / "media" / "b.png", outside);
  fs::create_symlink(tree / "a.png", tree / "link-to-a.png");
  fs::create_symlink(outside, tree / "link-outside.png");
  fs::create_symlink(tree / "missing.png", tree / "dangling.png");
  fs::create_symlink(tree, tree / "loop");
  ASSERT_EQ(::mkfifo((tree / "fifo").c_str(), 0600), 0);
  const std::string odd = std::string("bad-\xff\xfe-name.png");
  fs::copy_file(dir_ / "media" / "b.png", tree / odd);

  const auto r = run({"hash", tree.string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;  // some entries are errors
  std::map<std::string, json> by_name;
  std::string odd_b64;
  for (const auto& j : lines_of(r.out)) {
    const std::string path = j["path"];
    by_name[fs::path(path).filename().string()] = j;
    if (j.contains("path_b64")) odd_b64 = j["path_b64"];
  }
  ASSERT_EQ(lines_of(r.out).size(), 7u) << r.out;  // nothing silently skipped
  EXPECT_EQ(by_name["a.png"]["status"], "ok");
  EXPECT_EQ(by_name["link-to-a.png"]["status"], "ok");  // under its own name
  EXPECT_EQ(by_name["link-to-a.png"]["frames"], by_name["a.png"]["frames"]);
  auto message = [&](const char* name) {
    return by_name[name]["error"]["message"].get<std::string>();
  };
  EXPECT_NE(message("link-outside.png").find("outside"), std::string::npos);
  EXPECT_NE(message("dangling.png").find("dangling"), std::string::npos);
  EXPECT_NE(message("loop").find("directory (not followed)"), std::string::npos);
  EXPECT_NE(message("fifo").find("FIFO"), std::string::npos);
  // The exact bytes of the name that is not UTF-8.
  EXPECT_EQ(odd_b64, base64((tree / odd).string()));
  EXPECT_EQ(base64(std::string("bad-\xff\xfe-name.png")), "YmFkLf/+LW5hbWUucG5n");
}

TEST_F(HashCli, SpecialFilesGivenByNameAreRefusedWithoutBlocking) {
  const auto fifo = dir_ / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto r = run({"hash", fifo.string()});  // a blocking open would hang here
  EXPECT_EQ(r.exit_code, 2);
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["error"]["code"], "io_error");
}

}  // namespace
}  // namespace frameprint
