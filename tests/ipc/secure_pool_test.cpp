// The pool with CurveZMQ and ZAP (issue 13), as deployed: real broker,
// worker and submit processes on loopback with keys made by `frameprint
// keygen`. Peers whose keys the broker does not list get nothing and give
// nothing; a key removed from a list is cut off at the next SIGHUP; the
// bytes on the wire are not plaintext (read through a relay in this test).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>
#include <zmq_addon.hpp>

#include "ipc/curve.h"
#include "ipc/mdp.h"
#include "tests/support/child_process.h"
#include "tests/support/run_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/testdata.h"

namespace frameprint {
namespace {

using testing::ChildProcess;
using namespace std::chrono_literals;

// A TCP relay on loopback that records every byte it forwards, both ways.
class Relay {
 public:
  explicit Relay(int target_port) : target_(target_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listener_, 8) != 0)
      throw std::runtime_error("relay: cannot listen");
    socklen_t len = sizeof a;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~Relay() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }
  std::string endpoint() const { return testing::loopback(port_); }
  std::string captured() {
    std::lock_guard lock(mu_);
    return bytes_;
  }
  // Closes every connection relayed so far (a network blip); returns once done.
  void cut() {
    cut_ = true;
    while (cut_) std::this_thread::sleep_for(10ms);
  }

 private:
  void loop() {
    std::vector<std::pair<int, int>> pairs;  // (from, to), both directions
    while (!stop_) {
      if (cut_) {
        for (auto [from, to] : pairs) ::close(from);
        pairs.clear();
        cut_ = false;
      }
      std::vector<pollfd> fds{{listener_, POLLIN, 0}};
      for (auto [from, to] : pairs) fds.push_back({from, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        const int in = ::accept(listener_, nullptr, nullptr);
        const int out = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<uint16_t>(target_));
        if (::connect(out, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
          pairs.push_back({in, out});
          pairs.push_back({out, in});
        } else {
          ::close(in);
          ::close(out);
        }
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
        char buf[65536];
        const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n > 0) {
          (void)!::write(pairs[i - 1].second, buf, static_cast<size_t>(n));
          std::lock_guard lock(mu_);
          bytes_.append(buf, static_cast<size_t>(n));
        }
      }
    }
    for (auto [from, to] : pairs) ::close(from);
  }

  int target_, port_ = 0, listener_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<bool> cut_{false};
  std::thread thread_;
  std::mutex mu_;
  std::string bytes_;
};

class SecurePool : public ::testing::Test {
 protected:
  void SetUp() override {
    frontend_port_ = testing::free_port();
    frontend_ = testing::loopback(frontend_port_);
    backend_ = testing::loopback(testing::free_port());
    for (const char* name : {"broker", "client", "worker", "stranger"}) {
      const auto r = testing::run_process({FRAMEPRINT_CLI, "keygen", (dir_ / name).string()}, 30);
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    std::filesystem::create_directories(dir_ / "clients");
    std::filesystem::create_directories(dir_ / "workers");
    std::filesystem::copy_file(dir_ / "client.pub", dir_ / "clients" / "client.pub");
    std::filesystem::copy_file(dir_ / "worker.pub", dir_ / "workers" / "worker.pub");
  }
  std::string key(const char* file) { return (dir_ / file).string(); }

  // `heartbeat_ms`: long where the test itself plays a worker that does not beat.
  void start_broker(const char* heartbeat_ms = "200") {
    broker_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{FRAMEPRINT_BROKER, "--frontend", frontend_, "--backend", backend_,
                                 "--heartbeat-ms", heartbeat_ms, "--curve-key", key("broker.key"),
                                 "--allow-clients", key("clients"), "--allow-workers",
                                 key("workers")},
        dir_ / "broker.log");
    ASSERT_TRUE(testing::eventually(
        [&] { return broker_->log().find("frontend tcp://") != std::string::npos; }, 10s))
        << broker_->log();
  }
  ChildProcess& start_worker(const char* identity) {
    workers_.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{FRAMEPRINT_WORKER, "--connect", backend_, "--slots", "1",
                                 "--heartbeat-ms", "200", "--device", "cpu", "--curve-key",
                                 key((std::string(identity) + ".key").c_str()), "--broker-key",
                                 key("broker.pub")},
        dir_ / (std::string(identity) + std::to_string(workers_.size()) + ".log")));
    return *workers_.back();
  }
  testing::ProcessResult submit(const char* identity, const std::string& broker,
                                const std::string& file, double timeout = 20) {
    return testing::run_process(
        {FRAMEPRINT_CLI, "submit", "--broker", broker, "--curve-key",
         key((std::string(identity) + ".key").c_str()), "--broker-key", key("broker.pub"),
         "--timeout", std::to_string(timeout), "--retries", "0", file},
        60);
  }
  static std::string status_of(const testing::ProcessResult& r) {
    const auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (!j.is_object()) return "no result";
    return j["status"] == "ok" ? "ok" : j["error"]["code"].get<std::string>();
  }
  // A small real photo from the shared test data ("" when it is absent).
  static std::string media() {
    const auto p = testing::testdata_dir() / "pdq" / "images" / "wee.jpg";
    return std::filesystem::exists(p) ? p.string() : "";
  }

  // A pool that has hashed `file` once, then loses `key` (a path under the
  // keys directory) from its allow-lists at a reload; returns when the
  // broker reports `allowed`.
  void hash_then_revoke(const std::string& file, const std::string& key,
                        const std::string& allowed) {
    start_broker();
    start_worker("worker");
    ASSERT_EQ(status_of(submit("client", frontend_, file)), "ok") << broker_->log();
    std::filesystem::remove(dir_ / key);
    broker_->signal(SIGHUP);
    ASSERT_TRUE(
        testing::eventually([&] { return broker_->log().find(allowed) != std::string::npos; }, 5s))
        << broker_->log();
  }

  testing::TempDir dir_;
  int frontend_port_ = 0;
  std::string frontend_, backend_;
  std::unique_ptr<ChildProcess> broker_;
  std::vector<std::unique_ptr<ChildProcess>> workers_;
};

TEST_F(SecurePool, ListedPeersHashAndStrangersGetNothing) {
  const std::string file = media();
  if (file.empty()) GTEST_SKIP() << "no shared test data";
  start_broker();
  start_worker("worker");
  const auto ok = submit("client", frontend_, file);
  EXPECT_EQ(status_of(ok), "ok") << ok.out << ok.err << broker_->log();
  // A client whose key is not listed: the handshake is refused, and submit
  // says so at once (exit 3) rather than waiting out its timeouts.
  const auto stranger = submit("stranger", frontend_, file, 60);
  EXPECT_EQ(stranger.exit_code, 3) << stranger.out << stranger.err;
  EXPECT_EQ(status_of(stranger), "no result") << stranger.out;
  EXPECT_NE(stranger.err.find("refused our CURVE key"), std::string::npos) << stranger.err;
  EXPECT_TRUE(testing::eventually(
      [&] { return broker_->log().find("refused a clients connection") != std::string::npos; }, 5s))
      << broker_->log();
}

TEST_F(SecurePool, AWorkerWithAnUnknownKeyReceivesNoJobs) {
  const std::string file = media();
  if (file.empty()) GTEST_SKIP() << "no shared test data";
  start_broker();
  ChildProcess& stranger = start_worker("stranger");
  EXPECT_TRUE(testing::eventually(
      [&] { return broker_->log().find("refused a workers connection") != std::string::npos; },
      10s))
      << broker_->log();
  const auto r = submit("client", frontend_, file, 2);
  EXPECT_EQ(status_of(r), "timeout") << r.out;
  EXPECT_EQ(stranger.log().find("\"status\""), std::string::npos);
  // The worker keeps trying, and says why it gets nothing.
  EXPECT_NE(stranger.log().find("refused our CURVE key"), std::string::npos) << stranger.log();
  EXPECT_EQ(broker_->log().find("ready for"), std::string::npos) << "the stranger registered";
}

TEST_F(SecurePool, ARevokedWorkerIsCutOffAtReload) {
  const std::string file = media();
  if (file.empty()) GTEST_SKIP() << "no shared test data";
  ASSERT_NO_FATAL_FAILURE(
      hash_then_revoke(file, "workers/worker.pub", "1 client and 0 worker keys allowed"));
  // Its connection was made before; its messages are now dropped, so the
  // broker forgets it and the job waits for a trusted worker.
  const auto r = submit("client", frontend_, file, 2);
  EXPECT_EQ(status_of(r), "timeout") << r.out << broker_->log();
}

TEST_F(SecurePool, ARevokedClientGetsNothingAfterReload) {
  const std::string file = media();
  if (file.empty()) GTEST_SKIP() << "no shared test data";
  ASSERT_NO_FATAL_FAILURE(
      hash_then_revoke(file, "clients/client.pub", "0 client and 1 worker keys allowed"));
  // Its handshake is refused now: no job reaches the worker, no result
  // comes back, and submit says why.
  const auto r = submit("client", frontend_, file, 60);
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err << broker_->log();
  EXPECT_EQ(status_of(r), "no result") << r.out;
  EXPECT_NE(r.err.find("refused our CURVE key"), std::string::npos) << r.err;
}

// A newcomer's submit that cannot work ends with the reason, in seconds:
// no broker at the address, a plaintext client at a CURVE broker, a wrong
// broker key. The broker logs and counts the failed handshakes.
TEST_F(SecurePool, SubmitSaysWhyItCannotReachThePool) {
  const std::string file = media();
  if (file.empty()) GTEST_SKIP() << "no shared test data";
  const auto nobody = testing::run_process(
      {FRAMEPRINT_CLI, "submit", "--broker", testing::loopback(testing::free_port()),
       "--connect-timeout", "2", file},
      60);
  EXPECT_EQ(nobody.exit_code, 3) << nobody.out << nobody.err;
  EXPECT_NE(nobody.err.find("nothing accepts connections at tcp://127.0.0.1:"), std::string::npos)
      << nobody.err;
  EXPECT_TRUE(nobody.out.empty()) << nobody.out;

  const int metrics = testing::free_port();
  broker_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{FRAMEPRINT_BROKER, "--frontend", frontend_, "--backend", backend_,
                               "--curve-key", key("broker.key"), "--allow-clients", key("clients"),
                               "--allow-workers", key("workers"), "--metrics",
                               "127.0.0.1:" + std::to_string(metrics)},
      dir_ / "broker.log");
  ASSERT_TRUE(testing::eventually(
      [&] { return broker_->log().find("frontend tcp://") != std::string::npos; }, 10s))
      << broker_->log();
  // Without keys: the broker speaks CURVE, this client does not.
  const auto plain =
      testing::run_process({FRAMEPRINT_CLI, "submit", "--broker", frontend_, file}, 60);
  EXPECT_EQ(plain.exit_code, 3) << plain.out << plain.err;
  EXPECT_NE(plain.err.find("the handshake with " + frontend_ + " failed"), std::string::npos)
      << plain.err;
  // With keys, but another broker's public key.
  const auto wrong =
      testing::run_process({FRAMEPRINT_CLI, "submit", "--broker", frontend_, "--curve-key",
                            key("client.key"), "--broker-key", key("stranger.pub"), file},
                           60);
  EXPECT_EQ(wrong.exit_code, 3) << wrong.out << wrong.err;
  EXPECT_NE(wrong.err.find("--broker-key"), std::string::npos) << wrong.err;
  EXPECT_TRUE(testing::eventually(
      [&] { return broker_->log().find("failed its handshake") != std::string::npos; }, 5s))
      << broker_->log();
  const auto m = testing::run_process(
      {"/usr/bin/env", "curl", "-sS", "http://127.0.0.1:" + std::to_string(metrics) + "/metrics"},
      30);
  ASSERT_EQ(m.exit_code, 0) << "curl (scripts/install-deps.sh) reads the metrics: " << m.err;
  // Each submit tries a few times before it gives up: at least two counted.
  const size_t at = m.out.find("\nframeprint_broker_handshakes_failed_total ");
  ASSERT_NE(at, std::string::npos) << m.out;
  EXPECT_GE(std::atof(m.out.c_str() + at + 43), 2.0) << m.out.substr(at, 60);
}

// Peers the test drives itself, on the real broker: a client or worker
// DEALER with a key made by keygen and, for clients, a chosen routing
// identity (what a hostile allow-listed client may choose).
class Peer {
 public:
  Peer(zmq::context_t& ctx, const std::string& key_file, const std::string& broker_pub,
       const std::string& endpoint, const std::string& identity = "")
      : socket_(ctx, zmq::socket_type::dealer) {
    curve::apply(socket_, curve::ClientKeys::load(key_file, broker_pub));
    socket_.set(zmq::sockopt::linger, 0);
    if (!identity.empty()) socket_.set(zmq::sockopt::routing_id, identity);
    socket_.connect(endpoint);
  }
  void send(mdp::Message m) { (void)zmq::send_multipart(socket_, m); }
  // The next message within `limit`, or none.
  std::optional<mdp::Message> receive(std::chrono::milliseconds limit) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, limit) <= 0) return std::nullopt;
    mdp::Message m;
    (void)zmq::recv_multipart(socket_, std::back_inserter(m));
    return m;
  }
  // As a worker: the next REQUEST sent to it within `limit` (heartbeats skipped).
  std::optional<mdp::WorkerMessage> next_request(std::chrono::milliseconds limit = 20s) {
    for (const auto end = std::chrono::steady_clock::now() + limit;
         std::chrono::steady_clock::now() < end;)
      if (auto m = receive(500ms)) {
        auto w = mdp::parse_worker(std::move(*m));
        if (w.command == mdp::Command::kRequest) return w;
      }
    return std::nullopt;
  }
  void close() { socket_.close(); }

 private:
  zmq::socket_t socket_;
};

mdp::Message job(const std::string& id) {
  mdp::Message body;
  body.push_back(mdp::frame_of(nlohmann::json{{"id", id}, {"name", id + ".jpg"}}.dump()));
  body.push_back(mdp::frame_of("not really a photo"));
  return mdp::client_message("frameprint.hash", std::move(body));
}

mdp::Message ask_service() {
  mdp::Message body;
  body.push_back(mdp::frame_of("frameprint.hash"));
  return mdp::client_message("mmi.service", std::move(body));
}

// What a client received: the service and the first body frame.
std::pair<std::string, std::string> opened(mdp::Message m) {
  auto r = mdp::parse_client(std::move(m));
  return {r.service, r.body.empty() ? "" : mdp::to_string(r.body[0])};
}

// Another allow-listed key that takes a client's routing identity while
// its job is in flight gets nothing of it, whether it connects beside the
// owner, or after the owner's connection closed, silent or speaking; the
// owner gets its reply when it speaks from the identity again.
TEST_F(SecurePool, AnotherKeyOnAClientsIdentityGetsNothingOfItsJobs) {
  std::filesystem::copy_file(dir_ / "stranger.pub", dir_ / "clients" / "stranger.pub");
  start_broker("10000");
  zmq::context_t ctx;
  const std::string pub = key("broker.pub");
  Peer worker(ctx, key("worker.key"), pub, backend_);
  worker.send(mdp::worker_ready("frameprint.hash"));
  ASSERT_TRUE(testing::eventually(
      [&] { return broker_->log().find("ready for") != std::string::npos; }, 10s));
  auto owner = std::make_unique<Peer>(ctx, key("client.key"), pub, frontend_, "victim-0001");
  auto result = [](const std::string& id, const std::string& md5) {
    mdp::Message body;
    body.push_back(mdp::frame_of(R"({"id":")" + id + R"(","status":"ok","md5":")" + md5 + "\"}"));
    return body;
  };

  // 1. Beside the live owner: the identity is in use; the thief gets nothing.
  owner->send(job("first"));
  auto held = worker.next_request();  // it is not told the client's identity
  ASSERT_TRUE(held.has_value()) << broker_->log();
  EXPECT_EQ(held->client.find("victim"), std::string::npos);
  {
    Peer thief(ctx, key("stranger.key"), pub, frontend_, "victim-0001");
    thief.send(ask_service());
    std::this_thread::sleep_for(300ms);
    worker.send(mdp::worker_reply(held->client, result("first", "1111")));
    auto mine = owner->receive(3000ms);
    ASSERT_TRUE(mine.has_value()) << broker_->log();
    EXPECT_NE(opened(std::move(*mine)).second.find("1111"), std::string::npos);
    EXPECT_FALSE(thief.receive(700ms).has_value()) << "the thief beside the owner got a message";
  }

  // 2. The owner's connection closes with a job in flight; the thief takes
  // the identity, silent, then speaking.
  owner->send(job("second"));
  held = worker.next_request();
  ASSERT_TRUE(held.has_value()) << broker_->log();
  owner->close();
  owner.reset();
  std::this_thread::sleep_for(300ms);
  {
    Peer thief(ctx, key("stranger.key"), pub, frontend_, "victim-0001");
    std::this_thread::sleep_for(300ms);
    worker.send(mdp::worker_reply(held->client, result("second", "2222")));
    EXPECT_FALSE(thief.receive(700ms).has_value()) << "the silent thief received the reply";
    thief.send(ask_service());
    auto answer = thief.receive(3000ms);
    ASSERT_TRUE(answer.has_value()) << broker_->log();
    EXPECT_EQ(opened(std::move(*answer)).first, "mmi.service");  // its own answer only
    EXPECT_FALSE(thief.receive(700ms).has_value()) << "the speaking thief received the reply";
    EXPECT_TRUE(testing::eventually(
        [&] {
          return broker_->log().find("is now used by another CURVE key") != std::string::npos;
        },
        5s))
        << broker_->log();
  }
  std::this_thread::sleep_for(300ms);

  // 3. The owner's key speaks from the identity again: its reply comes.
  Peer back(ctx, key("client.key"), pub, frontend_, "victim-0001");
  back.send(ask_service());
  std::string got;
  for (int i = 0; i < 2; ++i)
    if (auto m = back.receive(3000ms)) got += opened(std::move(*m)).second;
  EXPECT_NE(got.find("2222"), std::string::npos) << got << broker_->log();
}

// After a network blip the client's connection is new: its reply waits
// for its key to speak, and `submit` speaks while jobs are out, so the
// reply arrives within seconds, not at the resend time-out (60 s here).
TEST_F(SecurePool, AReplyReachesAClientThatReconnected) {
  const std::string file = media();
  if (file.empty()) GTEST_SKIP() << "no shared test data";
  start_broker("10000");
  zmq::context_t ctx;
  Peer worker(ctx, key("worker.key"), key("broker.pub"), backend_);
  worker.send(mdp::worker_ready("frameprint.hash"));
  ASSERT_TRUE(testing::eventually(
      [&] { return broker_->log().find("ready for") != std::string::npos; }, 10s));
  Relay relay(frontend_port_);
  ChildProcess client(
      {FRAMEPRINT_CLI, "submit", "--broker", relay.endpoint(), "--curve-key", key("client.key"),
       "--broker-key", key("broker.pub"), "--timeout", "60", "--retries", "0", file},
      dir_ / "submit.log");
  const auto held = worker.next_request();
  ASSERT_TRUE(held.has_value()) << broker_->log();
  relay.cut();
  std::this_thread::sleep_for(500ms);
  const auto header = nlohmann::json::parse(mdp::to_string(held->body.at(0)));
  mdp::Message result;
  result.push_back(mdp::frame_of(
      nlohmann::json{{"id", header["id"]}, {"status", "ok"}, {"md5", "feedface"}}.dump()));
  worker.send(mdp::worker_reply(held->client, std::move(result)));
  const auto t0 = std::chrono::steady_clock::now();
  const auto status = client.wait(30s);
  ASSERT_TRUE(status.has_value()) << "submit did not finish" << broker_->log();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 20s);
  EXPECT_NE(client.log().find("feedface"), std::string::npos) << client.log() << broker_->log();
}

// A worker whose key is removed at a reload cannot deliver the reply to the
// job it held, late or replayed: the job goes to a trusted worker.
TEST_F(SecurePool, ARevokedWorkersLateReplyNeverReachesTheClient) {
  const std::string file = media();
  if (file.empty()) GTEST_SKIP() << "no shared test data";
  start_broker();
  zmq::context_t ctx;
  const std::string pub = key("broker.pub");
  Peer rogue(ctx, key("worker.key"), pub, backend_);
  rogue.send(mdp::worker_ready("frameprint.hash"));
  ASSERT_TRUE(testing::eventually(
      [&] { return broker_->log().find("ready for") != std::string::npos; }, 10s));
  Peer client(ctx, key("client.key"), pub, frontend_, "honest-0001");
  client.send(job("job-7"));
  const auto held = rogue.next_request();
  ASSERT_TRUE(held.has_value());
  // Revoked while it holds the job; a trusted worker joins.
  std::filesystem::remove(dir_ / "workers" / "worker.pub");
  const auto r2 = testing::run_process({FRAMEPRINT_CLI, "keygen", (dir_ / "worker2").string()}, 30);
  ASSERT_EQ(r2.exit_code, 0);
  std::filesystem::copy_file(dir_ / "worker2.pub", dir_ / "workers" / "worker2.pub");
  broker_->signal(SIGHUP);
  ASSERT_TRUE(testing::eventually(
      [&] {
        return broker_->log().find("1 client and 1 worker keys allowed") != std::string::npos;
      },
      5s));
  for (int i = 0; i < 2; ++i) {  // late, then replayed
    mdp::Message forged;
    forged.push_back(mdp::frame_of(R"({"id":"job-7","status":"ok","md5":"forged"})"));
    rogue.send(mdp::worker_reply(held->client, std::move(forged)));
  }
  EXPECT_FALSE(client.receive(1000ms).has_value()) << "a revoked worker's reply got through";
  start_worker("worker2");
  auto m = client.receive(20000ms);
  ASSERT_TRUE(m.has_value()) << broker_->log();
  const auto [service, body] = opened(std::move(*m));
  EXPECT_EQ(body.find("forged"), std::string::npos) << body;
  EXPECT_NE(body.find("\"job-7\""), std::string::npos) << body;
}

TEST_F(SecurePool, TheWireCarriesNoPlaintext) {
  const std::string file = media();
  if (file.empty()) GTEST_SKIP() << "no shared test data";
  // What to look for: the file's MD5 hex, which the reply carries.
  const auto local = testing::run_process({FRAMEPRINT_CLI, "hash", "--device", "cpu", file}, 60);
  const std::string md5 = nlohmann::json::parse(local.out)["md5"];
  start_broker();
  start_worker("worker");
  Relay relay(frontend_port_);
  const auto r = submit("client", relay.endpoint(), file);
  ASSERT_EQ(status_of(r), "ok") << r.out << r.err;
  ASSERT_NE(r.out.find(md5), std::string::npos);
  const std::string wire = relay.captured();
  EXPECT_GT(wire.size(), 1000u);
  EXPECT_EQ(wire.find(md5), std::string::npos) << "the reply crossed the wire in plaintext";
  EXPECT_EQ(wire.find("wee.jpg"), std::string::npos)
      << "the job header crossed the wire in plaintext";
}

TEST_F(SecurePool, WithoutKeysTheRelaySeesEverything) {  // the control for the test above
  const std::string file = media();
  if (file.empty()) GTEST_SKIP() << "no shared test data";
  broker_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{FRAMEPRINT_BROKER, "--frontend", frontend_, "--backend", backend_,
                               "--heartbeat-ms", "200"},
      dir_ / "plain-broker.log");
  workers_.push_back(std::make_unique<ChildProcess>(
      std::vector<std::string>{FRAMEPRINT_WORKER, "--connect", backend_, "--device", "cpu",
                               "--heartbeat-ms", "200"},
      dir_ / "plain-worker.log"));
  Relay relay(frontend_port_);
  ASSERT_TRUE(testing::eventually(
      [&] { return broker_->log().find("ready for") != std::string::npos; }, 10s));
  const auto r = testing::run_process({FRAMEPRINT_CLI, "submit", "--broker", relay.endpoint(),
                                       "--timeout", "20", "--retries", "0", file},
                                      60);
  ASSERT_NE(r.out.find("\"status\":\"ok\""), std::string::npos) << r.out << r.err;
  EXPECT_NE(relay.captured().find("wee.jpg"), std::string::npos);
}

TEST_F(SecurePool, WithoutKeysOnlyLoopbackIsServed) {
  const auto refused = testing::run_process(
      {FRAMEPRINT_BROKER, "--frontend", "tcp://0.0.0.0:" + std::to_string(testing::free_port()),
       "--backend", backend_},
      30);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("--insecure"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--curve-key"), std::string::npos) << refused.err;
}

TEST(CurveExposure, PlaintextStaysOnLoopbackUnlessInsecure) {
  for (const char* ok : {"tcp://127.0.0.1:5555", "tcp://localhost:1", "tcp://[::1]:5",
                         "ipc:///tmp/x", "inproc://a", "tcp://127.0.0.2:9", "tcp://127.255.0.1:9"})
    EXPECT_NO_THROW(curve::check_exposure(ok, false, false)) << ok;
  for (const char* bad :
       {"tcp://0.0.0.0:5555", "tcp://10.1.2.3:5", "tcp://*:5555", "tcp://example.org:1",
        "tcp://127.0.0.1:1;10.0.0.1:5", "tcp://eth0:5", "pgm://x", "tcp://127.evil.example:5",
        "tcp://127.0.0.1.example:5", "tcp://127.:5", "tcp://127.0.0.256:5"})
    EXPECT_THROW(curve::check_exposure(bad, false, false), std::invalid_argument) << bad;
  EXPECT_NO_THROW(curve::check_exposure("tcp://0.0.0.0:5555", true, false));
  EXPECT_NO_THROW(curve::check_exposure("tcp://0.0.0.0:5555", false, true));
}

TEST(CurveKeys, KeyFilesRoundTripAndSecretsArePrivate) {
  testing::TempDir dir;
  const auto k = curve::generate();
  curve::write_files(dir / "me", k);
  EXPECT_EQ(curve::read_file(dir / "me.key").secret_key, k.secret_key);
  EXPECT_EQ(curve::read_file(dir / "me.pub").public_key, k.public_key);
  EXPECT_TRUE(curve::read_file(dir / "me.pub").secret_key.empty());
  EXPECT_EQ(std::filesystem::status(dir / "me.key").permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_THROW(curve::write_files(dir / "me", curve::generate()), std::runtime_error)
      << "overwrote a key";
  const std::string bad = "curve\n    public-key = \"not a key\"\n";
  dir.write("bad.pub", std::vector<uint8_t>(bad.begin(), bad.end()));
  EXPECT_THROW(curve::read_file(dir / "bad.pub"), std::runtime_error);
  EXPECT_THROW(curve::ClientKeys::load((dir / "me.key").string(), ""), std::invalid_argument);
  EXPECT_THROW(curve::ClientKeys::load((dir / "me.pub").string(), (dir / "me.pub").string()),
               std::invalid_argument);
}

}  // namespace
}  // namespace frameprint
