// Fuzz target: the broker state machine (ipc/broker.h) driven by a sequence
// of client messages, worker messages, clock ticks and revocations decoded
// from the input, under a configuration also taken from it. Besides not
// crashing, after every step:
//  - everything the broker sends parses as Majordomo (it never emits what
//    its own peers would drop as malformed);
//  - a client is answered only for a request of its own that the broker
//    accepted and has not answered yet (replies are routed by the request,
//    never by an address a worker names), and at most once; with CURVE
//    keys, only while the identity's last message came with the key that
//    submitted the request, on a connection not closed since;
//  - workers never see a client's routing identity;
//  - requests held (accepted, not yet answered) = queued + in flight +
//    replies withheld (+ withheld ones dropped);
//    in flight <= workers <= max_workers; queued bytes stay consistent;
// and at the end, once the clock has run past every timeout, nothing is
// held and no worker is left.
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "ipc/broker.h"
#include "tests/fuzz/frames.h"
#include "tests/fuzz/fuzz_targets.h"

namespace frameprint::fuzz {

namespace {

using namespace std::chrono_literals;
using Clock = Broker::Clock;
using mdp::Message;

constexpr uint64_t kRequestOverhead = 256;  // what the broker charges per request

const char* const kServices[] = {"frameprint.hash", "other", "mmi.service", "mmi.other"};
const char* const kIds[] = {R"("a")", R"("b")", "1", "[1]", R"({"x":1})", "null"};

std::string pick(const char* const* names, size_t count, uint8_t b) { return names[b % count]; }

BrokerConfig config_from(ByteReader& in) {
  BrokerConfig c;
  c.heartbeat = std::chrono::milliseconds(10 + in.byte() % 200);
  c.liveness = 1 + in.byte() % 4;
  c.max_queue = 1 + in.byte() % 8;
  c.max_queue_bytes = kRequestOverhead + uint64_t{in.byte()} * 64;
  c.max_deliveries = 1 + in.byte() % 4;
  c.request_ttl = std::chrono::seconds(1 + in.byte() % 10);
  c.no_worker_grace = std::chrono::seconds(in.byte() % 10);
  c.max_client_queue = 1 + in.byte() % 6;
  c.max_client_queue_bytes = kRequestOverhead + uint64_t{in.byte()} * 64;
  c.job_timeout = std::chrono::seconds(1 + in.byte() % 20);
  c.max_workers = 1 + in.byte() % 6;
  return c;
}

class Driver {
 public:
  Driver(BrokerConfig config, Clock::time_point start)
      : config_(config), broker_(config, start), now_(start) {}

  void step(ByteReader& in) {
    const uint8_t op = in.byte();
    switch (op % 12) {
      case 0: client_request(in); break;
      case 1: worker_says(in, mdp::worker_ready(pick(kServices, 4, in.byte()))); break;
      case 2: worker_reply(in); break;
      case 3: worker_says(in, mdp::worker_command(mdp::Command::kHeartbeat)); break;
      case 4: worker_says(in, mdp::worker_command(mdp::Command::kDisconnect)); break;
      case 5: backend(some_frames(in)); break;   // anything at all on the backend
      case 6: frontend(some_frames(in)); break;  // anything at all on the frontend
      case 7: {
        const uint8_t b = in.byte();
        // Mostly small steps around the heartbeat; some past every timeout.
        advance(b & 0x80 ? std::chrono::milliseconds(1000 * (b & 0x7F))
                         : std::chrono::milliseconds(5 * b));
        break;
      }
      case 8:
        broker_.drop_worker(worker_name(in.byte()));
        check();
        break;
      case 9:
        worker_says(in, mdp::worker_request("c0", {}));
        break;    // a worker may not send REQUEST
      case 10: {  // a client with a CURVE key, on a connection
        const uint8_t b = in.byte();
        client_request(in, std::string(1, static_cast<char>('K' + b % 3)), 1 + (b >> 2) % 4);
        break;
      }
      case 11: {  // a client connection closes
        const uint64_t connection = 1 + in.byte() % 4;
        std::erase_if(speakers_, [&](const auto& sp) { return sp.second.second == connection; });
        broker_.on_client_gone(connection);
        check();
        break;
      }
    }
  }

  // The clock runs past every timeout: whatever is still held is answered.
  void finish() {
    const auto longest = std::max(
        {std::chrono::duration_cast<Clock::duration>(config_.request_ttl),
         std::chrono::duration_cast<Clock::duration>(config_.job_timeout),
         std::chrono::duration_cast<Clock::duration>(config_.heartbeat * config_.liveness)});
    advance(longest + 1s);
    advance(1ms);  // requests requeued by the last tick's reaping expire now
    // Answers withheld from a closed or taken identity (those just made
    // above among them) are dropped request_ttl later.
    advance(std::chrono::duration_cast<Clock::duration>(config_.request_ttl) + 1s);
    const BrokerStats& s = broker_.stats();
    FUZZ_CHECK(s.queued == 0);
    FUZZ_CHECK(s.in_flight == 0);
    FUZZ_CHECK(s.workers == 0);
    FUZZ_CHECK(s.queued_bytes == 0);
    FUZZ_CHECK(s.withheld_now == 0);
    FUZZ_CHECK(s.received == answered_ + s.undelivered);
    int waiting = 0;
    for (const auto& [client, keys] : pending_)
      for (const auto& [key, n] : keys) waiting += n;
    FUZZ_CHECK(static_cast<uint64_t>(waiting) == s.undelivered);
  }

 private:
  static std::string client_name(uint8_t b) { return {'c', static_cast<char>('0' + b % 4)}; }
  static std::string worker_name(uint8_t b) { return {'w', static_cast<char>('0' + b % 5)}; }
  // A count byte, then that many frames (1..8) as read_frames writes them.
  static Message some_frames(ByteReader& in) { return read_frames(in, 1 + in.byte() % 8); }

  void client_request(ByteReader& in, const std::string& key = "", uint64_t connection = 0) {
    const std::string client = client_name(in.byte());
    const std::string service = pick(kServices, 4, in.byte());
    const uint8_t shape = in.byte();
    Message body;
    if (service == mdp::kServiceDiscovery) {
      if (shape & 1) body.push_back(mdp::frame_of(pick(kServices, 4, shape >> 1)));
    } else if (shape % 4 != 3) {  // a job header (with or without an id) and some bytes
      const std::string id =
          shape % 4 == 0 ? "" : std::string(R"("id":)") + pick(kIds, 6, shape >> 2) + ",";
      body.push_back(mdp::frame_of("{" + id + R"("name":"n"})"));
      body.push_back(mdp::frame_of(std::string(in.byte(), 'x')));
    }
    frontend(mdp::with_identity(client, mdp::client_message(service, std::move(body))), key,
             connection);
  }

  void worker_reply(ByteReader& in) {
    const std::string worker = worker_name(in.byte());
    const uint8_t shape = in.byte();
    const auto held = held_.find(worker);
    std::string client = client_name(shape);
    Message body;
    if (held != held_.end() && shape % 4 != 3) {
      client = held->second.client;
      if (shape % 4 == 0) body = mdp::share(held->second.body);  // the genuine answer
      else if (shape % 4 == 1) body.push_back(mdp::frame_of(R"({"id":"forged"})"));
    } else {
      body = some_frames(in);
    }
    worker_says(worker, mdp::worker_reply(client, std::move(body)));
  }

  void worker_says(ByteReader& in, Message m) { worker_says(worker_name(in.byte()), std::move(m)); }
  void worker_says(const std::string& worker, Message m) {
    backend(mdp::with_identity(worker, std::move(m)));
  }

  // `key`, `connection`: with CURVE (only well-formed messages are sent so).
  void frontend(Message frames, const std::string& key = "", uint64_t connection = 0) {
    const std::string client = frames.empty() ? "" : mdp::to_string(frames.front());
    for (const auto& f : frames) body_bytes_ += f.size();
    const uint64_t before = broker_.stats().received;
    const uint64_t malformed = broker_.stats().malformed;
    broker_.on_frontend(std::move(frames), now_, key, connection);
    if (!key.empty() && broker_.stats().malformed == malformed)
      speakers_[client] = {key, connection};
    const uint64_t accepted = broker_.stats().received - before;
    FUZZ_CHECK(accepted <= 1);
    if (accepted) ++pending_[client][key];
    // A client message is answered at once only when it is not accepted
    // (refused, or service discovery); an accepted one is answered later.
    check(accepted ? std::optional<std::string>() : std::optional<std::string>(client));
  }

  void backend(Message frames) {
    broker_.on_backend(std::move(frames), now_);
    check();
  }

  void advance(Clock::duration d) {
    now_ += d;
    broker_.on_tick(now_);
    check();
  }

  // Checks what the broker sent and its counters. `refused`: the client of
  // the frontend message just handled, when it was not accepted.
  void check(std::optional<std::string> refused = std::nullopt) {
    int refusals = 0;
    auto outgoing = broker_.take_outgoing();
    // The answer to the message just handled, if any, is the last one to a
    // client; replies released before it go to waiting requests.
    std::optional<size_t> refusal_at;
    if (refused)
      for (size_t i = 0; i < outgoing.size(); ++i)
        if (outgoing[i].side == Broker::Side::kFrontend) refusal_at = i;
    for (size_t i = 0; i < outgoing.size(); ++i) {
      auto& o = outgoing[i];
      Message frames = std::move(o.frames);
      std::string peer;
      try {
        peer = mdp::pop_identity(frames);
      } catch (const mdp::ProtocolError&) {
        FUZZ_FAIL("an outgoing message without a routing identity");
      }
      if (o.side == Broker::Side::kFrontend) {
        try {
          (void)mdp::parse_client(std::move(frames));
        } catch (const mdp::ProtocolError&) {
          FUZZ_FAIL("a malformed message to a client");
        }
        if (refusal_at == i) {
          FUZZ_CHECK(peer == *refused);
          ++refusals;
        } else {
          // An answer to a request of this identity: one without a key, or
          // one of the key that last spoke from it on an open connection.
          auto& mine = pending_[peer];
          const auto sp = speakers_.find(peer);
          if (sp != speakers_.end() && mine[sp->second.first] > 0) {
            --mine[sp->second.first];
          } else {
            FUZZ_CHECK(mine[""] > 0);  // an answer nobody here is waiting for
            --mine[""];
          }
          ++answered_;
        }
        continue;
      }
      mdp::WorkerMessage m;
      try {
        m = mdp::parse_worker(std::move(frames));
      } catch (const mdp::ProtocolError&) {
        FUZZ_FAIL("a malformed message to a worker");
      }
      FUZZ_CHECK(m.command == mdp::Command::kRequest || m.command == mdp::Command::kHeartbeat ||
                 m.command == mdp::Command::kDisconnect);
      if (m.command == mdp::Command::kRequest) {
        // An opaque token, never a client's routing identity.
        FUZZ_CHECK(m.client.size() >= 2 && m.client[0] == 'r' &&
                   std::all_of(m.client.begin() + 1, m.client.end(),
                               [](char ch) { return ch >= '0' && ch <= '9'; }));
        held_[peer] = {m.client, std::move(m.body)};
      }
    }
    FUZZ_CHECK(refusals <= 1);
    for (double latency : broker_.take_latencies()) FUZZ_CHECK(latency >= 0);

    const BrokerStats& s = broker_.stats();
    FUZZ_CHECK(s.received >= answered_ + s.undelivered);
    FUZZ_CHECK(s.received - answered_ - s.undelivered == s.queued + s.in_flight + s.withheld_now);
    FUZZ_CHECK(s.in_flight <= s.workers);
    FUZZ_CHECK(s.workers <= config_.max_workers);
    FUZZ_CHECK(s.queued_bytes >= s.queued * kRequestOverhead);
    FUZZ_CHECK(s.queued_bytes <= s.queued * kRequestOverhead + body_bytes_);
  }

  struct Held {
    std::string client;
    Message body;
  };

  BrokerConfig config_;
  Broker broker_;
  Clock::time_point now_;
  // Per client identity, per key ("" without CURVE): accepted, not yet answered.
  std::map<std::string, std::map<std::string, int>> pending_;
  // Per client identity: the key and connection it last spoke with (CURVE).
  std::map<std::string, std::pair<std::string, uint64_t>> speakers_;
  std::map<std::string, Held> held_;  // per worker: the last request sent to it
  uint64_t answered_ = 0;
  uint64_t body_bytes_ = 0;  // every byte sent to the frontend, a bound on what can be queued
};

}  // namespace

void broker(Input input) {
  ByteReader in(input);
  const Clock::time_point start = Clock::time_point{} + 24h;
  Driver d(config_from(in), start);
  for (int steps = 0; !in.empty() && steps < 512; ++steps) d.step(in);
  d.finish();
}

}  // namespace frameprint::fuzz

FRAMEPRINT_FUZZ_ENTRY(frameprint::fuzz::broker)
