// The worker pool as deployed: real frameprint-broker and frameprint-worker
// processes on loopback, fed by `frameprint submit`, each test bounded in
// time. Heartbeats are 200 ms so failures are noticed within a second.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "tests/support/child_process.h"
#include "tests/support/media_writer.h"
#include "tests/support/run_process.h"
#include "tests/support/temp_dir.h"

namespace frameprint {
namespace {

using nlohmann::json;
using testing::ChildProcess;
using namespace std::chrono_literals;

std::vector<json> lines_of(const std::string& text) {
  std::vector<json> v;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) v.push_back(json::parse(line));
  return v;
}

std::map<std::string, json> by_path(const std::vector<json>& results) {
  std::map<std::string, json> m;
  for (const auto& r : results) m[r.at("path").get<std::string>()] = r;
  return m;
}

class Pool : public ::testing::Test {
 protected:
  void SetUp() override {
    frontend_ = testing::loopback(testing::free_port());
    backend_ = testing::loopback(testing::free_port());
  }

  void start_broker() {
    broker_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{FRAMEPRINT_BROKER, "--frontend", frontend_, "--backend", backend_,
                                 "--heartbeat-ms", "200"},
        dir_ / "broker.log");
    ASSERT_TRUE(testing::eventually(
        [&] { return broker_->log().find("frontend tcp://") != std::string::npos; }, 10s))
        << broker_->log();
  }

  ChildProcess& start_worker(std::vector<std::string> extra = {}, int slots = 2) {
    std::vector<std::string> argv = {FRAMEPRINT_WORKER,     "--connect",      backend_, "--slots",
                                     std::to_string(slots), "--heartbeat-ms", "200"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto log = dir_ / ("worker" + std::to_string(workers_.size()) + ".log");
    workers_.push_back(std::make_unique<ChildProcess>(argv, log));
    return *workers_.back();
  }

  // Worker connections registered (each worker has 2 slots, so 2 each).
  size_t slots_registered() {
    const std::string log = broker_->log();
    size_t n = 0;
    for (size_t at = log.find("ready for"); at != std::string::npos;
         at = log.find("ready for", at + 1))
      ++n;
    return n;
  }

  testing::ProcessResult submit(std::vector<std::string> args, double timeout_s = 120,
                                const std::filesystem::path& stdin_file = {}) {
    std::vector<std::string> argv = {FRAMEPRINT_CLI, "submit", "--broker", frontend_};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::run_process(argv, timeout_s, stdin_file);
  }

  // n small distinct PNGs under dir/name/.
  std::filesystem::path make_images(const std::string& name, int n) {
    const auto d = dir_ / name;
    std::mt19937 rng(static_cast<uint32_t>(n));
    for (int i = 0; i < n; ++i) {
      cv::Mat m(48, 64, CV_8UC3);
      cv::randu(m, 0, 255);
      cv::GaussianBlur(m, m, {0, 0}, 1.0 + static_cast<double>(rng() % 5));
      std::vector<uint8_t> png;
      cv::imencode(".png", m, png);
      dir_.write(name + "/img" + std::to_string(1000 + i) + ".png", png);
    }
    return d;
  }

  testing::TempDir dir_;
  std::string frontend_, backend_;
  std::unique_ptr<ChildProcess> broker_;
  std::vector<std::unique_ptr<ChildProcess>> workers_;
};

TEST_F(Pool, TwoHundredJobsThroughTwoWorkersMatchLocalHashing) {
  start_broker();
  start_worker();
  start_worker();
  const auto media = make_images("media", 194);
  testing::VideoSpec s;
  s.container = "matroska";
  s.encoder = "mpeg4";
  for (int i = 0; i < 30; ++i) s.pts_seconds.push_back(i * 0.1);
  for (int v = 0; v < 6; ++v)
    testing::write_video(media / ("clip" + std::to_string(v) + ".mkv"), s);

  const auto pooled = submit({"--seconds-per-hash", "0.5", "--window", "32", media.string()});
  ASSERT_EQ(pooled.exit_code, 0) << pooled.err << broker_->log();
  const auto local =
      testing::run_process({FRAMEPRINT_CLI, "hash", "--seconds-per-hash", "0.5", media.string()});
  ASSERT_EQ(local.exit_code, 0);

  const auto results = lines_of(pooled.out);
  ASSERT_EQ(results.size(), 200u);
  const auto got = by_path(results);
  ASSERT_EQ(got.size(), 200u) << "every result exactly once";
  std::set<std::string> workers;
  for (const auto& want : lines_of(local.out)) {
    const std::string path = want.at("path");
    ASSERT_TRUE(got.count(path)) << path;
    json r = got.at(path);
    workers.insert(r.at("worker").get<std::string>());
    EXPECT_FALSE(r.at("id").get<std::string>().empty());
    r.erase("id");
    r.erase("worker");
    EXPECT_EQ(r, want) << path;
  }
  EXPECT_EQ(workers.size(), 2u) << "both workers took jobs";
}

TEST_F(Pool, KillingAWorkerThatHoldsAJobLosesNothing) {
  start_broker();
  const auto media = make_images("media", 40);
  // The first worker hangs on this file, so it is certainly holding it when killed.
  ChildProcess& doomed = start_worker({"--fault-injection", "hang:img1007.png"});
  ASSERT_TRUE(testing::eventually([&] { return slots_registered() == 2; }, 10s));
  std::thread producer_thread;
  testing::ProcessResult pooled;
  producer_thread = std::thread([&] { pooled = submit({"--timeout", "60", media.string()}); });
  ASSERT_TRUE(testing::eventually(
      [&] { return doomed.log().find("fault injection: hang") != std::string::npos; }, 30s));
  start_worker();
  doomed.signal(SIGKILL);
  producer_thread.join();
  ASSERT_EQ(pooled.exit_code, 0) << pooled.err;
  const auto results = lines_of(pooled.out);
  EXPECT_EQ(results.size(), 40u);
  EXPECT_EQ(by_path(results).size(), 40u);
  for (const auto& r : results) EXPECT_EQ(r.at("status"), "ok") << r.dump();
  EXPECT_NE(broker_->log().find("missed 3 heartbeats"), std::string::npos);
}

TEST_F(Pool, BrokerRestartMidRunLosesNothing) {
  start_broker();
  start_worker();
  const auto media = make_images("media", 60);
  const auto out = dir_ / "results.jsonl";
  testing::ProcessResult pooled;
  std::thread producer_thread([&] {
    pooled = submit({"--timeout", "2", "--retries", "10", "--window", "4", "--output", out.string(),
                     media.string()});
  });
  ASSERT_TRUE(testing::eventually([&] { return testing::read_bytes(out).size() > 2000; }, 30s));
  broker_->signal(SIGKILL);
  broker_->wait(5s);
  start_broker();
  producer_thread.join();
  ASSERT_EQ(pooled.exit_code, 0) << pooled.err;
  const auto text = testing::read_bytes(out);
  const auto results = lines_of(std::string(text.begin(), text.end()));
  EXPECT_EQ(results.size(), 60u);
  EXPECT_EQ(by_path(results).size(), 60u);
}

TEST_F(Pool, AJobThatKeepsCrashingWorkersComesBackAsPoison) {
  start_broker();
  const auto media = make_images("media", 10);
  cv::Mat m(40, 40, CV_8UC3, cv::Scalar(1, 2, 3));
  std::vector<uint8_t> png;
  cv::imencode(".png", m, png);
  dir_.write("media/poison.png", png);
  // Workers that die on poison.png, restarted as a supervisor would.
  std::atomic<bool> done{false};
  std::mutex mu;
  // One slot each: a crash takes down every job of the process, and jobs that
  // merely shared a process with the poison would be requeued with it.
  auto spawn = [&] { return start_worker({"--fault-injection", "crash:poison.png"}, 1).pid(); };
  {
    std::lock_guard lock(mu);
    spawn();
    spawn();
  }
  std::thread supervisor([&] {
    while (!done) {
      {
        std::lock_guard lock(mu);
        size_t alive = 0;
        for (auto& w : workers_) alive += w->running();
        for (; alive < 2 && workers_.size() < 20; ++alive) spawn();
      }
      std::this_thread::sleep_for(50ms);
    }
  });
  const auto pooled = submit({"--timeout", "60", media.string()});
  done = true;
  supervisor.join();
  EXPECT_LT(workers_.size(), 20u) << "workers kept dying: " << workers_.back()->log();
  EXPECT_EQ(pooled.exit_code, 2);
  const auto got = by_path(lines_of(pooled.out));
  ASSERT_EQ(got.size(), 11u);
  const auto& poison = got.at((dir_ / "media/poison.png").string());
  EXPECT_EQ(poison.at("status"), "error");
  EXPECT_EQ(poison.at("error").at("code"), "poison");
  for (const auto& [path, r] : got)
    if (path.find("poison") == std::string::npos) {
      EXPECT_EQ(r.at("status"), "ok") << path;
    }
}

void send_raw_tcp(const std::string& endpoint, const std::vector<uint8_t>& bytes) {
  const int port = std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0)
    (void)!::write(fd, bytes.data(), bytes.size());
  ::close(fd);
}

TEST_F(Pool, MalformedFramesAndRandomBytesDoNotStopTheService) {
  start_broker();
  start_worker();
  ASSERT_TRUE(testing::eventually([&] { return slots_registered() == 2; }, 10s));
  std::mt19937 rng(9);
  zmq::context_t ctx;
  for (const auto& endpoint : {frontend_, backend_}) {
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 200);
    s.connect(endpoint);
    const std::vector<std::vector<std::string>> junk = {
        {"hello"},
        {"", "MDPC01"},
        {"", "MDPW01", "\x07"},
        {"", "MDPW01", "\x03", "nobody", ""},
        {"", "MDPW01", "\x01"},
        {"", "MDPC01", "frameprint.hash"},
        {"", "MDPC01", "frameprint.hash", "not json"},
        {"", "MDPW01", "\x02", "x", "", "y"}};
    for (const auto& m : junk) {
      std::vector<zmq::message_t> frames;
      for (const auto& f : m) frames.emplace_back(f.data(), f.size());
      (void)zmq::send_multipart(s, frames);
    }
    for (int i = 0; i < 20; ++i) {
      std::vector<uint8_t> noise(1 + rng() % 3000);
      for (auto& b : noise) b = static_cast<uint8_t>(rng());
      send_raw_tcp(endpoint, noise);
    }
  }
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(broker_->running());
  EXPECT_TRUE(workers_.front()->running());
  const auto media = make_images("media", 5);
  const auto pooled = submit({"--timeout", "30", media.string()});
  EXPECT_EQ(pooled.exit_code, 0) << pooled.err << broker_->log();
  EXPECT_EQ(lines_of(pooled.out).size(), 5u);
}

// A client and a worker written here against RFC 7 alone (raw ZeroMQ, none
// of the project's protocol code) can use the broker.
TEST_F(Pool, PlainRfc7ClientAndWorkerInteroperate) {
  start_broker();
  zmq::context_t ctx;
  zmq::socket_t worker(ctx, zmq::socket_type::dealer);
  worker.set(zmq::sockopt::linger, 0);
  worker.connect(backend_);
  auto send = [](zmq::socket_t& s, std::vector<std::string> parts) {
    std::vector<zmq::message_t> frames;
    for (const auto& p : parts) frames.emplace_back(p.data(), p.size());
    return zmq::send_multipart(s, frames);
  };
  auto recv = [](zmq::socket_t& s) {
    std::vector<zmq::message_t> frames;
    s.set(zmq::sockopt::rcvtimeo, 10000);
    (void)zmq::recv_multipart(s, std::back_inserter(frames));
    std::vector<std::string> out;
    for (auto& f : frames) out.push_back(f.to_string());
    return out;
  };
  send(worker, {"", "MDPW01", std::string(1, '\x01'), "echo"});

  zmq::socket_t client(ctx, zmq::socket_type::req);
  client.set(zmq::sockopt::linger, 0);
  client.connect(frontend_);
  ASSERT_TRUE(testing::eventually(
      [&] {
        send(client, {"MDPC01", "mmi.service", "echo"});
        return recv(client) == std::vector<std::string>{"MDPC01", "mmi.service", "200"};
      },
      10s));

  send(client, {"MDPC01", "echo", "hello", "world"});
  std::vector<std::string> req;
  do req = recv(worker);
  while (!req.empty() && req.size() == 3 && req[2] == std::string(1, '\x04'));  // skip heartbeats
  ASSERT_EQ(req.size(), 7u);
  EXPECT_EQ(req[1], "MDPW01");
  EXPECT_EQ(req[2], std::string(1, '\x02'));
  EXPECT_EQ(req[4], "");
  EXPECT_EQ(req[5], "hello");
  EXPECT_EQ(req[6], "world");
  send(worker, {"", "MDPW01", std::string(1, '\x03'), req[3], "", "hello back"});
  EXPECT_EQ(recv(client), (std::vector<std::string>{"MDPC01", "echo", "hello back"}));
  send(worker, {"", "MDPW01", std::string(1, '\x05')});
}

// `submit --exact` carries the choice in the job's options; a worker started
// with --exact hashes every still exactly, whatever the job asks.
TEST_F(Pool, ExactStillsTravelWithTheJob) {
  start_broker();
  const auto media = dir_ / "photos";
  for (int i = 0; i < 3; ++i) {
    cv::Mat m(300, 400, CV_8UC3);
    cv::randu(m, 0, 255);
    cv::GaussianBlur(m, m, {0, 0}, 4.0 + i);
    std::vector<uint8_t> jpeg;
    cv::imencode(".jpg", m, jpeg);
    dir_.write("photos/p" + std::to_string(i) + ".jpg", jpeg);
  }
  auto strip = [](std::vector<json> lines) {
    for (auto& l : lines) {
      l.erase("id");
      l.erase("worker");
    }
    return by_path(lines);
  };
  start_worker();
  for (const bool exact : {false, true}) {
    SCOPED_TRACE(exact);
    std::vector<std::string> args = {media.string()};
    if (exact) args.insert(args.begin(), "--exact");
    const auto pooled = submit(args);
    ASSERT_EQ(pooled.exit_code, 0) << pooled.err << broker_->log();
    args.insert(args.begin(), {FRAMEPRINT_CLI, "hash"});
    const auto local = testing::run_process(args);
    ASSERT_EQ(local.exit_code, 0) << local.err;
    const auto got = strip(lines_of(pooled.out));
    const auto want = by_path(lines_of(local.out));
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got, want);
    for (const auto& [path, r] : got) EXPECT_EQ(r.at("exact"), exact) << path;
  }
  workers_.back()->signal(SIGTERM);
  EXPECT_EQ(workers_.back()->wait(10s), 0);

  start_worker({"--exact"});
  const auto forced = submit({media.string()});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  for (const auto& [path, r] : strip(lines_of(forced.out))) EXPECT_EQ(r.at("exact"), true) << path;
}

TEST_F(Pool, WorkerStopsGracefullyOnSigterm) {
  start_broker();
  ChildProcess& w = start_worker();
  ASSERT_TRUE(testing::eventually([&] { return slots_registered() == 2; }, 10s));
  w.signal(SIGTERM);
  EXPECT_EQ(w.wait(10s), 0) << w.log();
  EXPECT_NE(w.log().find("stopped"), std::string::npos);
}

TEST_F(Pool, PathJobsStayInsideAllowedRoots) {
  start_broker();
  const auto media = make_images("media", 3);
  make_images("secret", 1);
  start_worker({"--allow-root", media.string()});
  const auto inside = submit({"--by-path", "--timeout", "30", media.string()});
  EXPECT_EQ(inside.exit_code, 0) << inside.err;
  EXPECT_EQ(lines_of(inside.out).size(), 3u);
  const auto outside = submit({"--by-path", "--timeout", "30", (dir_ / "secret").string()});
  EXPECT_EQ(outside.exit_code, 2);
  const auto r = lines_of(outside.out);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].at("error").at("code"), "path_not_allowed");
}

TEST_F(Pool, AFullQueueIsBackPressureNotAnError) {
  broker_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{FRAMEPRINT_BROKER, "--frontend", frontend_, "--backend", backend_,
                               "--heartbeat-ms", "200", "--max-queue", "2"},
      dir_ / "broker.log");
  ASSERT_TRUE(testing::eventually(
      [&] { return broker_->log().find("frontend tcp://") != std::string::npos; }, 10s));
  start_worker({}, 1);
  const auto media = make_images("media", 12);
  const auto pooled = submit({"--window", "10", "--timeout", "30", media.string()});
  EXPECT_EQ(pooled.exit_code, 0) << pooled.out;
  const auto results = lines_of(pooled.out);
  EXPECT_EQ(results.size(), 12u);
  for (const auto& r : results) EXPECT_EQ(r.at("status"), "ok") << r.dump();
}

TEST_F(Pool, SubmitStopsWhenThePoolCannotServe) {
  // No worker at all, no grace: the broker answers at once and submit ends.
  broker_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{FRAMEPRINT_BROKER, "--frontend", frontend_, "--backend", backend_,
                               "--heartbeat-ms", "200", "--no-worker-grace", "0"},
      dir_ / "broker.log");
  ASSERT_TRUE(testing::eventually(
      [&] { return broker_->log().find("frontend tcp://") != std::string::npos; }, 10s));
  const auto media = make_images("media", 3);
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = submit({"--timeout", "30", media.string()}, 60);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  const auto results = lines_of(r.out);
  ASSERT_EQ(results.size(), 3u);
  for (const auto& j : results) EXPECT_EQ(j["error"]["code"], "no_workers") << j.dump();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 25s) << "waited for the timeout instead";
}

TEST_F(Pool, OverloadIsBackPressureOnlyWithinTheJobsTime) {
  // One worker stuck on a job, a queue of one: the third job is refused as
  // overloaded for as long as it tries, and gives up after timeout x (1 + retries).
  broker_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{FRAMEPRINT_BROKER, "--frontend", frontend_, "--backend", backend_,
                               "--heartbeat-ms", "200", "--max-queue", "1"},
      dir_ / "broker.log");
  ASSERT_TRUE(testing::eventually(
      [&] { return broker_->log().find("frontend tcp://") != std::string::npos; }, 10s));
  start_worker({"--fault-injection", "hang:img1000.png"}, 1);
  ASSERT_TRUE(testing::eventually([&] { return slots_registered() == 1; }, 10s));
  const auto media = make_images("media", 3);
  const auto r = submit({"--timeout", "1", "--retries", "1", "--window", "3", media.string()}, 60);
  EXPECT_EQ(r.exit_code, 2);
  std::map<std::string, int> codes;
  for (const auto& j : lines_of(r.out))
    ++codes[j["status"] == "ok" ? "ok" : j["error"]["code"].get<std::string>()];
  EXPECT_EQ(codes["overloaded"] + codes["timeout"], 3) << r.out;
  EXPECT_GE(codes["overloaded"], 1) << r.out;
}

TEST_F(Pool, IdleConnectionsDoNotStallTheMetricsEndpoint) {
  const int port = testing::free_port();
  broker_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{FRAMEPRINT_BROKER, "--frontend", frontend_, "--backend", backend_,
                               "--metrics", "127.0.0.1:" + std::to_string(port)},
      dir_ / "broker.log");
  ASSERT_TRUE(testing::eventually(
      [&] { return broker_->log().find("frontend tcp://") != std::string::npos; }, 10s));
  auto connect_to = [&] {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
  };
  std::vector<int> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(connect_to());  // connected, never a byte sent
  const int fd = connect_to();
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string get = "GET /metrics HTTP/1.0\r\n\r\n";
  ASSERT_EQ(::write(fd, get.data(), get.size()), static_cast<ssize_t>(get.size()));
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    answer.append(buf, static_cast<size_t>(n));
  EXPECT_NE(answer.find("frameprint_broker_jobs_received_total"), std::string::npos)
      << answer.substr(0, 200);
  for (int i : idle) ::close(i);
  ::close(fd);
}

// Decoders run confined (issue 13): what hostile media could make a decoder
// do is tried here through the worker's test hook, inside the decoder
// process, and every attempt ends as that one job's error result.
TEST_F(Pool, ConfinedDecodersFailAloneAndReachNothing) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizer builds hash in the worker: the decoder sandbox is off there";
#endif
  start_broker();
  const auto media = make_images("media", 4);
  const std::string secret = (dir_ / "lists.txt").string();
  dir_.write("lists.txt", std::vector<uint8_t>{'p', 'd', 'q'});
  struct Case {
    std::string fault;
    std::string code;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"crash", "decoder_crashed", "signal 11"},
      {"network", "decoder_crashed", "seccomp"},
      {"open=" + secret, "internal", "open refused: Permission denied"},
  };
  size_t started = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.fault);
    ChildProcess& w = start_worker({"--fault-injection", "decoder:" + c.fault + ":img1001.png"}, 1);
    ++started;
    ASSERT_TRUE(testing::eventually([&] { return slots_registered() == started; }, 10s));
    const auto r = submit({"--timeout", "60", media.string()}, 120);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    const auto got = by_path(lines_of(r.out));
    ASSERT_EQ(got.size(), 4u) << r.out;
    for (const auto& [path, j] : got) {
      if (path.find("img1001.png") != std::string::npos) {
        ASSERT_EQ(j["status"], "error") << j.dump();
        EXPECT_EQ(j["error"]["code"], c.code) << j.dump();
        EXPECT_NE(j["error"]["message"].get<std::string>().find(c.says), std::string::npos)
            << j.dump();
      } else {
        EXPECT_EQ(j["status"], "ok") << j.dump();  // the worker went on with a fresh decoder
      }
    }
    EXPECT_TRUE(w.running());
    w.signal(SIGKILL);
    w.wait(5s);
    workers_.pop_back();
  }
}

TEST_F(Pool, AHungDecoderIsKilledAtTheTimeLimit) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizer builds hash in the worker: the decoder sandbox is off there";
#endif
  start_broker();
  const auto media = make_images("media", 2);
  start_worker({"--fault-injection", "decoder:hang:img1000.png", "--max-seconds", "1",
                "--sandbox-grace", "1"},
               1);
  ASSERT_TRUE(testing::eventually([&] { return slots_registered() == 1; }, 10s));
  // The decoder gets --max-seconds plus the grace, then it is killed.
  const auto r = submit({"--timeout", "90", media.string()}, 120);
  const auto got = by_path(lines_of(r.out));
  ASSERT_EQ(got.size(), 2u) << r.out;
  for (const auto& [path, j] : got) {
    if (path.find("img1000.png") != std::string::npos)
      EXPECT_EQ(j["error"]["code"], "timeout") << j.dump();
    else EXPECT_EQ(j["status"], "ok") << j.dump();
  }
}

// SIGTERM stops submit even while it reads a standard input that never
// ends (issue 14): it says the input had no result and exits 2.
TEST_F(Pool, SubmitStopsOnSigtermWhileReadingStandardInput) {
  const auto fifo = dir_ / "endless";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const int writer = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);  // a writer that never closes
  ASSERT_GE(writer, 0);
  ASSERT_EQ(::write(writer, "GIF89a", 6), 6);  // some bytes, then silence
  const auto log = dir_ / "submit.log";
  const pid_t pid = testing::spawn(
      {FRAMEPRINT_CLI, "submit", "--broker", frontend_, "-"}, [&](posix_spawn_file_actions_t* fa) {
        posix_spawn_file_actions_addopen(fa, 0, fifo.c_str(), O_RDONLY, 0);
        posix_spawn_file_actions_addopen(fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      });
  std::this_thread::sleep_for(1s);
  ::kill(pid, SIGTERM);
  int status = 0;
  pid_t done = 0;
  ASSERT_TRUE(
      testing::eventually([&] { return (done = ::waitpid(pid, &status, WNOHANG)) == pid; }, 10s))
      << "submit ignored SIGTERM";
  ::close(writer);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  const auto text = testing::read_bytes(log);
  EXPECT_NE(std::string(text.begin(), text.end()).find("interrupted"), std::string::npos);
}

// submit accounts for every input without blocking or aborting (issue 14):
// a FIFO is refused, a name that is not UTF-8 is answered with its exact
// bytes, and a second run on the same --output is refused while the first
// holds it.
TEST_F(Pool, SubmitAccountsForOddInputsAndLocksItsOutput) {
  start_broker();
  start_worker();
  const auto media = make_images("media", 2);
  ASSERT_EQ(::mkfifo((media / "fifo").c_str(), 0600), 0);
  std::filesystem::copy_file(media / "img1000.png", media / std::string("odd-\xff.png"));
  const auto out = dir_ / "results.jsonl";
  const auto r = submit({"--timeout", "30", "--output", out.string(), media.string()}, 60);
  EXPECT_EQ(r.exit_code, 2) << r.err;  // the FIFO
  const auto text = testing::read_bytes(out);
  const auto lines = lines_of(std::string(text.begin(), text.end()));
  ASSERT_EQ(lines.size(), 4u);
  int odd = 0;
  for (const auto& j : lines) {
    if (j.contains("path_b64")) {
      ++odd;
      EXPECT_EQ(j["status"], "ok") << j.dump();
    }
    if (j["path"].get<std::string>().ends_with("fifo")) {
      EXPECT_EQ(j["error"]["code"], "io_error");
    }
  }
  EXPECT_EQ(odd, 1);
  // Resuming knows the odd name by its bytes: nothing is sent again (the
  // FIFO's io_error is final too).
  const auto again = submit({"--timeout", "30", "--output", out.string(), media.string()}, 60);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  const auto text2 = testing::read_bytes(out);
  EXPECT_EQ(lines_of(std::string(text2.begin(), text2.end())).size(), 4u);
  // A run holding the lock keeps another out.
  const int fd = ::open(out.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  const auto locked = submit({"--output", out.string(), media.string()}, 60);
  EXPECT_EQ(locked.exit_code, 1);
  EXPECT_NE(locked.err.find("another frameprint submit"), std::string::npos) << locked.err;
  ::close(fd);
}

TEST_F(Pool, ResumingRetriesTransientFailuresOnly) {
  start_broker();
  start_worker();
  const auto media = make_images("media", 3);
  const std::string a = (media / "img1000.png").string(), b = (media / "img1001.png").string();
  const std::string earlier =
      "{\"path\":\"" + a + "\",\"status\":\"ok\",\"frames\":[]}\n" + "{\"path\":\"" + b +
      "\",\"status\":\"error\",\"error\":{\"code\":\"timeout\",\"message\":\"x\"}}\n";
  const auto out =
      dir_.write("results.jsonl", std::vector<uint8_t>(earlier.begin(), earlier.end()));
  const auto resumed = submit({"--timeout", "30", "--output", out.string(), media.string()});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
  const auto text = testing::read_bytes(out);
  const auto lines = lines_of(std::string(text.begin(), text.end()));
  ASSERT_EQ(lines.size(), 4u);  // the two earlier lines, then b (again) and the third image
  std::set<std::string> new_paths = {lines[2].at("path"), lines[3].at("path")};
  EXPECT_TRUE(new_paths.count(b));
  EXPECT_FALSE(new_paths.count(a));
}

TEST_F(Pool, SubmitTakesStandardInputAndFilesFrom) {
  start_broker();
  start_worker();
  const auto media = make_images("media", 3);
  const std::string a = (media / "img1000.png").string(), b = (media / "img1001.png").string();
  const std::string list = a + '\0' + b + '\0';
  dir_.write("paths.nul", std::vector<uint8_t>(list.begin(), list.end()));
  // "-" sends standard input's bytes (inline, even with --by-path); the listed files follow.
  const auto r =
      submit({"--timeout", "30", "-0", "--files-from", (dir_ / "paths.nul").string(), "-"}, 120,
             media / "img1002.png");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto results = by_path(lines_of(r.out));
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results.at(a).at("status"), "ok");
  EXPECT_EQ(results.at(b).at("status"), "ok");
  const auto local = lines_of(
      testing::run_process({FRAMEPRINT_CLI, "hash", (media / "img1002.png").string()}).out);
  EXPECT_EQ(results.at("-").at("sha1"), local.at(0).at("sha1"));
  EXPECT_EQ(results.at("-").at("frames"), local.at(0).at("frames"));

  const auto big =
      submit({"--timeout", "30", "--max-bytes", "10", "-"}, 120, media / "img1002.png");
  EXPECT_EQ(big.exit_code, 2);
  EXPECT_EQ(lines_of(big.out).at(0).at("error").at("code"), "too_large");
}

TEST_F(Pool, WorkerMatchesAgainstListsAndReloadsThemOnSighup) {
  start_broker();
  const auto media = make_images("media", 2);
  const auto list = dir_ / "known.txt";
  dir_.write("known.txt", {});
  // Noise images have low PDQ quality; compare them anyway. The list starts
  // empty, which the worker accepts only when told to.
  ChildProcess& w =
      start_worker({"--min-quality", "0", "--allow-empty-list", "--list", "pdq:" + list.string()});
  ASSERT_TRUE(testing::eventually([&] { return slots_registered() == 2; }, 10s));
  auto first = lines_of(submit({"--timeout", "30", media.string()}).out);
  ASSERT_EQ(first.size(), 2u);
  for (const auto& r : first) EXPECT_TRUE(r.at("matches").empty());

  const std::string hash = first[0].at("frames")[0].at("pdq");
  const std::string line = hash + ",case-1\n";
  dir_.write("known.txt", std::vector<uint8_t>(line.begin(), line.end()));
  w.signal(SIGHUP);
  ASSERT_TRUE(testing::eventually(
      [&] { return w.log().find("lists reloaded") != std::string::npos; }, 10s));
  const auto second = by_path(lines_of(submit({"--timeout", "30", media.string()}).out));
  const auto& hit = second.at(first[0].at("path").get<std::string>()).at("matches");
  ASSERT_EQ(hit.size(), 1u);
  EXPECT_EQ(hit[0].at("id"), "case-1");

  // A broken list on reload keeps the old one; the worker keeps serving.
  dir_.write("known.txt", {'x', '\n'});
  w.signal(SIGHUP);
  ASSERT_TRUE(testing::eventually(
      [&] { return w.log().find("keeping the previous lists") != std::string::npos; }, 10s));
  const auto third = by_path(lines_of(submit({"--timeout", "30", media.string()}).out));
  EXPECT_EQ(third.at(first[0].at("path").get<std::string>()).at("matches").size(), 1u);
}

}  // namespace
}  // namespace frameprint
