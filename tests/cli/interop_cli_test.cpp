// frameprint beside the hash-sharing ecosystem's tools, as a user runs it:
// threatexchange-style and CSV output read back as lists, lists in the
// ecosystem's formats, standard input and --files-from as inputs, and
// --version on every program.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "tests/support/media_writer.h"
#include "tests/support/run_process.h"
#include "tests/support/temp_dir.h"

namespace frameprint {
namespace {

using nlohmann::json;

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

std::vector<std::string> text_lines(const std::string& out) {
  std::vector<std::string> v;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) v.push_back(line);
  return v;
}

std::vector<json> lines_of(const std::string& out) {
  std::vector<json> v;
  for (const auto& l : text_lines(out)) v.push_back(json::parse(l));
  return v;
}

// One CSV record as RFC 4180 has it (enough for the tests' output).
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      out.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

class InteropCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto luma = testing::pattern_luma(160, 120, 3);
    cv::Mat m(120, 160, CV_8UC1, const_cast<uint8_t*>(luma.data()));
    std::vector<uint8_t> png;
    cv::imencode(".png", m, png);
    photo_ = dir_.write("media/photo.png", png);
    testing::VideoSpec s;
    s.container = "matroska";
    s.encoder = "ffv1";
    for (int i = 0; i < 25; ++i) s.pts_seconds.push_back(i * 0.1);
    clip_ = dir_ / "media/clip.mkv";
    testing::write_video(clip_, s);
    dir_.write("media/broken.jpg", {0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3});
  }
  testing::ProcessResult run(std::vector<std::string> args,
                             const std::filesystem::path& stdin_file = {}) {
    args.insert(args.begin(), FRAMEPRINT_CLI);
    return testing::run_process(args, 120, stdin_file);
  }
  testing::TempDir dir_;
  std::filesystem::path photo_, clip_;
};

TEST_F(InteropCli, TeOutputIsWhatTheThreatexchangeCliPrintsAndReadsBackAsAList) {
  const auto te = run({"hash", "--format", "te", photo_.string(), clip_.string()});
  ASSERT_EQ(te.exit_code, 0) << te.err;
  const auto results = run({"hash", photo_.string(), clip_.string()});
  const auto j = lines_of(results.out);
  ASSERT_EQ(j.size(), 2u);
  const auto lines = text_lines(te.out);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "pdq " + j[0]["frames"][0]["pdq"].get<std::string>());
  EXPECT_EQ(lines[1], "video_md5 " + j[1]["md5"].get<std::string>());
  EXPECT_EQ(lines[2], "video_sha256 " + j[1]["sha256"].get<std::string>());
  // The vpdq signal: python-threatexchange's JSON list of "hex,quality,timestamp".
  ASSERT_EQ(lines[3].rfind("vpdq [", 0), 0u) << lines[3];
  const auto frames = json::parse(lines[3].substr(5));
  ASSERT_EQ(frames.size(), j[1]["frames"].size());
  for (size_t i = 0; i < frames.size(); ++i) {
    const auto& f = j[1]["frames"][i];
    char ts[32];
    std::snprintf(ts, sizeof ts, "%.3f", f["ts"].get<double>());
    EXPECT_EQ(frames[i], f["pdq"].get<std::string>() + "," +
                             std::to_string(f["quality"].get<int>()) + "," + ts);
  }

  // Back in as a threatexchange local-file list: every signal matches its file.
  dir_.write("lists/local.txt", bytes_of(te.out));
  dir_.write("results.jsonl", bytes_of(results.out));
  const auto matched = run({"match", "--list", "auto:" + (dir_ / "lists/local.txt").string(),
                            (dir_ / "results.jsonl").string()});
  ASSERT_EQ(matched.exit_code, 0) << matched.err;
  EXPECT_NE(matched.err.find("list local (te, "), std::string::npos) << matched.err;
  const auto m = lines_of(matched.out);
  ASSERT_EQ(m.size(), 2u);
  ASSERT_EQ(m[0]["matches"].size(), 1u);
  EXPECT_EQ(m[0]["matches"][0]["type"], "pdq");
  EXPECT_EQ(m[0]["matches"][0]["id"], "local:1");
  EXPECT_EQ(m[0]["matches"][0]["distance"], 0);
  std::map<std::string, json> by_type;
  for (const auto& hit : m[1]["matches"]) by_type[hit["type"].get<std::string>()] = hit;
  ASSERT_EQ(by_type.size(), 3u) << m[1]["matches"].dump();
  EXPECT_EQ(by_type["md5"]["id"], "local:2");
  EXPECT_EQ(by_type["sha256"]["id"], "local:3");
  EXPECT_EQ(by_type["vpdq"]["id"], "local:4");
  EXPECT_EQ(by_type["vpdq"]["compared_pct"], 100.0);
}

TEST_F(InteropCli, CsvOutputHasAHeaderAndOneRowPerFrame) {
  const auto odd = dir_ / "media/odd, \"name\".png";
  std::filesystem::copy_file(photo_, odd);
  const auto r = run({"hash", "--format", "csv", "--seconds-per-hash", "0", clip_.string(),
                      odd.string(), (dir_ / "media/broken.jpg").string()});
  EXPECT_EQ(r.exit_code, 2);  // broken.jpg, reported on stderr
  EXPECT_NE(r.err.find("broken.jpg: truncated: "), std::string::npos) << r.err;
  const auto lines = text_lines(r.out);
  ASSERT_EQ(lines.size(), 1u + 25u + 1u);
  EXPECT_EQ(lines[0], "path,kind,index,ts,quality,pdq,md5,sha1,sha256");
  const auto j =
      lines_of(run({"hash", "--seconds-per-hash", "0", clip_.string(), odd.string()}).out);
  const auto row = csv_fields(lines[11]);
  ASSERT_EQ(row.size(), 9u);
  const auto& f = j[0]["frames"][10];
  EXPECT_EQ(row[0], clip_.string());
  EXPECT_EQ(row[1], "video");
  EXPECT_EQ(row[2], "10");
  EXPECT_DOUBLE_EQ(std::stod(row[3]), f["ts"].get<double>());
  EXPECT_EQ(row[4], std::to_string(f["quality"].get<int>()));
  EXPECT_EQ(row[5], f["pdq"]);
  EXPECT_EQ(row[6], j[0]["md5"]);
  EXPECT_EQ(row[7], j[0]["sha1"]);
  EXPECT_EQ(row[8], j[0]["sha256"]);
  EXPECT_EQ(lines[26].front(), '"');  // a name with a comma and quotes is quoted
  const auto image_row = csv_fields(lines[26]);
  EXPECT_EQ(image_row[0], odd.string());
  EXPECT_EQ(image_row[1], "image");
  EXPECT_EQ(image_row[5], j[1]["frames"][0]["pdq"]);

  // Matches go in JSON lines only.
  dir_.write("lists/k.txt", bytes_of(std::string(32, 'a') + "\n"));
  EXPECT_EQ(run({"hash", "--format", "csv", "--list", "md5:" + (dir_ / "lists/k.txt").string(),
                 clip_.string()})
                .exit_code,
            1);
}

TEST_F(InteropCli, DashReadsOneFileFromStandardInput) {
  const auto file = lines_of(run({"hash", photo_.string()}).out).at(0);
  const auto r = run({"hash", "-"}, photo_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto piped = lines_of(r.out).at(0);
  EXPECT_EQ(piped["path"], "-");
  EXPECT_EQ(piped["md5"], file["md5"]);
  EXPECT_EQ(piped["sha1"], file["sha1"]);
  EXPECT_EQ(piped["frames"], file["frames"]);

  const auto big = run({"hash", "--max-bytes", "100", "-"}, photo_);
  EXPECT_EQ(big.exit_code, 2);
  const auto refused = lines_of(big.out).at(0);
  EXPECT_EQ(refused["error"]["code"], "too_large");
  EXPECT_NE(refused["error"]["message"].get<std::string>().find("--max-bytes"), std::string::npos);

  EXPECT_EQ(lines_of(run({"hash", "-"}).out).at(0)["error"]["code"], "empty_file");  // /dev/null
  EXPECT_EQ(run({"hash", "-", "-"}, photo_).exit_code, 1);
}

TEST_F(InteropCli, FilesFromListsPathsByLineOrByNul) {
  const std::string a = photo_.string(), b = clip_.string();
  dir_.write("by-line.txt", bytes_of(a + "\r\n\n" + b + "\n"));  // CR LF and a blank line
  const auto r = run({"hash", "--files-from", (dir_ / "by-line.txt").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["path"], a);
  EXPECT_EQ(lines[1]["path"], b);

  std::string nul = b + '\0' + a + '\0';
  dir_.write("by-nul.txt", bytes_of(nul));
  lines = lines_of(run({"hash", "-0", "--files-from", (dir_ / "by-nul.txt").string()}).out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["path"], b);
  EXPECT_EQ(lines[1]["path"], a);

  // From standard input, after the paths on the command line; a missing file is a result.
  dir_.write("stdin.txt", bytes_of(a + "\n" + (dir_ / "nope.png").string() + "\n"));
  const auto s = run({"hash", "--files-from", "-", b}, dir_ / "stdin.txt");
  EXPECT_EQ(s.exit_code, 2);
  lines = lines_of(s.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["path"], b);
  EXPECT_EQ(lines[1]["path"], a);
  EXPECT_EQ(lines[2]["error"]["code"], "io_error");

  // Not a list of paths: usage errors with the entry's place.
  dir_.write("long.txt", bytes_of(std::string(5000, 'x') + "\n"));
  const auto bad = run({"hash", "--files-from", (dir_ / "long.txt").string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("long.txt:1: longer than a path may be"), std::string::npos) << bad.err;
  EXPECT_NE(run({"hash", "--files-from", (dir_ / "by-nul.txt").string()}).err.find("need -0"),
            std::string::npos);
  EXPECT_EQ(run({"hash", "--files-from", "-", "-"}, dir_ / "stdin.txt").exit_code, 1);
  EXPECT_EQ(run({"hash"}).exit_code, 1);
}

TEST_F(InteropCli, EcosystemListsStatsAndLimits) {
  const auto j = lines_of(run({"hash", photo_.string()}).out).at(0);
  const std::string pdq = j["frames"][0]["pdq"];
  dir_.write("results.jsonl", bytes_of(j.dump() + "\n"));
  const std::string results = (dir_ / "results.jsonl").string();

  // pdq-photo-hasher output, the hash in upper case, with a CR LF and a byte order mark.
  std::string upper = pdq;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  dir_.write("lists/hasher.txt", bytes_of("\xEF\xBB\xBF" + upper + ",100,photos/original.jpg\r\n"));
  const std::string hasher = "pdq:" + (dir_ / "lists/hasher.txt").string();
  const auto m = run({"match", "--list", hasher, results});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  const auto hit = lines_of(m.out).at(0)["matches"].at(0);
  EXPECT_EQ(hit["id"], "photos/original.jpg");
  EXPECT_EQ(hit["list_quality"], 100);

  const auto stats = run({"match", "--list-stats", "--list", hasher});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  const auto st = lines_of(stats.out).at(0);
  EXPECT_EQ(st["format"], "pdq-hasher");
  EXPECT_EQ(st["entries"]["pdq"], 1);
  EXPECT_EQ(st["uppercase"], 1);
  EXPECT_EQ(st["bom"], true);
  EXPECT_EQ(st["crlf_lines"], 1);

  // An empty list is refused unless allowed.
  dir_.write("lists/empty.txt", bytes_of("# to be filled\n"));
  const std::string empty = "pdq:" + (dir_ / "lists/empty.txt").string();
  const auto refused = run({"match", "--list", empty, results});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("--allow-empty-list"), std::string::npos) << refused.err;
  const auto allowed = run({"match", "--allow-empty-list", "--list", empty, results});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_TRUE(lines_of(allowed.out).at(0)["matches"].empty());

  // A hostile one-line list: refused at the line limit, not echoed.
  dir_.write("lists/huge.txt", std::vector<uint8_t>((size_t{16} << 20) + 100, 'A'));
  const auto huge =
      run({"hash", "--list", "pdq:" + (dir_ / "lists/huge.txt").string(), photo_.string()});
  EXPECT_EQ(huge.exit_code, 1);
  EXPECT_NE(huge.err.find("huge.txt:1: line longer than 16777216 bytes"), std::string::npos)
      << huge.err.substr(0, 500);
  EXPECT_LT(huge.err.size(), 500u);
  EXPECT_TRUE(huge.out.empty());
}

TEST_F(InteropCli, EveryProgramSaysItsVersion) {
  for (const char* program : {FRAMEPRINT_CLI, FRAMEPRINT_WORKER, FRAMEPRINT_BROKER}) {
    const auto r = testing::run_process({program, "--version"}, 60);
    ASSERT_EQ(r.exit_code, 0) << program << r.err;
    const auto lines = text_lines(r.out);
    ASSERT_GE(lines.size(), 3u) << r.out;
    const std::string name = std::filesystem::path(program).filename().string();
    EXPECT_EQ(lines[0], name + " " + FRAMEPRINT_PROJECT_VERSION);
    EXPECT_EQ(lines[1].rfind("revision: ", 0), 0u);
    EXPECT_GT(lines[1].size(), std::string("revision: ").size());
    EXPECT_TRUE(lines[2] == "cuda: on" || lines[2] == "cuda: off") << lines[2];
    const bool decodes = name != "frameprint-broker";
    for (const char* lib : {"ffmpeg: ", "libavcodec: ", "libavformat: ", "opencv: "}) {
      const bool found = r.out.find(std::string("\n") + lib) != std::string::npos;
      EXPECT_EQ(found, decodes) << name << " " << lib;
    }
  }
}

}  // namespace
}  // namespace frameprint
