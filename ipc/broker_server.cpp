#include "ipc/broker_server.h"

#include <poll.h>

#include <spdlog/spdlog.h>
#include <zmq_addon.hpp>

#include "ipc/metrics.h"

namespace frameprint {

namespace {

std::string last_endpoint(zmq::socket_t& s) { return s.get(zmq::sockopt::last_endpoint); }

}  // namespace

struct BrokerServer::Impl {
  BrokerServerConfig config;
  zmq::socket_t frontend;
  zmq::socket_t backend;
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
  BrokerStats reported;

  Impl(zmq::context_t& ctx, BrokerServerConfig c)
      : config(std::move(c)),
        frontend(ctx, zmq::socket_type::router),
        backend(ctx, zmq::socket_type::router),
        broker(config.broker),
        metrics(config.metrics),
        received(metrics.counter("frameprint_broker_jobs_received_total", "Client requests accepted into a queue")),
        replied(metrics.counter("frameprint_broker_jobs_done_total", "Worker replies forwarded to clients")),
        requeued(metrics.counter("frameprint_broker_jobs_requeued_total", "Requests put back after their worker died")),
        poisoned(metrics.counter("frameprint_broker_jobs_poisoned_total", "Requests answered as poison")),
        overloaded(metrics.counter("frameprint_broker_jobs_overloaded_total", "Requests refused: queue full")),
        malformed(metrics.counter("frameprint_broker_messages_malformed_total", "Messages dropped as malformed")),
        queue_depth(metrics.gauge("frameprint_broker_queue_depth", "Requests waiting for a worker")),
        workers(metrics.gauge("frameprint_broker_workers_alive", "Registered live worker connections")),
        in_flight(metrics.gauge("frameprint_broker_jobs_in_flight", "Requests held by workers")),
        latency(metrics.histogram("frameprint_broker_job_latency_seconds", "Arrival to reply, per job",
                                  latency_buckets())) {
    for (auto* s : {&frontend, &backend}) {
      s->set(zmq::sockopt::linger, 0);
      s->set(zmq::sockopt::maxmsgsize, config.max_message_bytes);
      s->set(zmq::sockopt::sndhwm, 0);  // the broker bounds its own queue
      s->set(zmq::sockopt::rcvhwm, 0);
    }
    // A producer that reconnects (same routing identity) takes its old
    // identity over, so replies to its jobs in flight still reach it.
    frontend.set(zmq::sockopt::router_handover, 1);
    frontend.bind(config.frontend);
    backend.bind(config.backend);
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
    queue_depth.Set(static_cast<double>(s.queued));
    workers.Set(static_cast<double>(s.workers));
    in_flight.Set(static_cast<double>(s.in_flight));
    reported = s;
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

void BrokerServer::run(const std::atomic<bool>& stop, int stop_fd) {
  Impl& m = *impl_;
  while (!stop.load(std::memory_order_relaxed)) {
    std::vector<zmq::pollitem_t> items = {{m.frontend.handle(), 0, ZMQ_POLLIN, 0},
                                          {m.backend.handle(), 0, ZMQ_POLLIN, 0}};
    if (stop_fd >= 0) items.push_back({nullptr, stop_fd, ZMQ_POLLIN, 0});
    const auto now = Broker::Clock::now();
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(m.broker.next_tick() - now);
    wait = std::clamp(wait, std::chrono::milliseconds(0), std::chrono::milliseconds(100));
    zmq::poll(items, wait);
    if (stop_fd >= 0 && (items[2].revents & ZMQ_POLLIN)) break;
    if (items[0].revents & ZMQ_POLLIN)
      m.drain(m.frontend, [&](mdp::Message f) { m.broker.on_frontend(std::move(f), Broker::Clock::now()); });
    if (items[1].revents & ZMQ_POLLIN)
      m.drain(m.backend, [&](mdp::Message f) { m.broker.on_backend(std::move(f), Broker::Clock::now()); });
    m.broker.on_tick(Broker::Clock::now());
    m.flush();
  }
}

}  // namespace frameprint
