// The pool on NATS JetStream (issue 23), as deployed: real nats-server
// processes (one, or a 3-node cluster with R3 streams) started on loopback
// with their store in a temp dir, `frameprint queue init`, real
// frameprint-worker and `frameprint submit` processes. Servers and workers
// are killed with SIGKILL mid-run; every input must still get exactly one
// result, with the hashes `frameprint hash` gives.
#include <gtest/gtest.h>
#include <nats/nats.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/child_process.h"
#include "tests/support/run_process.h"
#include "tests/support/temp_dir.h"

namespace frameprint {
namespace {

using testing::ChildProcess;
using testing::TempDir;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kNatsServer = "/usr/sbin/nats-server";

// prefix + i (appended: GCC 12 warns falsely on "literal" + std::to_string).
std::string numbered(const char* prefix, int i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}

// nats-server processes on loopback: one, or a cluster whose nodes route
// to each other. `extra` is added to each server's configuration.
class NatsServers {
 public:
  NatsServers(const fs::path& dir, int n, std::string extra = "")
      : dir_(dir), extra_(std::move(extra)) {
    for (int i = 0; i < n; ++i) {
      ports_.push_back(testing::free_port());
      cluster_ports_.push_back(testing::free_port());
    }
    procs_.resize(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) start(i);
  }
  void start(int i) {
    const fs::path conf = dir_ / (numbered("n", i) + ".conf");
    std::ofstream f(conf);
    f << "server_name: n" << i << "\nlisten: 127.0.0.1:" << ports_[i]
      << "\nmax_payload: 8MB\njetstream { store_dir: \"" << (dir_ / (numbered("store", i))).string()
      << "\" }\n";
    if (ports_.size() > 1) {
      f << "cluster { name: fp\n listen: 127.0.0.1:" << cluster_ports_[i] << "\n routes: [";
      for (size_t j = 0; j < ports_.size(); ++j)
        if (static_cast<int>(j) != i) f << " nats://127.0.0.1:" << cluster_ports_[j] << ",";
      f << " ] }\n";
    }
    f << extra_;
    f.close();
    procs_[i] =
        std::make_unique<ChildProcess>(std::vector<std::string>{kNatsServer, "-c", conf.string()},
                                       dir_ / (numbered("n", i) + ".log"));
    // Listening once the client port accepts.
    ASSERT_TRUE(testing::eventually(
        [&] { return procs_[i]->log().find("Server is ready") != std::string::npos; }, 10s))
        << procs_[i]->log();
  }
  void kill(int i) {
    procs_[i]->signal(SIGKILL);
    procs_[i]->wait(5s);
  }
  std::string urls() const {
    std::string u;
    for (int p : ports_)
      u += (u.empty() ? "" : ",") + std::string("nats://127.0.0.1:") + std::to_string(p);
    return u;
  }
  std::string url(int i) const { return "nats://127.0.0.1:" + std::to_string(ports_[i]); }
  std::string log(int i) const { return procs_[i]->log(); }

 private:
  fs::path dir_;
  std::string extra_;
  std::vector<int> ports_, cluster_ports_;
  std::vector<std::unique_ptr<ChildProcess>> procs_;
};

// `count` small distinct JPEG and PNG files under dir/in.
std::vector<fs::path> make_inputs(const TempDir& dir, int count) {
  std::vector<fs::path> out;
  cv::RNG rng(7);
  for (int i = 0; i < count; ++i) {
    cv::Mat m(48 + i % 17, 64 + 2 * i, CV_8UC3);
    rng.fill(m, cv::RNG::UNIFORM, 0, 255);
    m(cv::Rect(i % 20, 3, 20 + i % 25, 27)).setTo(cv::Scalar(255 - i, i * 3 % 255, 90));
    std::vector<uint8_t> b;
    cv::imencode(i % 3 == 0 ? ".png" : ".jpg", m, b);
    out.push_back(dir.write(numbered("in/f", i) + (i % 3 == 0 ? ".png" : ".jpg"), b));
  }
  return out;
}

std::vector<nlohmann::json> read_lines(const fs::path& p) {
  std::vector<nlohmann::json> out;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

// path -> the frames' PDQ hashes, from `frameprint hash`.
std::map<std::string, std::vector<std::string>> hashes_of(const std::vector<nlohmann::json>& r) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& j : r) {
    std::vector<std::string> h;
    if (j.contains("frames"))
      for (const auto& f : j["frames"]) h.push_back(f.value("pdq", ""));
    out[j["path"]] = h;
  }
  return out;
}

// What `frameprint hash` gives for the inputs under dir/in.
std::map<std::string, std::vector<std::string>> cli_hashes(const TempDir& dir) {
  const auto h = testing::run_process({FRAMEPRINT_CLI, "hash", (dir / "in").string()});
  EXPECT_EQ(h.exit_code, 0) << h.err;
  std::vector<nlohmann::json> lines;
  std::istringstream in(h.out);
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return hashes_of(lines);
}

ChildProcess start_worker(const TempDir& dir, const std::string& urls, const std::string& name,
                          std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{FRAMEPRINT_WORKER, "--nats", urls, "--name", name};
  if (std::find(extra.begin(), extra.end(), "--slots") == extra.end())
    argv.insert(argv.end(), {"--slots", "2"});
  argv.insert(argv.end(), extra.begin(), extra.end());
  return ChildProcess(argv, dir / (name + ".log"));
}

testing::ProcessResult queue(const std::vector<std::string>& args, double timeout_s = 60) {
  std::vector<std::string> argv{FRAMEPRINT_CLI, "queue"};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::run_process(argv, timeout_s);
}

nlohmann::json status(const std::string& urls) {
  const auto r = queue({"status", "--nats", urls});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out, nullptr, false);
}

// Each input exactly once in `lines`, ok, with the hashes of `frameprint hash`.
void expect_one_good_result_each(const std::vector<fs::path>& inputs,
                                 const std::vector<nlohmann::json>& lines,
                                 const std::map<std::string, std::vector<std::string>>& want) {
  std::map<std::string, int> seen;
  for (const auto& j : lines) {
    ++seen[j.value("path", "")];
    EXPECT_EQ(j.value("status", ""), "ok") << j.dump();
    const auto got = hashes_of({j});
    ASSERT_TRUE(want.count(j.value("path", ""))) << j.dump();
    EXPECT_EQ(got.begin()->second, want.at(j.value("path", ""))) << j.value("path", "");
    EXPECT_GE(j.value("deliveries", 0), 1);
  }
  for (const auto& in : inputs) EXPECT_EQ(seen[in.string()], 1) << in;
  EXPECT_EQ(lines.size(), inputs.size());
}

TEST(JetStreamPool, OneServerHashesAsTheCliDoesAndResumes) {
  TempDir dir;
  NatsServers nats(dir.path(), 1);
  const auto inputs = make_inputs(dir, 12);
  auto r = queue({"init", "--nats", nats.urls()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["streams"]["FRAMEPRINT_JOBS"], "created");
  r = queue({"init", "--nats", nats.urls()});  // idempotent
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["streams"]["FRAMEPRINT_JOBS"], "updated");

  const auto want = cli_hashes(dir);
  auto w1 = start_worker(dir, nats.urls(), "w1");
  const auto out = dir / "out.jsonl";
  r = testing::run_process({FRAMEPRINT_CLI, "submit", "--nats", nats.urls(), (dir / "in").string(),
                            "--output", out.string()},
                           120);
  ASSERT_EQ(r.exit_code, 0) << r.err << w1.log();
  expect_one_good_result_each(inputs, read_lines(out), want);

  // The same run again: nothing left to do. With the output gone, the jobs
  // are duplicates the queue does not take twice, and their stored results
  // are returned.
  r = testing::run_process({FRAMEPRINT_CLI, "submit", "--nats", nats.urls(), (dir / "in").string(),
                            "--output", out.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_lines(out).size(), inputs.size());
  fs::remove(out);
  r = testing::run_process({FRAMEPRINT_CLI, "submit", "--nats", nats.urls(), (dir / "in").string(),
                            "--output", out.string()},
                           60);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  expect_one_good_result_each(inputs, read_lines(out), want);

  const auto st = status(nats.urls());
  EXPECT_EQ(st["depth"], 0);
  EXPECT_EQ(st["in_progress"], 0);
  EXPECT_EQ(st["dead_lettered"], 0);
  EXPECT_EQ(st["results"]["messages"], inputs.size());  // stored once each
}

TEST(JetStreamPool, ClusterLosesNothingWhenAServerAndAWorkerAreKilled) {
  TempDir dir;
  NatsServers nats(dir.path(), 3);
  const auto inputs = make_inputs(dir, 60);
  auto r = queue({"init", "--nats", nats.urls(), "--replicas", "3", "--ack-wait", "2"}, 90);
  ASSERT_EQ(r.exit_code, 0) << r.err << nats.log(0);
  const auto want = cli_hashes(dir);

  auto w1 = start_worker(dir, nats.urls(), "w1");
  auto w2 = start_worker(dir, nats.urls(), "w2", {"--slots", "1"});
  const auto out = dir / "out.jsonl";
  ChildProcess submit({FRAMEPRINT_CLI, "submit", "--nats", nats.urls(), (dir / "in").string(),
                       "--output", out.string(), "--window", "8"},
                      dir / "submit.log");
  // Mid-run: a third of the results in, kill one server and one worker.
  ASSERT_TRUE(testing::eventually(
      [&] { return fs::exists(out) && read_lines(out).size() >= inputs.size() / 3; }, 60s))
      << submit.log();
  nats.kill(1);
  w1.signal(SIGKILL);
  const auto code = submit.wait(120s);
  ASSERT_TRUE(code.has_value()) << submit.log() << w2.log() << "\n"
                                << status(nats.url(0) + "," + nats.url(2)).dump() << "\nlines "
                                << read_lines(out).size();
  EXPECT_EQ(*code, 0) << submit.log();
  expect_one_good_result_each(inputs, read_lines(out), want);
  // A job whose ack went to the dead server comes back once more, is hashed
  // again and its second result de-duplicated: the queue drains.
  nlohmann::json st;
  EXPECT_TRUE(testing::eventually(
      [&] { return (st = status(nats.url(0) + "," + nats.url(2)))["depth"] == 0; }, 30s))
      << st.dump();
  EXPECT_EQ(st["dead_lettered"], 0) << st.dump();
}

TEST(JetStreamPool, AJobThatKillsItsWorkersIsDeadLetteredAsPoison) {
  TempDir dir;
  NatsServers nats(dir.path(), 1);
  make_inputs(dir, 3);
  auto r = queue({"init", "--nats", nats.urls(), "--ack-wait", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto out = dir / "out.jsonl";
  ChildProcess submit({FRAMEPRINT_CLI, "submit", "--nats", nats.urls(), (dir / "in").string(),
                       "--output", out.string()},
                      dir / "submit.log");
  // Workers that die on f1.jpg, restarted as a supervisor would. One slot
  // each: a worker that dies takes every job in its hands with it, and each
  // of those counts a delivery.
  int deaths = 0;
  for (int i = 0; i < 6 && !submit.wait(0ms); ++i) {
    auto w = start_worker(dir, nats.urls(), numbered("crashy", i),
                          {"--fault-injection", "crash:f1.jpg", "--slots", "1"});
    if (w.wait(15s)) ++deaths;
  }
  auto healthy = start_worker(dir, nats.urls(), "healthy");
  const auto code = submit.wait(60s);
  ASSERT_TRUE(code.has_value()) << submit.log();
  EXPECT_EQ(*code, 2);   // one input failed
  EXPECT_EQ(deaths, 3);  // three deliveries, then no worker is given it again
  const auto lines = read_lines(out);
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& j : lines) {
    if (j["path"].get<std::string>().ends_with("f1.jpg")) {
      EXPECT_EQ(j["error"]["code"], "poison") << j.dump();
      EXPECT_EQ(j["deliveries"], 4);
    } else {
      EXPECT_EQ(j["status"], "ok") << j.dump();
    }
  }
  const auto st = status(nats.urls());
  EXPECT_EQ(st["dead_lettered"], 1) << st.dump();
  EXPECT_EQ(st["depth"], 0) << st.dump();
}

TEST(JetStreamPool, WorkersAndSubmitReconnectAfterAServerRestart) {
  TempDir dir;
  NatsServers nats(dir.path(), 1);
  const auto inputs = make_inputs(dir, 30);
  ASSERT_EQ(queue({"init", "--nats", nats.urls(), "--ack-wait", "2"}).exit_code, 0);
  auto w = start_worker(dir, nats.urls(), "w");
  const auto out = dir / "out.jsonl";
  ChildProcess submit({FRAMEPRINT_CLI, "submit", "--nats", nats.urls(), (dir / "in").string(),
                       "--output", out.string(), "--window", "4"},
                      dir / "submit.log");
  ASSERT_TRUE(
      testing::eventually([&] { return fs::exists(out) && read_lines(out).size() >= 5; }, 60s));
  nats.kill(0);
  std::this_thread::sleep_for(1s);
  nats.start(0);  // same port, same store
  const auto code = submit.wait(90s);
  ASSERT_TRUE(code.has_value()) << submit.log();
  EXPECT_EQ(*code, 0) << submit.log() << w.log();
  const auto lines = read_lines(out);
  std::set<std::string> paths;
  for (const auto& j : lines) paths.insert(j["path"]);
  EXPECT_EQ(paths.size(), inputs.size());
  EXPECT_EQ(lines.size(), inputs.size());
  EXPECT_TRUE(w.running());
}

// `frameprint serve --nats`: while no server can be reached, a request is
// answered 503 `overloaded` at once; once a server and a worker are there,
// requests are hashed through the queue as `frameprint hash` hashes them.
TEST(JetStreamPool, ServeHashesThroughTheQueueAndRefusesWhileNoServerIsUp) {
  if (!fs::exists("/usr/bin/curl"))
    GTEST_SKIP() << "curl is needed (scripts/install-deps.sh installs it)";
  TempDir dir;
  const auto inputs = make_inputs(dir, 3);
  const auto want = cli_hashes(dir);
  NatsServers nats(dir.path(), 1);
  nats.kill(0);
  const std::string listen = "127.0.0.1:" + std::to_string(testing::free_port());
  ChildProcess serve({FRAMEPRINT_CLI, "serve", "--nats", nats.urls(), "--listen", listen},
                     dir / "serve.log");
  ASSERT_TRUE(testing::eventually(
      [&] { return serve.log().find("listening on") != std::string::npos; }, 20s))
      << serve.log();
  std::string url("http://");  // appended: GCC 12 warns falsely on "literal" + std::string
  url += listen;
  url += "/h/hash?format=frameprint";
  const auto post = [&](const fs::path& file) {
    std::string data("@");
    data += file.string();
    return testing::run_process(
        {"/usr/bin/curl", "-sS", "--max-time", "60", "-w", "\n%{http_code}", "--data-binary", data,
         "-H", "Content-Type: application/octet-stream", url},
        70);
  };
  auto r = post(inputs[0]);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.ends_with("\n503")) << r.out;
  EXPECT_NE(r.out.find("overloaded"), std::string::npos) << r.out;

  nats.start(0);
  ASSERT_EQ(queue({"init", "--nats", nats.urls()}).exit_code, 0);
  auto w = start_worker(dir, nats.urls(), "w");
  // serve connects again within a few seconds.
  ASSERT_TRUE(testing::eventually([&] { return post(inputs[0]).out.ends_with("\n200"); }, 30s))
      << serve.log() << w.log();
  for (const auto& in : inputs) {
    r = post(in);
    ASSERT_TRUE(r.out.ends_with("\n200")) << r.out << serve.log();
    const auto j = nlohmann::json::parse(r.out.substr(0, r.out.rfind('\n')));
    ASSERT_EQ(j.value("status", ""), "ok") << j.dump();
    std::vector<std::string> got;
    for (const auto& f : j["frames"]) got.push_back(f.value("pdq", ""));
    EXPECT_EQ(got, want.at(in.string())) << in;
    EXPECT_EQ(j.value("deliveries", 0), 1);
  }
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(20s), std::optional<int>(0)) << serve.log();
}

// URL jobs (`submit --urls-from`): the worker fetches each URL by serve's
// url= policy (loopback only for an --allow-url-host host) and hashes what
// it got as `frameprint hash` hashes the file.
TEST(JetStreamPool, UrlJobsAreFetchedByThePolicyOfServe) {
  if (!fs::exists("/usr/bin/python3"))
    GTEST_SKIP() << "python3 is needed (scripts/install-deps.sh installs it)";
  TempDir dir;
  const auto inputs = make_inputs(dir, 2);
  const auto want = cli_hashes(dir);
  const int http_port = testing::free_port();
  ChildProcess http({"/usr/bin/python3", "-u", "-m", "http.server", std::to_string(http_port),
                     "--bind", "127.0.0.1", "--directory", (dir / "in").string()},
                    dir / "http.log");
  ASSERT_TRUE(testing::eventually(
      [&] { return http.log().find("Serving HTTP") != std::string::npos; }, 10s))
      << http.log();
  NatsServers nats(dir.path(), 1);
  ASSERT_EQ(queue({"init", "--nats", nats.urls()}).exit_code, 0);
  auto w =
      start_worker(dir, nats.urls(), "w", {"--allow-url-fetch", "--allow-url-host", "127.0.0.1"});
  std::string base("http://127.0.0.1:");
  base += std::to_string(http_port);
  base += "/";
  std::string localhost("http://localhost:");  // not named: loopback refused
  localhost += std::to_string(http_port);
  localhost += "/";
  const std::string first = inputs[0].filename().string(), second = inputs[1].filename().string();
  {
    std::ofstream f(dir / "urls.txt");
    f << "# URL jobs\n"
      << base << first << "\n"
      << base << second << "\n"
      << base << "missing.jpg\n"
      << localhost << first << "\n"
      << "file:///etc/passwd\n";
  }
  const auto out = dir / "out.jsonl";
  const auto r =
      testing::run_process({FRAMEPRINT_CLI, "submit", "--nats", nats.urls(), "--urls-from",
                            (dir / "urls.txt").string(), "--output", out.string()},
                           120);
  EXPECT_EQ(r.exit_code, 2) << r.err << w.log();  // some inputs failed
  std::map<std::string, nlohmann::json> by_path;
  for (const auto& j : read_lines(out)) by_path[j.value("path", "")] = j;
  ASSERT_EQ(by_path.size(), 5u) << r.err;
  for (const auto& name : {first, second}) {
    const auto& j = by_path[base + name];
    ASSERT_EQ(j.value("status", ""), "ok") << j.dump();
    std::vector<std::string> got;
    for (const auto& f : j["frames"]) got.push_back(f.value("pdq", ""));
    EXPECT_EQ(got, want.at((dir / "in" / name).string()));
  }
  const auto error_code = [&](const std::string& path) {
    return by_path[path]["error"].value("code", "");
  };
  EXPECT_EQ(error_code(base + "missing.jpg"), "fetch_failed");
  EXPECT_EQ(error_code(localhost + first), "url_not_allowed");
  EXPECT_EQ(error_code("file:///etc/passwd"), "bad_request");  // refused by submit, not sent
}

TEST(JetStreamPool, AFullQueueSlowsTheProducerDownAndLosesNothing) {
  TempDir dir;
  NatsServers nats(dir.path(), 1);
  const auto inputs = make_inputs(dir, 20);
  ASSERT_EQ(queue({"init", "--nats", nats.urls(), "--max-jobs", "4"}).exit_code, 0);
  const auto out = dir / "out.jsonl";
  ChildProcess submit({FRAMEPRINT_CLI, "submit", "--nats", nats.urls(), (dir / "in").string(),
                       "--output", out.string()},
                      dir / "submit.log");
  // No worker yet: the queue fills at 4 and refuses the rest.
  ASSERT_TRUE(testing::eventually([&] { return status(nats.urls())["depth"] == 4; }, 20s));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(status(nats.urls())["depth"], 4);
  auto w = start_worker(dir, nats.urls(), "w");
  const auto code = submit.wait(90s);
  ASSERT_TRUE(code.has_value()) << submit.log();
  EXPECT_EQ(*code, 0) << submit.log();
  const auto lines = read_lines(out);
  EXPECT_EQ(lines.size(), inputs.size());
  for (const auto& j : lines) EXPECT_EQ(j["status"], "ok") << j.dump();
}

// A raw NATS client for what frameprint's own programs never send.
class RawClient {
 public:
  explicit RawClient(const std::string& url) {
    EXPECT_EQ(natsConnection_ConnectTo(&nc_, url.c_str()), NATS_OK);
    EXPECT_EQ(natsConnection_JetStream(&js_, nc_, nullptr), NATS_OK);
  }
  ~RawClient() {
    jsCtx_Destroy(js_);
    natsConnection_Destroy(nc_);
  }
  void publish(const std::string& subject, const std::string& data,
               const std::map<std::string, std::string>& headers) {
    natsMsg* m = nullptr;
    ASSERT_EQ(
        natsMsg_Create(&m, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size())),
        NATS_OK);
    for (const auto& [k, v] : headers) natsMsgHeader_Set(m, k.c_str(), v.c_str());
    jsPubAck* ack = nullptr;
    EXPECT_EQ(js_PublishMsg(&ack, js_, m, nullptr, nullptr), NATS_OK);
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(m);
  }
  // The last message on `subject` in the results stream, or "".
  std::string last_result(const std::string& subject) {
    natsMsg* m = nullptr;
    if (js_GetLastMsg(&m, js_, "FRAMEPRINT_RESULTS", subject.c_str(), nullptr, nullptr) != NATS_OK)
      return "";
    std::string s(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m)));
    natsMsg_Destroy(m);
    return s;
  }

 private:
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
};

TEST(JetStreamPool, MalformedAndOversizedJobsGetErrorsAndTheWorkerGoesOn) {
  TempDir dir;
  NatsServers nats(dir.path(), 1);
  const auto inputs = make_inputs(dir, 2);
  ASSERT_EQ(queue({"init", "--nats", nats.urls(), "--max-job-bytes", "100000"}).exit_code, 0);
  const std::string metrics = "127.0.0.1:" + std::to_string(testing::free_port());
  auto w = start_worker(dir, nats.urls(), "w", {"--metrics", metrics});
  {
    RawClient raw(nats.urls());
    // No reply subject: nobody to answer; dead-lettered as malformed. Nor
    // may a job have its result written under another producer's subject.
    raw.publish("frameprint.jobs.mallory", "{}", {});
    raw.publish(
        "frameprint.jobs.mallory", R"({"id":"x","name":"x"})",
        {{"Frameprint-Reply", "frameprint.results.alice.x"}, {"Frameprint-Header-Bytes", "21"}});
    // A header that is not JSON, a header length past the data, and a job
    // that is neither path nor bytes: each an error result for its producer.
    raw.publish(
        "frameprint.jobs.mallory", "not json at all",
        {{"Frameprint-Reply", "frameprint.results.mallory.j1"}, {"Frameprint-Header-Bytes", "15"}});
    raw.publish("frameprint.jobs.mallory", R"({"id":"j2","name":"x"})",
                {{"Frameprint-Reply", "frameprint.results.mallory.j2"},
                 {"Frameprint-Header-Bytes", "99999"}});
    raw.publish(
        "frameprint.jobs.mallory", R"({"id":"j3","name":"x"}GARBAGE)",
        {{"Frameprint-Reply", "frameprint.results.mallory.j3"}, {"Frameprint-Header-Bytes", "22"}});
    for (const char* j : {"j1", "j2", "j3"}) {
      std::string res;
      ASSERT_TRUE(testing::eventually(
          [&] {
            return !(res = raw.last_result(std::string("frameprint.results.mallory.") + j)).empty();
          },
          20s))
          << j << w.log();
      const auto r = nlohmann::json::parse(res);
      EXPECT_EQ(r["status"], "error") << res;
      EXPECT_NE(r["error"]["code"], "") << res;
    }
  }
  ASSERT_TRUE(testing::eventually([&] { return status(nats.urls())["dead_lettered"] == 2; }, 20s));
  EXPECT_EQ(RawClient(nats.urls()).last_result("frameprint.results.alice.x"), "");
  // The worker counts them on /metrics.
  if (fs::exists("/usr/bin/curl")) {
    std::string url("http://");
    url += metrics;
    url += "/metrics";
    const auto m = testing::run_process({"/usr/bin/curl", "-sS", "--max-time", "10", url}, 20);
    EXPECT_NE(m.out.find("frameprint_worker_nats_dead_lettered_total 2"), std::string::npos)
        << m.out << m.err;
    EXPECT_NE(m.out.find("frameprint_worker_nats_malformed_total 2"), std::string::npos) << m.out;
    EXPECT_NE(m.out.find("frameprint_worker_nats_results_unstored 0"), std::string::npos) << m.out;
  }
  // An input larger than the queue takes: too_large, not sent, not cut.
  cv::Mat big(900, 900, CV_8UC3);
  cv::randu(big, 0, 255);
  std::vector<uint8_t> png;
  cv::imencode(".png", big, png);
  dir.write("in/big.png", png);
  const auto out = dir / "out.jsonl";
  const auto r =
      testing::run_process({FRAMEPRINT_CLI, "submit", "--nats", nats.urls(), (dir / "in").string(),
                            "--output", out.string(), "--max-job-bytes", "100000"},
                           60);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  int ok = 0;
  for (const auto& j : read_lines(out)) {
    if (j["path"].get<std::string>().ends_with("big.png"))
      EXPECT_EQ(j["error"]["code"], "too_large") << j.dump();
    else ok += j["status"] == "ok";
  }
  EXPECT_EQ(ok, 2);
  EXPECT_TRUE(w.running());
}

TEST(JetStreamPool, CredentialsAndPermissions) {
  TempDir dir;
  // Two producers and a worker, each allowed only what its role needs
  // (docs/scale.md has the same configuration).
  std::ofstream(dir / "pw") << "secret\n";
  // A producer may publish its own jobs, use its own results consumer, read
  // its own results and get replies on its own inbox: NAME stands for it.
  const std::string producer = R"(
      {user: NAME, password: secret, permissions: {
        publish: {allow: ["frameprint.jobs.NAME", "$JS.API.CONSUMER.MSG.NEXT.FRAMEPRINT_RESULTS.results_NAME",
                          "$JS.API.CONSUMER.INFO.FRAMEPRINT_RESULTS.results_NAME",
                          "$JS.API.DIRECT.GET.FRAMEPRINT_RESULTS.frameprint.results.NAME.>",
                          "$JS.ACK.FRAMEPRINT_RESULTS.results_NAME.>", "$JS.API.INFO"]}
        subscribe: {allow: ["_INBOX_NAME.>"]}}})";
  auto as_producer = [&](const std::string& name) {
    std::string block = producer;
    for (size_t at; (at = block.find("NAME")) != std::string::npos;) block.replace(at, 4, name);
    return block;
  };
  const std::string auth = R"(
accounts {
  FP {
    jetstream: enabled
    users: [
      {user: admin, password: secret})" +
                           as_producer("alice") + as_producer("bob") + R"(
      {user: worker, password: secret, permissions: {
        publish: {allow: ["frameprint.results.>", "frameprint.dead.>",
                          "$JS.API.CONSUMER.MSG.NEXT.FRAMEPRINT_JOBS.workers",
                          "$JS.API.CONSUMER.INFO.FRAMEPRINT_JOBS.workers", "$JS.ACK.FRAMEPRINT_JOBS.workers.>",
                          "$JS.API.INFO"]}
        subscribe: {allow: ["_INBOX.>"]}}}
    ]
  }
}
)";
  NatsServers nats(dir.path(), 1, auth);
  const auto inputs = make_inputs(dir, 3);
  auto as = [&](const std::string& user) {
    return std::vector<std::string>{"--nats-user", user, "--nats-password-file",
                                    (dir / "pw").string()};
  };
  auto args = [&](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  auto r = queue(args({"init", "--nats", nats.urls(), "--producer", "alice", "--producer", "bob"},
                      as("admin")));
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // No credentials: a clear refusal, exit 3, nothing sent.
  r = testing::run_process({FRAMEPRINT_CLI, "submit", "--nats", nats.urls(), (dir / "in").string()},
                           30);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("refused"), std::string::npos) << r.err;

  auto w = start_worker(dir, nats.urls(), "w", as("worker"));
  r = testing::run_process(
      args({FRAMEPRINT_CLI, "submit", "--nats", nats.urls(), (dir / "in").string(), "--producer",
            "alice", "--output", (dir / "alice.jsonl").string()},
           as("alice")),
      60);
  EXPECT_EQ(r.exit_code, 0) << r.err << w.log();
  EXPECT_EQ(read_lines(dir / "alice.jsonl").size(), inputs.size());

  // Bob cannot read Alice's results: with her producer name he is refused.
  r = testing::run_process(
      args({FRAMEPRINT_CLI, "submit", "--nats", nats.urls(), (dir / "in").string(), "--producer",
            "alice", "--output", (dir / "bob.jsonl").string(), "--connect-timeout", "5"},
           as("bob")),
      60);
  EXPECT_NE(r.exit_code, 0) << r.err;
  std::ifstream bob(dir / "bob.jsonl");
  std::string all((std::istreambuf_iterator<char>(bob)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all.find("\"ok\""), std::string::npos) << all;

  // A worker cannot publish jobs.
  natsConnection* nc = nullptr;
  natsOptions* o = nullptr;
  natsOptions_Create(&o);
  natsOptions_SetURL(o, nats.urls().c_str());
  natsOptions_SetUserInfo(o, "worker", "secret");
  ASSERT_EQ(natsConnection_Connect(&nc, o), NATS_OK);
  jsCtx* js = nullptr;
  natsConnection_JetStream(&js, nc, nullptr);
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 2000;
  jsPubAck* ack = nullptr;
  EXPECT_NE(js_Publish(&ack, js, "frameprint.jobs.alice", "{}", 2, &po, nullptr), NATS_OK);
  jsPubAck_Destroy(ack);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  natsOptions_Destroy(o);
}

// SIGTERM: the worker stops fetching, finishes the jobs in hand (their
// results stored, the jobs acked) and exits 0; none of its jobs comes back
// to another worker. Each job costs a fresh confined decoder
// (--sandbox-jobs 1, about 0.2 s), so that jobs are in hand at the signal
// (two were, in the runs seen).
TEST(JetStreamPool, SigtermFinishesTheJobsInHand) {
  TempDir dir;
  NatsServers nats(dir.path(), 1);
  const auto inputs = make_inputs(dir, 16);
  const auto want = cli_hashes(dir);
  ASSERT_EQ(queue({"init", "--nats", nats.urls(), "--ack-wait", "3"}).exit_code, 0);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // Sanitizer builds cannot confine decoders (sandbox_test.cpp): hashed in
  // the worker, the jobs are shorter and fewer may be in hand at the signal.
  const std::vector<std::string> slow = {"--slots", "2", "--sandbox", "off"};
#else
  const std::vector<std::string> slow = {"--slots", "2", "--sandbox", "on", "--sandbox-jobs", "1"};
#endif
  auto w1 = start_worker(dir, nats.urls(), "w1", slow);
  const auto out = dir / "out.jsonl";
  ChildProcess submit({FRAMEPRINT_CLI, "submit", "--nats", nats.urls(), (dir / "in").string(),
                       "--output", out.string()},
                      dir / "submit.log");
  ASSERT_TRUE(
      testing::eventually([&] { return fs::exists(out) && read_lines(out).size() >= 3; }, 60s))
      << w1.log();
  w1.signal(SIGTERM);
  EXPECT_EQ(w1.wait(30s), std::optional<int>(0)) << w1.log();
  EXPECT_NE(w1.log().find("stopping: finishing"), std::string::npos) << w1.log();
  const auto in_progress = status(nats.urls())["in_progress"];
  EXPECT_EQ(in_progress, 0) << w1.log();
  auto w2 = start_worker(dir, nats.urls(), "w2");
  ASSERT_EQ(submit.wait(120s), std::optional<int>(0)) << submit.log() << w2.log();
  const auto lines = read_lines(out);
  expect_one_good_result_each(inputs, lines, want);
  int by_w1 = 0;
  for (const auto& j : lines) {
    EXPECT_EQ(j.value("deliveries", 0), 1) << j.dump();  // nothing was handed back
    by_w1 += j.value("worker", "") == "w1";
  }
  EXPECT_GE(by_w1, 3);
}

// TLS with client certificates (nats-server `verify: true`), certificates
// made for the test by openssl: the pool works with --nats-tls-ca/-cert/-key;
// a client without a certificate, or trusting another CA, is refused.
TEST(JetStreamPool, TlsWithClientCertificates) {
  const std::string openssl = "/usr/bin/openssl";
  if (!fs::exists(openssl))
    GTEST_SKIP() << "openssl is needed (scripts/install-deps.sh installs it)";
  TempDir dir;
  const auto inputs = make_inputs(dir, 4);
  const auto want = cli_hashes(dir);
  const auto run_openssl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), openssl);
    const auto r = testing::run_process(args, 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  };
  const auto p = [&](const char* name) { return (dir / name).string(); };
  const std::vector<std::string> ec = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                       "-nodes"};
  const auto new_ca = [&](const char* name) {
    std::vector<std::string> a = {"req", "-x509"};
    a.insert(a.end(), ec.begin(), ec.end());
    a.insert(a.end(), {"-keyout", p(name) + ".key", "-out", p(name) + ".pem", "-days", "2", "-subj",
                       "/CN=frameprint test " + std::string(name)});
    run_openssl(a);
  };
  new_ca("ca");
  new_ca("other-ca");
  {
    std::ofstream(dir / "server.ext") << "subjectAltName=IP:127.0.0.1\n";
    std::ofstream(dir / "client.ext") << "extendedKeyUsage=clientAuth\n";
  }
  for (const char* who : {"server", "client"}) {
    std::vector<std::string> a = {"req"};
    a.insert(a.end(), ec.begin(), ec.end());
    a.insert(a.end(), {"-keyout", p(who) + ".key", "-out", p(who) + ".csr", "-subj",
                       "/CN=" + std::string(who)});
    run_openssl(a);
    run_openssl({"x509", "-req", "-in", p(who) + ".csr", "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
                 "-CAcreateserial", "-out", p(who) + ".pem", "-days", "2", "-extfile",
                 p(who) + ".ext"});
  }
  NatsServers nats(dir.path(), 1,
                   "tls { cert_file: \"" + p("server.pem") + "\", key_file: \"" + p("server.key") +
                       "\", ca_file: \"" + p("ca.pem") + "\", verify: true }\n");
  std::string urls = nats.urls();
  urls.replace(0, 4, "tls");  // nats:// -> tls://
  const std::vector<std::string> tls = {"--nats-tls-ca", p("ca.pem"),      "--nats-tls-cert",
                                        p("client.pem"), "--nats-tls-key", p("client.key")};
  auto init = std::vector<std::string>{"init", "--nats", urls};
  init.insert(init.end(), tls.begin(), tls.end());
  auto r = queue(init);
  ASSERT_EQ(r.exit_code, 0) << r.err << nats.log(0);

  auto w = start_worker(dir, urls, "w", tls);
  const auto out = dir / "out.jsonl";
  std::vector<std::string> submit = {FRAMEPRINT_CLI,        "submit",   "--nats",    urls,
                                     (dir / "in").string(), "--output", out.string()};
  submit.insert(submit.end(), tls.begin(), tls.end());
  r = testing::run_process(submit, 120);
  ASSERT_EQ(r.exit_code, 0) << r.err << w.log();
  expect_one_good_result_each(inputs, read_lines(out), want);

  // No client certificate; a CA that did not sign the server's: refused.
  r = queue({"status", "--nats", urls, "--nats-tls-ca", p("ca.pem"), "--connect-timeout", "5"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  r = queue({"status", "--nats", urls, "--nats-tls-ca", p("other-ca.pem"), "--nats-tls-cert",
             p("client.pem"), "--nats-tls-key", p("client.key"), "--connect-timeout", "5"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_TRUE(w.running());
}

}  // namespace
}  // namespace frameprint
