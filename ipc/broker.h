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
//
// Limits a peer cannot talk its way around (each refusal is counted):
// a request waits at most `request_ttl` ("expired"); requests for a service
// that has had no worker for `no_worker_grace` are answered "no_workers"; a
// client may queue at most `max_client_queue` requests and
// `max_client_queue_bytes` ("overloaded"); a worker holding a request longer
// than `job_timeout` is dropped and the request requeued; a reply must carry
// the id of the request its worker holds, else it is dropped as forged and
// the worker with it; at most `max_workers` worker connections register.
//
// With CURVE (a key with every client message) a reply goes only to a
// routing identity whose last message came with the key that submitted the
// request, on a connection still open. A reply for an identity that has
// gone, or that another key has spoken from since, is withheld until the
// owner's key speaks from it again (then delivered), or until request_ttl
// (then dropped). Workers never see a client's routing identity: a
// request reaches them with an opaque token in its place.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ipc/common/log_limiter.h"
#include "ipc/mdp.h"

namespace frameprint {

struct BrokerConfig {
  std::chrono::milliseconds heartbeat{2500};
  int liveness = 3;                              // heartbeats missed before a peer is dead
  size_t max_queue = 10000;                      // queued requests, all services together
  uint64_t max_queue_bytes = uint64_t{2} << 30;  // queued request bytes in all
  int max_deliveries = 3;                        // then the request is poison
  std::chrono::seconds request_ttl{600};
  std::chrono::seconds no_worker_grace{30};
  size_t max_client_queue = 1000;
  uint64_t max_client_queue_bytes = uint64_t{512} << 20;
  std::chrono::seconds job_timeout{900};
  size_t max_workers = 4096;
};

struct BrokerStats {
  uint64_t received = 0;  // client requests accepted into a queue
  uint64_t replied = 0;   // worker replies forwarded to clients
  uint64_t requeued = 0;  // requests put back after a worker died
  uint64_t poisoned = 0;
  uint64_t overloaded = 0;       // requests refused because the queue was full
  uint64_t malformed = 0;        // messages dropped as not following the protocol
  uint64_t expired = 0;          // requests that waited longer than request_ttl
  uint64_t no_workers = 0;       // requests refused: no worker for the service
  uint64_t forged = 0;           // replies whose id was not the request's
  uint64_t job_timeouts = 0;     // workers dropped for holding a request too long
  uint64_t workers_refused = 0;  // READY beyond max_workers
  uint64_t takeovers = 0;        // a key spoke from an identity another key's replies wait for
  uint64_t withheld = 0;         // replies held back: their identity was not the owner's
  uint64_t undelivered = 0;      // withheld replies dropped after request_ttl (or past max_queue)
  size_t queued = 0;             // waiting for a worker
  size_t in_flight = 0;          // held by a worker
  size_t withheld_now = 0;       // replies withheld, waiting for their key
  size_t workers = 0;            // registered and alive
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

  // From a client (ROUTER). `key`: the CURVE key it authenticated with
  // (empty without CURVE): a client's share of the queue is its key's,
  // whatever routing identities it connects with, and its replies go only
  // to an identity that key speaks from. `connection`: which connection
  // the message came on (any number unique among open ones, e.g. its fd).
  void on_frontend(mdp::Message frames, Clock::time_point now, std::string_view key = {},
                   uint64_t connection = 0);
  // A client connection closed: replies for identities last heard on it
  // wait until their key speaks again.
  void on_client_gone(uint64_t connection);
  void on_backend(mdp::Message frames, Clock::time_point now);  // from a worker (ROUTER)
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
    std::string owner;   // whose share it counts in: "key:" + its CURVE key, else `client`
    std::string service;
    mdp::Message body;
    uint64_t bytes = 0;
    int deliveries = 0;
    Clock::time_point received;
    std::string job_id;  // the header's "id" as JSON text; "" when it has none
    std::string key;     // the CURVE key it came with ("" without CURVE)
  };
  // Who spoke last from a routing identity (with CURVE only).
  struct Holder {
    std::string key;
    uint64_t connection = 0;
  };
  struct Held {
    std::string key;
    std::string service;
    mdp::Message body;
    Clock::time_point until;
  };
  struct Worker {
    std::string service;
    Clock::time_point expiry;
    Clock::time_point last_heard;
    std::optional<uint64_t> job;
    Clock::time_point job_since;
  };
  struct ClientUse {
    size_t queued = 0;
    uint64_t bytes = 0;
  };

  void handle_service_discovery(const std::string& client, mdp::ClientRequest& req);
  void reply_error(const std::string& client, const std::string& service, const mdp::Message& body,
                   std::string_view code, const std::string& message);
  // A request's answer (a worker's reply or an error), to its owner only.
  void answer(const Request& r, mdp::Message body);
  void heard_client(const std::string& client, const std::string& key, uint64_t connection);
  void expire_held(Clock::time_point now);
  void dispatch(const std::string& service);
  void remove_worker(const std::string& identity, bool send_disconnect);
  // Takes a worker out of every table; returns the request it held.
  std::optional<uint64_t> detach_worker(const std::string& identity, std::string& service);
  void requeue(uint64_t job, const std::string& service);
  void send_backend(const std::string& identity, mdp::Message frames);
  void send_frontend(const std::string& identity, mdp::Message frames);
  void refresh(Worker& w, Clock::time_point now);
  void finish_request(uint64_t id);
  void queued_add(const Request& r);  // per-client and total accounting
  void queued_remove(const Request& r);
  bool has_workers(const std::string& service) const;
  bool past_grace(const std::string& service) const;
  void expire_and_refuse(Clock::time_point now);
  void drop_stuck_workers(Clock::time_point now);
  bool forged_reply(const Request& r, const mdp::Message& body) const;

  BrokerConfig config_;
  uint64_t next_request_ = 1;
  std::unordered_map<uint64_t, Request> requests_;
  std::map<std::string, std::deque<uint64_t>> waiting_;  // per service
  std::unordered_map<std::string, Worker> workers_;
  std::map<std::string, std::deque<std::string>> idle_;     // per service, longest idle first
  std::unordered_map<std::string, ClientUse> clients_;      // queued per owner (none: erased)
  std::unordered_map<std::string, Holder> holders_;         // per client routing identity
  std::unordered_map<std::string, std::deque<Held>> held_;  // withheld replies per identity
  LogLimiter takeover_log_;
  std::map<std::string, Clock::time_point>
      last_worker_;  // per service: when one was last registered
  Clock::time_point started_;
  LogLimiter malformed_log_;
  Clock::time_point next_heartbeat_;
  Clock::time_point now_;
  std::vector<Outgoing> out_;
  std::vector<double> latencies_;
  BrokerStats stats_;
};

}  // namespace frameprint
