#include "ipc/broker_server.h"

#include <cstring>
#include <poll.h>
#include <sys/signalfd.h>
#include <tuple>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <zmq_addon.hpp>

#include "ipc/common/log_limiter.h"
#include "ipc/connection_watch.h"
#include "ipc/metrics.h"

namespace frameprint {

namespace {

std::string last_endpoint(zmq::socket_t& s) { return s.get(zmq::sockopt::last_endpoint); }

}  // namespace

struct BrokerServer::Impl {
  BrokerServerConfig config;
  std::unique_ptr<curve::Authenticator> auth;  // before the sockets: it answers their handshakes
  zmq::socket_t frontend;
  zmq::socket_t backend;
  // libzmq's socket monitors. The frontend's: with CURVE, its
  // disconnections (so that replies wait for their key when its connection
  // has gone); both: handshakes that failed (a plaintext peer at a CURVE
  // socket or the reverse, a wrong broker key), logged and counted.
  zmq::socket_t monitor;
  zmq::socket_t backend_monitor;
  LogLimiter handshake_log;
  Broker broker;
  MetricsEndpoint metrics;
  prometheus::Counter& received;
  prometheus::Counter& replied;
  prometheus::Counter& requeued;
  prometheus::Counter& poisoned;
  prometheus::Counter& overloaded;
  prometheus::Counter& malformed;
  prometheus::Gauge& queue_depth;
  prometheus::Gauge& workers;
  prometheus::Gauge& in_flight;
  prometheus::Histogram& latency;
  prometheus::Counter& refused;
  prometheus::Counter& revoked;
  prometheus::Counter& expired;
  prometheus::Counter& no_workers;
  prometheus::Counter& forged;
  prometheus::Counter& job_timeouts;
  prometheus::Counter& workers_refused;
  prometheus::Counter& takeovers;
  prometheus::Counter& withheld;
  prometheus::Counter& undelivered;
  BrokerStats reported;
  uint64_t refused_reported = 0;
  prometheus::Counter& handshakes_failed;

  Impl(zmq::context_t& ctx, BrokerServerConfig c)
      : config(std::move(c)),
        auth(config.keys.secret_key.empty() ? nullptr
                                            : std::make_unique<curve::Authenticator>(ctx)),
        frontend(ctx, zmq::socket_type::router),
        backend(ctx, zmq::socket_type::router),
        monitor(ctx, zmq::socket_type::pair),
        backend_monitor(ctx, zmq::socket_type::pair),
        broker(config.broker),
        metrics(config.metrics),
        received(metrics.counter("frameprint_broker_jobs_received_total",
                                 "Client requests accepted into a queue")),
        replied(metrics.counter("frameprint_broker_jobs_done_total",
                                "Worker replies forwarded to clients")),
        requeued(metrics.counter("frameprint_broker_jobs_requeued_total",
                                 "Requests put back after their worker died")),
        poisoned(metrics.counter("frameprint_broker_jobs_poisoned_total",
                                 "Requests answered as poison")),
        overloaded(metrics.counter("frameprint_broker_jobs_overloaded_total",
                                   "Requests refused: queue full")),
        malformed(metrics.counter("frameprint_broker_messages_malformed_total",
                                  "Messages dropped as malformed")),
        queue_depth(
            metrics.gauge("frameprint_broker_queue_depth", "Requests waiting for a worker")),
        workers(
            metrics.gauge("frameprint_broker_workers_alive", "Registered live worker connections")),
        in_flight(metrics.gauge("frameprint_broker_jobs_in_flight", "Requests held by workers")),
        latency(metrics.histogram("frameprint_broker_job_latency_seconds",
                                  "Arrival to reply, per job", latency_buckets())),
        refused(metrics.counter("frameprint_broker_connections_refused_total",
                                "CURVE handshakes refused: key not in the allow-list")),
        revoked(
            metrics.counter("frameprint_broker_messages_revoked_total",
                            "Messages dropped: the sender's key was removed from the allow-list")),
        expired(metrics.counter("frameprint_broker_jobs_expired_total",
                                "Requests that waited past --request-ttl")),
        no_workers(metrics.counter("frameprint_broker_jobs_no_workers_total",
                                   "Requests refused: no worker for the service")),
        forged(metrics.counter("frameprint_broker_replies_forged_total",
                               "Replies dropped: not the id of the request the worker held")),
        job_timeouts(metrics.counter("frameprint_broker_worker_job_timeouts_total",
                                     "Workers dropped for holding a request past --job-timeout")),
        workers_refused(metrics.counter("frameprint_broker_workers_refused_total",
                                        "Worker registrations refused past --max-workers")),
        takeovers(metrics.counter(
            "frameprint_broker_identity_takeovers_total",
            "Client routing identities spoken from by another CURVE key than before")),
        withheld(metrics.counter("frameprint_broker_replies_withheld_total",
                                 "Replies held back: their identity was not (yet) their key's")),
        undelivered(metrics.counter("frameprint_broker_replies_undelivered_total",
                                    "Withheld replies dropped after --request-ttl")),
        handshakes_failed(metrics.counter(
            "frameprint_broker_handshakes_failed_total",
            "Connections whose handshake failed or that closed during it: plaintext at a CURVE "
            "socket or the reverse, a wrong broker key, port probes (keys not allowed: "
            "connections_refused_total)")) {
    if (auth) {
      load_lists();
      for (auto [s, domain] : {std::pair{&frontend, kClients}, {&backend, kWorkers}}) {
        s->set(zmq::sockopt::curve_server, 1);
        s->set(zmq::sockopt::curve_secretkey, config.keys.secret_key);
        s->set(zmq::sockopt::zap_domain, domain);
      }
    }
    for (auto* s : {&frontend, &backend}) {
      s->set(zmq::sockopt::linger, 0);
      s->set(zmq::sockopt::maxmsgsize, config.max_message_bytes);
      // Bounded pipes: a peer that does not read its replies loses them
      // (ROUTER drops at the mark) instead of growing the broker, and a
      // flood waits in TCP instead of in our memory.
      s->set(zmq::sockopt::sndhwm, config.send_hwm);
      s->set(zmq::sockopt::rcvhwm, config.send_hwm);
    }
    // Without CURVE a producer that reconnects (same routing identity) takes
    // its old identity over, so replies to its jobs in flight still reach
    // it. With CURVE, no: libzmq hands an identity over before the broker
    // sees any key, so any allowed key could take another's replies. An
    // identity is free again once its connection closes (at once on a
    // clean close, else after the TCP heartbeat below), and replies wait
    // for their own key to speak from it (Broker::answer).
    frontend.set(zmq::sockopt::router_handover, auth ? 0 : 1);
    frontend.set(zmq::sockopt::heartbeat_ivl, 5000);
    frontend.set(zmq::sockopt::heartbeat_timeout, 15000);
    constexpr int kFailed =
        ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
    for (auto [s, watch, events] :
         {std::tuple{&frontend, &monitor, kFailed | (auth ? ZMQ_EVENT_DISCONNECTED : 0)},
          std::tuple{&backend, &backend_monitor, kFailed}}) {
      const std::string address = "inproc://frameprint-broker-monitor-" +
                                  std::to_string(reinterpret_cast<uintptr_t>(watch));
      if (zmq_socket_monitor(s->handle(), address.c_str(), events) != 0) throw zmq::error_t();
      watch->set(zmq::sockopt::linger, 0);
      watch->connect(address);
    }
    frontend.bind(config.frontend);
    backend.bind(config.backend);
  }

  static constexpr const char* kClients = "clients";
  static constexpr const char* kWorkers = "workers";

  void load_lists() {
    auth->load(kClients, config.allow_clients);
    auth->load(kWorkers, config.allow_workers);
    spdlog::info("CURVE: {} client and {} worker keys allowed", auth->size(kClients),
                 auth->size(kWorkers));
  }

  // With CURVE every message carries the key it was authenticated with;
  // drop messages whose key is no longer allowed (revoked since).
  bool trusted(const mdp::Message& frames, const char* domain) {
    if (!auth) return true;
    const char* user = frames.size() >= 2 ? zmq_msg_gets(frames[1].handle(), "User-Id") : nullptr;
    if (user && auth->allowed(domain, user)) return true;
    revoked.Increment();
    return false;
  }

  void flush() {
    for (auto& o : broker.take_outgoing()) {
      auto& s = o.side == Broker::Side::kFrontend ? frontend : backend;
      // A ROUTER drops messages for peers that are gone; that is fine here.
      (void)zmq::send_multipart(s, o.frames, zmq::send_flags::dontwait);
    }
    for (double l : broker.take_latencies()) latency.Observe(l);
    const BrokerStats& s = broker.stats();
    received.Increment(static_cast<double>(s.received - reported.received));
    replied.Increment(static_cast<double>(s.replied - reported.replied));
    requeued.Increment(static_cast<double>(s.requeued - reported.requeued));
    poisoned.Increment(static_cast<double>(s.poisoned - reported.poisoned));
    overloaded.Increment(static_cast<double>(s.overloaded - reported.overloaded));
    malformed.Increment(static_cast<double>(s.malformed - reported.malformed));
    expired.Increment(static_cast<double>(s.expired - reported.expired));
    no_workers.Increment(static_cast<double>(s.no_workers - reported.no_workers));
    forged.Increment(static_cast<double>(s.forged - reported.forged));
    job_timeouts.Increment(static_cast<double>(s.job_timeouts - reported.job_timeouts));
    workers_refused.Increment(static_cast<double>(s.workers_refused - reported.workers_refused));
    takeovers.Increment(static_cast<double>(s.takeovers - reported.takeovers));
    withheld.Increment(static_cast<double>(s.withheld - reported.withheld));
    undelivered.Increment(static_cast<double>(s.undelivered - reported.undelivered));
    queue_depth.Set(static_cast<double>(s.queued));
    if (auth) {
      refused.Increment(static_cast<double>(auth->refused() - refused_reported));
      refused_reported = auth->refused();
    }
    workers.Set(static_cast<double>(s.workers));
    in_flight.Set(static_cast<double>(s.in_flight));
    reported = s;
  }

  // What a monitor saw since the last call: client connections closed,
  // handshakes failed.
  void drain_monitor(zmq::socket_t& watch, const char* side) {
    while (const auto event = next_monitor_event(watch)) {
      const uint16_t id = event->id;
      const uint32_t value = event->value;  // the fd, or the protocol error
      if (id == ZMQ_EVENT_DISCONNECTED) {
        broker.on_client_gone(value);
        continue;
      }
      handshakes_failed.Increment();
      uint64_t held_back = 0;
      if (!handshake_log.allow(std::chrono::steady_clock::now(), held_back)) continue;
      const std::string why = id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                                  ? fmt::format("ZMTP protocol error 0x{:x}", value)
                                  : std::string("the peer closed the connection during it");
      spdlog::warn("a {} connection failed its handshake ({}): {}{}", side, why,
                   auth ? "a plaintext peer, one without this broker's public key, or a probe"
                        : "a CURVE peer at this plaintext broker, or a probe",
                   held_back ? fmt::format(" ({} more not logged)", held_back) : std::string());
    }
  }

  // Reads every message waiting on a socket (bounded per round, so one busy
  // side cannot starve the other).
  template <typename Fn>
  void drain(zmq::socket_t& s, Fn&& feed) {
    for (int n = 0; n < 1024; ++n) {
      mdp::Message frames;
      zmq::recv_result_t r;
      try {
        r = zmq::recv_multipart(s, std::back_inserter(frames), zmq::recv_flags::dontwait);
      } catch (const zmq::error_t& e) {
        spdlog::warn("broker: receive failed: {}", e.what());
        return;
      }
      if (!r) return;
      feed(std::move(frames));
    }
  }
};

BrokerServer::BrokerServer(zmq::context_t& ctx, BrokerServerConfig config)
    : impl_(std::make_unique<Impl>(ctx, std::move(config))) {}

BrokerServer::~BrokerServer() = default;

std::string BrokerServer::frontend_endpoint() const { return last_endpoint(impl_->frontend); }
std::string BrokerServer::backend_endpoint() const { return last_endpoint(impl_->backend); }
BrokerStats BrokerServer::stats() const { return impl_->broker.stats(); }

bool BrokerServer::reload() {
  if (!impl_->auth) return true;
  try {
    impl_->load_lists();
    return true;
  } catch (const std::exception& e) {
    spdlog::error("allow-list reload failed, keeping the previous lists: {}", e.what());
    return false;
  }
}

void BrokerServer::run(const std::atomic<bool>& stop, int stop_fd, int reload_fd) {
  Impl& m = *impl_;
  while (!stop.load(std::memory_order_relaxed)) {
    std::vector<zmq::pollitem_t> items = {{m.frontend.handle(), 0, ZMQ_POLLIN, 0},
                                          {m.backend.handle(), 0, ZMQ_POLLIN, 0},
                                          {nullptr, stop_fd, ZMQ_POLLIN, 0},
                                          {nullptr, reload_fd, ZMQ_POLLIN, 0}};
    if (m.auth) items.push_back({m.auth->socket().handle(), 0, ZMQ_POLLIN, 0});
    items.push_back({m.monitor.handle(), 0, ZMQ_POLLIN, 0});
    items.push_back({m.backend_monitor.handle(), 0, ZMQ_POLLIN, 0});
    const auto now = Broker::Clock::now();
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(m.broker.next_tick() - now);
    wait = std::clamp(wait, std::chrono::milliseconds(0), std::chrono::milliseconds(100));
    zmq::poll(items, wait);  // a negative fd is ignored by poll
    if (stop_fd >= 0 && (items[2].revents & ZMQ_POLLIN)) break;
    if (reload_fd >= 0 && (items[3].revents & ZMQ_POLLIN)) {
      signalfd_siginfo info;
      (void)!::read(reload_fd, &info, sizeof info);
      reload();
    }
    if (m.auth && (items[4].revents & ZMQ_POLLIN)) m.auth->serve();
    // Closed connections first, so that no reply below goes to an identity
    // whose connection has gone.
    m.drain_monitor(m.monitor, "client");
    m.drain_monitor(m.backend_monitor, "worker");
    if (items[0].revents & ZMQ_POLLIN)
      m.drain(m.frontend, [&](mdp::Message f) {
        if (!m.trusted(f, Impl::kClients)) return;
        // With CURVE, a client is its key, however many sockets it opens.
        std::string key;
        uint64_t connection = 0;
        if (m.auth && f.size() >= 2) {
          if (const char* user = zmq_msg_gets(f[1].handle(), "User-Id")) key = user;
          // The connection it came on, to match the monitor's disconnections.
          const int fd = zmq_msg_get(f[1].handle(), ZMQ_SRCFD);
          if (fd >= 0) connection = static_cast<uint64_t>(fd);
        }
        m.broker.on_frontend(std::move(f), Broker::Clock::now(), key, connection);
      });
    if (items[1].revents & ZMQ_POLLIN)
      m.drain(m.backend, [&](mdp::Message f) {
        if (m.trusted(f, Impl::kWorkers)) m.broker.on_backend(std::move(f), Broker::Clock::now());
        else if (!f.empty()) m.broker.drop_worker(f[0].to_string());
      });
    m.broker.on_tick(Broker::Clock::now());
    m.flush();
  }
}

}  // namespace frameprint
