// `frameprint serve` as deployed: a real process on loopback, driven with
// curl and with Python's urllib (what an HMA client would use), with url=
// fetched from a Python HTTP server the test starts, and hashing through a
// real broker and worker. Every test is bounded in time.
#include <algorithm>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "tests/support/child_process.h"
#include "tests/support/run_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/testdata.h"

namespace frameprint {
namespace {

using nlohmann::json;
using testing::ChildProcess;
using namespace std::chrono_literals;

const std::string kToken = "serve-test-token-0123456789abcdef";

// A program on PATH, by absolute path (spawn does not search PATH).
std::string program(const std::string& name) {
  for (const char* dir : {"/usr/bin", "/bin", "/usr/local/bin"}) {
    const std::string p = std::string(dir) + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

struct Answer {
  int status = 0;
  std::string body;
  json j() const { return json::parse(body, nullptr, false); }
};

// The Python side: one request with urllib, printing the status and the body.
const char kUrllib[] = R"py(
import sys, urllib.request, urllib.error
method, url, token, body = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
data = open(body, 'rb').read() if body else None
req = urllib.request.Request(url, data=data, method=method)
if token:
    req.add_header('Authorization', 'Bearer ' + token)
if data is not None:
    req.add_header('Content-Type', 'application/octet-stream')
try:
    with urllib.request.urlopen(req, timeout=60) as r:
        status, text = r.status, r.read()
except urllib.error.HTTPError as e:
    status, text = e.code, e.read()
sys.stdout.write(str(status) + '\n')
sys.stdout.buffer.write(text)
)py";

class Serve : public ::testing::Test {
 protected:
  void SetUp() override {
    FRAMEPRINT_REQUIRE_TESTDATA();
    curl_ = program("curl");
    python_ = program("python3");
    if (curl_.empty() || python_.empty())
      GTEST_SKIP() << "curl and python3 are needed (scripts/install-deps.sh installs them)";
    images_ = testing::testdata_dir() / "pdq/images";
    rows_ = testing::read_csv(testing::testdata_dir() / "pdq/images.csv");
    std::ofstream list(dir_ / "photos.txt");
    for (const auto& r : rows_) list << r.at("pdq") << "," << r.at("file") << "\n";
  }

  // Starts `frameprint serve` on a free loopback port, with the lists unless `lists` is false.
  void start(std::vector<std::string> extra = {}, bool lists = true) {
    port_ = testing::free_port();
    std::vector<std::string> argv = {FRAMEPRINT_CLI, "serve", "--listen",
                                     "127.0.0.1:" + std::to_string(port_)};
    if (lists)
      argv.insert(argv.end(), {"--list", "pdq:" + (dir_ / "photos.txt").string(), "--list",
                               "vpdq:" + (testing::testdata_dir() / "vpdq/reference").string()});
    argv.insert(argv.end(), extra.begin(), extra.end());
    serve_ =
        std::make_unique<ChildProcess>(argv, dir_ / ("serve" + std::to_string(++starts_) + ".log"));
    ASSERT_TRUE(testing::eventually(
        [&] {
          return serve_->log().find("listening on") != std::string::npos || !serve_->running();
        },
        30s))
        << serve_->log();
    ASSERT_TRUE(serve_->running()) << serve_->log();
  }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // curl ARGS... -> status and body.
  Answer curl(std::vector<std::string> args) {
    std::vector<std::string> argv = {curl_, "-sS", "--max-time", "60", "-w", "\n%{http_code}"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = testing::run_process(argv, 90);
    const size_t nl = r.out.rfind('\n');
    Answer a;
    if (nl == std::string::npos) return a;
    a.status = std::atoi(r.out.c_str() + nl + 1);
    a.body = r.out.substr(0, nl);
    return a;
  }

  Answer urllib(const std::string& method, const std::string& url, const std::string& token = "",
                const std::filesystem::path& body = {}) {
    const auto r =
        testing::run_process({python_, "-c", kUrllib, method, url, token, body.string()}, 90);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    Answer a;
    const size_t nl = r.out.find('\n');
    if (nl == std::string::npos) return a;
    a.status = std::atoi(r.out.c_str());
    a.body = r.out.substr(nl + 1);
    return a;
  }

  // What `frameprint hash` says of a file.
  json hashed(const std::filesystem::path& file, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {FRAMEPRINT_CLI, "hash", "--device", "cpu"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(file.string());
    const auto r = testing::run_process(argv, 120);
    return json::parse(r.out);
  }

  testing::TempDir dir_;
  std::string curl_, python_;
  std::filesystem::path images_;
  std::vector<std::map<std::string, std::string>> rows_;
  std::unique_ptr<ChildProcess> serve_;
  int port_ = 0;
  int starts_ = 0;
};

TEST_F(Serve, HashesAndLooksUpLikeTheCommandLine) {
  // Every frame, as the reference's video lists hold them.
  start({"--seconds-per-hash", "0"});
  EXPECT_EQ(curl({base() + "/status"}).body, "I-AM-ALIVE");
  EXPECT_EQ(curl({base() + "/status/live"}).status, 200);

  const auto photo = images_ / "bridge-1-original.jpg";
  const json cli = hashed(photo);
  const std::string pdq = cli["frames"][0]["pdq"];
  // The body as it is, and HMA's multipart form.
  Answer raw = curl({"-X", "POST", "--data-binary", "@" + photo.string(), "-H",
                     "Content-Type: image/jpeg", base() + "/h/hash"});
  ASSERT_EQ(raw.status, 200) << raw.body;
  EXPECT_EQ(raw.j(), (json{{"pdq", pdq}}));
  Answer form = curl({"-F", "photo=@" + photo.string(), base() + "/h/hash"});
  EXPECT_EQ(form.j(), (json{{"pdq", pdq}}));
  Answer full = curl({"-F", "photo=@" + photo.string(), base() + "/h/hash?format=frameprint"});
  EXPECT_EQ(full.j()["md5"], cli["md5"]);
  EXPECT_EQ(full.j()["sha256"], cli["sha256"]);
  EXPECT_FALSE(full.j()["matches"].empty());

  // Looked up by signal: every listed photo within 31 bits of its hash, by
  // its id. Looked up as media: also those within 31 bits of one of its
  // rotated and mirrored hashes (the listed bridge-2..8 are such copies).
  std::vector<std::string> turned;
  const json dihedral = hashed(photo, {"--dihedral"})["frames"][0]["dihedral"];
  for (const auto& [name, hex] : dihedral.items()) turned.push_back(hex);
  std::set<std::string> want, want_media;
  for (const auto& r : rows_) {
    auto matches = [&](const std::string& hex) {
      const json pair = {{"pdq", json::array({hex, r.at("pdq")})}};
      const Answer c = curl({"-X", "POST", "-H", "Content-Type: application/json", "-d",
                             pair.dump(), base() + "/m/compare"});
      EXPECT_EQ(c.status, 200) << c.body;
      return c.j()["pdq"][0] == true;
    };
    if (matches(pdq)) want.insert(r.at("file"));
    if (matches(pdq) || std::any_of(turned.begin(), turned.end(), matches))
      want_media.insert(r.at("file"));
  }
  ASSERT_FALSE(want.empty());
  EXPECT_GT(want_media.size(), want.size());
  const json looked = curl({"-F", "photo=@" + photo.string(), base() + "/m/lookup"}).j();
  std::set<std::string> got;
  for (const auto& m : looked["pdq"]["photos"]) got.insert(m["bank_content_id"]);
  EXPECT_EQ(got, want_media) << looked.dump();
  const json raw_lookup = curl({base() + "/m/raw_lookup?signal_type=pdq&signal=" + pdq}).j();
  EXPECT_EQ(raw_lookup["matches"].size(), want.size());
  const json by_signal = curl({base() + "/m/lookup?signal_type=pdq&signal=" + pdq}).j();
  EXPECT_EQ(by_signal["photos"].size(), want.size());

  // A video: its vPDQ is the command line's, and it finds itself and
  // chair-22 in the reference list (match-reference.csv: 100.00 / 83.95).
  const auto video = testing::testdata_dir() / "vpdq/videos/chair-19-sd-bar.mp4";
  const json vh = curl({"-F", "video=@" + video.string(), base() + "/h/hash"}).j();
  const json vcli = hashed(video, {"--seconds-per-hash", "0"});
  EXPECT_EQ(vh["video_md5"], vcli["md5"]);
  const json frames = json::parse(vh["vpdq"].get<std::string>());
  ASSERT_EQ(frames.size(), vcli["frames"].size());
  EXPECT_EQ(frames[0].get<std::string>().substr(0, 64), vcli["frames"][0]["pdq"]);
  const json vl = curl({"-F", "video=@" + video.string(), base() + "/m/lookup"}).j();
  ASSERT_TRUE(vl.contains("vpdq") && vl["vpdq"].contains("reference")) << vl.dump();
  std::map<std::string, std::string> videos;
  for (const auto& m : vl["vpdq"]["reference"]) videos[m["bank_content_id"]] = m["distance"];
  EXPECT_EQ(videos, (std::map<std::string, std::string>{{"chair-19-sd-bar", "100%[100%]"},
                                                        {"chair-22-sd-sepia-bar", "100%[84%]"}}))
      << vl.dump();

  const json status = curl({base() + "/m/index/status"}).j();
  EXPECT_EQ(status["pdq"]["present"], true);
  EXPECT_EQ(status["vpdq"]["size"], 6);
}

TEST_F(Serve, FetchesUrlsOnlyFromHostsItIsAllowedToReach) {
  // A loopback HTTP server with a photo (Python's), and serve driven by urllib.
  const auto site = dir_ / "site";
  std::filesystem::create_directories(site);
  std::filesystem::copy_file(images_ / "bridge-2-rotate-90.jpg", site / "photo.jpg");
  const int web_port = testing::free_port();
  ChildProcess web({python_, "-m", "http.server", std::to_string(web_port), "--bind", "127.0.0.1",
                    "--directory", site.string()},
                   dir_ / "web.log");
  const std::string photo_url = "http://127.0.0.1:" + std::to_string(web_port) + "/photo.jpg";
  ASSERT_TRUE(testing::eventually(
      [&] {
        return curl({"-o", "/dev/null", photo_url}).status == 200;
      },
      20s));

  start();  // no --allow-url-host: loopback is off limits
  Answer refused = urllib("GET", base() + "/h/hash?url=" + photo_url);
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_NE(refused.j()["message"].get<std::string>().find("--allow-url-host"), std::string::npos);
  EXPECT_EQ(urllib("GET", base() + "/h/hash?url=file:///etc/passwd").status, 400);
  EXPECT_EQ(urllib("GET", base() + "/h/hash?url=http://169.254.169.254/latest/meta-data").status,
            400);
  serve_->signal(SIGTERM);
  ASSERT_TRUE(serve_->wait(20s).has_value());

  start({"--allow-url-host", "127.0.0.1"});
  Answer ok = urllib("GET", base() + "/h/hash?url=" + photo_url);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.j()["pdq"], hashed(images_ / "bridge-2-rotate-90.jpg")["frames"][0]["pdq"]);
  Answer looked = urllib("GET", base() + "/m/lookup?url=" + photo_url);
  ASSERT_EQ(looked.status, 200) << looked.body;
  EXPECT_FALSE(looked.j()["pdq"]["photos"].empty());
  EXPECT_EQ(urllib("GET", base() + "/h/hash?url=" + photo_url + ".missing").status, 502);
  // localhost is another name: not allowed, though it is the same address.
  EXPECT_EQ(urllib("GET", base() + "/h/hash?url=http://localhost:" + std::to_string(web_port) +
                              "/photo.jpg")
                .status,
            400);
}

TEST_F(Serve, TokensGuardEverythingButHealthChecks) {
  const auto tokens = dir_ / "tokens";
  std::ofstream(tokens) << kToken << "\n";
  ::chmod(tokens.c_str(), 0600);
  const int metrics = testing::free_port();
  start({"--token-file", tokens.string(), "--metrics", "127.0.0.1:" + std::to_string(metrics)});
  const std::string lookup = base() + "/m/raw_lookup?signal_type=pdq&signal=" + rows_[0].at("pdq");
  Answer none = urllib("GET", lookup);
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.j()["code"], "unauthorized");
  EXPECT_EQ(urllib("GET", lookup, kToken + "x").status, 401);
  EXPECT_EQ(urllib("GET", lookup, kToken).status, 200);
  EXPECT_EQ(urllib("POST", base() + "/h/hash", "", images_ / "wee.jpg").status, 401);
  EXPECT_EQ(urllib("POST", base() + "/h/hash", kToken, images_ / "wee.jpg").status, 200);
  EXPECT_EQ(urllib("GET", base() + "/status").status, 200);
  EXPECT_EQ(urllib("GET", base() + "/openapi.json").status, 200);
  const std::string m = curl({"http://127.0.0.1:" + std::to_string(metrics) + "/metrics"}).body;
  EXPECT_NE(m.find("frameprint_serve_refused_total 3"), std::string::npos) << m;
  EXPECT_NE(serve_->log().find("refused GET /m/raw_lookup"), std::string::npos) << serve_->log();

  // Beyond loopback only with tokens (or --insecure).
  const auto r = testing::run_process(
      {FRAMEPRINT_CLI, "serve", "--listen", "0.0.0.0:" + std::to_string(testing::free_port())}, 30);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--token-file"), std::string::npos) << r.err;
  // A name that starts like a loopback address is a name like any other.
  const auto named =
      testing::run_process({FRAMEPRINT_CLI, "serve", "--listen",
                            "127.evil.example:" + std::to_string(testing::free_port())},
                           30);
  EXPECT_EQ(named.exit_code, 1);
  EXPECT_NE(named.err.find("--token-file"), std::string::npos) << named.err;
}

TEST_F(Serve, BadRequestsGetClearErrorsAndTheServerStaysUp) {
  start({"--max-bytes", "200000"});
  auto expect = [&](Answer a, int status, const std::string& what) {
    EXPECT_EQ(a.status, status) << what << ": " << a.body;
    const json j = a.j();
    EXPECT_TRUE(j.is_object() && j.contains("message")) << what << ": " << a.body;
  };
  expect(curl({base() + "/m/raw_lookup?signal_type=pdq"}), 400, "no signal");
  expect(curl({base() + "/m/raw_lookup?signal_type=pdq&signal=xyz"}), 400, "bad hash");
  expect(curl({base() + "/m/raw_lookup?signal_type=photo&signal=" + rows_[0].at("pdq")}), 400,
         "unknown type");
  expect(curl({base() + "/m/lookup"}), 400, "nothing to look up");
  expect(curl({base() + "/h/hash"}), 400, "no url");
  expect(curl({base() + "/nowhere"}), 404, "no such path");
  const Answer misspelt =
      curl({base() + "/m/raw_lookup?signal_type=pdq&banks=photoz&signal=" + rows_[0].at("pdq")});
  expect(misspelt, 400, "a list that is not loaded");
  EXPECT_EQ(misspelt.j().value("code", ""), "unknown_list") << misspelt.body;
  EXPECT_NE(misspelt.body.find("photos, reference"), std::string::npos) << misspelt.body;
  expect(
      curl({"-X", "POST", "-H", "Content-Type: application/json", "-d", "{}", base() + "/h/hash"}),
      415, "JSON is not media");
  expect(curl({"-X", "POST", "--data-binary", "@" + (images_ / "bridge-1-original.jpg").string(),
               base() + "/h/hash"}),
         413, "over --max-bytes");
  const auto junk = dir_ / "junk.bin";
  std::ofstream(junk) << std::string(5000, '\x7f');
  expect(curl({"-X", "POST", "--data-binary", "@" + junk.string(), "-H",
               "Content-Type: application/octet-stream", base() + "/h/hash"}),
         415, "not media");
  const auto empty = dir_ / "empty.bin";
  std::ofstream{empty};
  expect(curl({"-X", "POST", "--data-binary", "@" + empty.string(), "-H",
               "Content-Type: application/octet-stream", base() + "/h/hash"}),
         400, "empty");
  const std::string json_body = "Content-Type: application/json";
  expect(curl({"-X", "POST", "-H", json_body, "-d", "not json", base() + "/m/compare"}), 400,
         "compare not JSON");
  expect(
      curl({"-X", "POST", "-H", json_body, "-d", std::string(100000, '['), base() + "/m/compare"}),
      400, "deeply nested");
  expect(curl({"-X", "POST", "-H", json_body, "-d", "{\"pdq\": [" + std::string(50000, '[') + "]}",
               base() + "/m/compare"}),
         400, "deeply nested inside");
  expect(
      curl({"-F", "photo=@" + junk.string(), "-F", "video=@" + junk.string(), base() + "/h/hash"}),
      400, "two files");
  EXPECT_EQ(curl({base() + "/status/live"}).status, 200);
  EXPECT_TRUE(serve_->running());
}

// Without lists /m/compare still judges by the rules the flags ask for:
// python-threatexchange's counts unique hashes (A repeated counts once, so
// half the query matches); the default rule measures time (3 of 4 s).
TEST_F(Serve, ComparesByTheRulesGivenEvenWithoutLists) {
  const std::string a(64, 'a'), b(64, 'b');
  const json query = {a + ",100,0", a + ",100,1", a + ",100,2", b + ",100,3"};
  const json listed = {a + ",100,0"};
  const json body = {{"vpdq", {query.dump(), listed.dump()}}};
  auto compare = [&] {
    const Answer c = curl({"-X", "POST", "-H", "Content-Type: application/json", "-d", body.dump(),
                           base() + "/m/compare"});
    EXPECT_EQ(c.status, 200) << c.body;
    return c.j()["vpdq"][1]["query_match_percent"].get<double>();
  };
  for (const auto& [rule, want] : {std::pair{"pytx", 50.0}, std::pair{"time", 75.0}}) {
    start({"--vpdq-rule", rule}, false);
    EXPECT_DOUBLE_EQ(compare(), want) << rule;
    serve_->signal(SIGTERM);
    ASSERT_TRUE(serve_->wait(20s).has_value());
  }
}

TEST_F(Serve, ReloadsListsOnSighupAndKeepsThemWhenTheNewOnesAreBad) {
  const int metrics = testing::free_port();
  start({"--metrics", "127.0.0.1:" + std::to_string(metrics)});
  auto metric = [&](const std::string& line) {
    const std::string m = curl({"http://127.0.0.1:" + std::to_string(metrics) + "/metrics"}).body;
    return m.find("\n" + line + "\n") != std::string::npos;
  };
  const size_t listed = curl({base() + "/m/index/status"}).j()["pdq"]["size"].get<size_t>();
  ASSERT_GT(listed, 10u);
  EXPECT_TRUE(metric("frameprint_serve_list_entries{list=\"photos\",type=\"pdq\"} " +
                     std::to_string(listed)));
  EXPECT_TRUE(metric("frameprint_serve_list_reload_failing 0"));
  const std::string fresh(64, 'e');
  const std::string lookup = base() + "/m/raw_lookup?signal_type=pdq&signal=" + fresh;
  EXPECT_TRUE(curl({lookup}).j()["matches"].empty());
  std::ofstream(dir_ / "photos.txt", std::ios::app) << fresh << ",added-later\n";
  serve_->signal(SIGHUP);
  ASSERT_TRUE(testing::eventually(
      [&] { return curl({lookup}).j()["matches"] == json::array({"added-later"}); }, 20s));
  std::ofstream(dir_ / "photos.txt", std::ios::app) << "this line is not a hash\n";
  serve_->signal(SIGHUP);
  ASSERT_TRUE(testing::eventually(
      [&] { return serve_->log().find("keeping the lists") != std::string::npos; }, 20s));
  EXPECT_EQ(curl({lookup}).j()["matches"], json::array({"added-later"}));
  // The failure shows where monitoring looks, HMA's fields unchanged.
  const json status = curl({base() + "/m/index/status"}).j();
  EXPECT_EQ(status["pdq"]["present"], true) << status.dump();
  EXPECT_EQ(status["pdq"]["size"], listed + 1) << status.dump();
  const json& mine = status["pdq"]["frameprint"];
  EXPECT_EQ(mine["lists"]["photos"], listed + 1) << status.dump();
  EXPECT_EQ(mine["reload_failures"], 1) << status.dump();
  EXPECT_NE(mine.value("last_reload_error", "").find("not a 64-digit hex"), std::string::npos)
      << status.dump();
  EXPECT_TRUE(metric("frameprint_serve_list_reload_failures_total 1"));
  EXPECT_TRUE(metric("frameprint_serve_list_reload_failing 1"));
  EXPECT_TRUE(metric("frameprint_serve_list_entries{list=\"photos\",type=\"pdq\"} " +
                     std::to_string(listed + 1)));
}

TEST_F(Serve, EveryPathInTheOpenApiDocumentAnswers) {
  start();
  const json doc = curl({base() + "/openapi.json"}).j();
  ASSERT_TRUE(doc.contains("paths")) << doc.dump();
  int checked = 0;
  for (const auto& [path, methods] : doc["paths"].items()) {
    for (const auto& [method, spec] : methods.items()) {
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      std::vector<std::string> args = {"-X", upper, base() + path};
      if (upper == "POST") args.insert(args.begin(), {"-d", ""});  // a body, even if empty
      const Answer a = curl(args);
      EXPECT_NE(a.status, 404) << upper << " " << path;
      EXPECT_NE(a.status, 0) << upper << " " << path;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 10);
}

TEST_F(Serve, HashesThroughThePool) {
  const std::string frontend = testing::loopback(testing::free_port());
  const std::string backend = testing::loopback(testing::free_port());
  ChildProcess broker(
      {FRAMEPRINT_BROKER, "--frontend", frontend, "--backend", backend, "--heartbeat-ms", "200"},
      dir_ / "broker.log");
  ChildProcess worker({FRAMEPRINT_WORKER, "--connect", backend, "--slots", "2", "--heartbeat-ms",
                       "200", "--name", "pool-worker"},
                      dir_ / "worker.log");
  start({"--broker", frontend});
  const auto photo = images_ / "bridge-1-original.jpg";
  Answer a = curl({"-F", "photo=@" + photo.string(), base() + "/h/hash?format=frameprint"});
  ASSERT_EQ(a.status, 200) << a.body << serve_->log();
  EXPECT_EQ(a.j()["worker"], "pool-worker");
  EXPECT_EQ(a.j()["frames"][0]["pdq"], hashed(photo)["frames"][0]["pdq"]);
  const json looked = curl({"-F", "photo=@" + photo.string(), base() + "/m/lookup"}).j();
  EXPECT_FALSE(looked["pdq"]["photos"].empty()) << looked.dump();
  // The pool's own refusal comes back as an HTTP error.
  const auto junk = dir_ / "junk.bin";
  std::ofstream(junk) << std::string(5000, '\x7f');
  EXPECT_EQ(curl({"-F", "photo=@" + junk.string(), base() + "/h/hash"}).status, 415);
}

}  // namespace
}  // namespace frameprint
