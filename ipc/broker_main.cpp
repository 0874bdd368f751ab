// frameprint-broker: the Majordomo broker between producers and workers.
#include <CLI/CLI.hpp>
#include <atomic>
#include <iostream>

#include <spdlog/spdlog.h>

#include "ipc/common/build_info.h"
#include "ipc/common/logging.h"

#include "ipc/broker_server.h"
#include "ipc/common/unique_fd.h"

int main(int argc, char** argv) {
  using namespace frameprint;
  BrokerServerConfig config;
  int heartbeat_ms = static_cast<int>(config.broker.heartbeat.count());
  bool verbose = false;
  CLI::App app{"frameprint-broker: routes hashing jobs from producers to workers (Majordomo, ZeroMQ RFC 7)"};
  app.set_version_flag("--version", [] { return version_text("frameprint-broker"); });
  app.add_option("--frontend", config.frontend, "Endpoint clients connect to")->capture_default_str();
  app.add_option("--backend", config.backend, "Endpoint workers connect to")->capture_default_str();
  app.add_option("--metrics", config.metrics, "Serve Prometheus metrics on HOST:PORT");
  app.add_option("--max-queue", config.broker.max_queue, "Requests queued per service; more are refused as overloaded")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-queue-bytes", config.broker.max_queue_bytes, "Bytes of queued requests in all")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-message-bytes", config.max_message_bytes, "Largest frame accepted")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--heartbeat-ms", heartbeat_ms, "Heartbeat interval; a peer is dead after 3 missed")
      ->check(CLI::Range(10, 600000))
      ->capture_default_str();
  app.add_flag("-v,--verbose", verbose, "Log every worker registration and drop");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  config.broker.heartbeat = std::chrono::milliseconds(heartbeat_ms);
  setup_logging("frameprint-broker", verbose, true);

  try {
    UniqueFd stop_fd = stop_signal_fd();
    zmq::context_t ctx;
    BrokerServer server(ctx, config);
    spdlog::info("frontend {} backend {}{}", server.frontend_endpoint(), server.backend_endpoint(),
                 config.metrics.empty() ? "" : " metrics http://" + config.metrics + "/metrics");
    std::atomic<bool> never{false};
    server.run(never, stop_fd.get());
    const BrokerStats s = server.stats();
    spdlog::info("stopping: {} received, {} done, {} requeued, {} poisoned, {} overloaded, {} malformed",
                 s.received, s.replied, s.requeued, s.poisoned, s.overloaded, s.malformed);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  return 0;
}
