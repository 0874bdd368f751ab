// The Majordomo broker as a state machine: messages and clock ticks in,
// messages to send out. No sockets here (broker_server.* adds them), so every
// rule below is unit-tested by driving it directly.
//
// Rules: requests queue per service (bounded, all services together, by
// count and by bytes with a fixed overhead per request: beyond either, the
// client gets an "overloaded" error at once) and go to idle
// workers in arrival order. The broker remembers which request each worker
// holds; when a worker dies (missed heartbeats) or disconnects mid-job, its
// request goes back to the front of the queue. A request delivered
// `max_deliveries` times without a reply is answered with a "poison" error
// instead of being tried again. Malformed messages are counted and dropped.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ipc/mdp.h"

namespace frameprint {

struct BrokerConfig {
  std::chrono::milliseconds heartbeat{2500};
  int liveness = 3;               // heartbeats missed before a peer is dead
  size_t max_queue = 10000;       // queued requests, all services together
  uint64_t max_queue_bytes = uint64_t{8} << 30;  // queued request bytes in all
  int max_deliveries = 3;         // then the request is poison
};

struct BrokerStats {
  uint64_t received = 0;    // client requests accepted into a queue
  uint64_t replied = 0;     // worker replies forwarded to clients
  uint64_t requeued = 0;    // requests put back after a worker died
  uint64_t poisoned = 0;
  uint64_t overloaded = 0;  // requests refused because the queue was full
  uint64_t malformed = 0;   // messages dropped as not following the protocol
  size_t queued = 0;        // waiting for a worker
  size_t in_flight = 0;     // held by a worker
  size_t workers = 0;       // registered and alive
  uint64_t queued_bytes = 0;
};

class Broker {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Side { kFrontend, kBackend };
  struct Outgoing {
    Side side;
    mdp::Message frames;  // starts with the peer's routing identity
  };

  explicit Broker(BrokerConfig config, Clock::time_point now = Clock::now());

  void on_frontend(mdp::Message frames, Clock::time_point now);  // from a client (ROUTER)
  void on_backend(mdp::Message frames, Clock::time_point now);   // from a worker (ROUTER)
  void on_tick(Clock::time_point now);  // heartbeats out, dead workers reaped
  // A worker connection the broker no longer trusts (its key was revoked):
  // forgotten, told to disconnect, its request requeued.
  void drop_worker(const std::string& identity);
  Clock::time_point next_tick() const { return next_heartbeat_; }

  std::vector<Outgoing> take_outgoing();
  // Seconds from a request's arrival to its reply, since the last call.
  std::vector<double> take_latencies();
  const BrokerStats& stats() const { return stats_; }

 private:
  struct Request {
    std::string client;  // routing identity on the frontend
    std::string service;
    mdp::Message body;
    uint64_t bytes = 0;
    int deliveries = 0;
    Clock::time_point received;
  };
  struct Worker {
    std::string service;
    Clock::time_point expiry;
    Clock::time_point last_heard;
    std::optional<uint64_t> job;
  };

  void handle_service_discovery(const std::string& client, mdp::ClientRequest& req);
  void reply_error(const std::string& client, const std::string& service, const mdp::Message& body,
                   std::string_view code, const std::string& message);
  void dispatch(const std::string& service);
  void remove_worker(const std::string& identity, bool send_disconnect);
  // Takes a worker out of every table; returns the request it held.
  std::optional<uint64_t> detach_worker(const std::string& identity, std::string& service);
  void requeue(uint64_t job, const std::string& service);
  void send_backend(const std::string& identity, mdp::Message frames);
  void send_frontend(const std::string& identity, mdp::Message frames);
  void refresh(Worker& w, Clock::time_point now);
  void finish_request(uint64_t id);

  BrokerConfig config_;
  uint64_t next_request_ = 1;
  std::unordered_map<uint64_t, Request> requests_;
  std::map<std::string, std::deque<uint64_t>> waiting_;   // per service
  std::unordered_map<std::string, Worker> workers_;
  std::map<std::string, std::deque<std::string>> idle_;  // per service, longest idle first
  Clock::time_point next_heartbeat_;
  Clock::time_point now_;
  std::vector<Outgoing> out_;
  std::vector<double> latencies_;
  BrokerStats stats_;
};

}  // namespace frameprint
