// frameprint-broker: the Majordomo broker between producers and workers.
#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>

#include <spdlog/spdlog.h>

#include "ipc/common/build_info.h"
#include "ipc/common/guarded_main.h"
#include "ipc/common/logging.h"

#include "ipc/broker_server.h"
#include "ipc/common/unique_fd.h"
#include "ipc/curve.h"

namespace {
int run_main(int argc, char** argv) {
  using namespace frameprint;
  BrokerServerConfig config;
  int heartbeat_ms = static_cast<int>(config.broker.heartbeat.count());
  bool verbose = false, insecure = false;
  std::string curve_key;
  CLI::App app{
      "frameprint-broker: routes hashing jobs from producers to workers (Majordomo, ZeroMQ RFC 7)"};
  app.set_version_flag("--version", [] { return version_text("frameprint-broker"); });
  app.add_option("--frontend", config.frontend, "Endpoint clients connect to")
      ->capture_default_str();
  app.add_option("--backend", config.backend, "Endpoint workers connect to")->capture_default_str();
  app.add_option("--metrics", config.metrics, "Serve Prometheus metrics on HOST:PORT");
  app.add_option("--max-queue", config.broker.max_queue,
                 "Requests queued per service; more are refused as overloaded")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-queue-bytes", config.broker.max_queue_bytes,
                 "Bytes of queued requests in all")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-message-bytes", config.max_message_bytes, "Largest frame accepted")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  int64_t ttl_s = config.broker.request_ttl.count(),
          grace_s = config.broker.no_worker_grace.count(),
          job_timeout_s = config.broker.job_timeout.count();
  app.add_option("--max-client-queue", config.broker.max_client_queue,
                 "Requests one client may have queued")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-client-queue-bytes", config.broker.max_client_queue_bytes,
                 "Bytes one client may have queued")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--request-ttl", ttl_s,
                 "Seconds a request may wait for a worker; then it is answered 'expired'")
      ->check(CLI::Range(1, 86400 * 7))
      ->capture_default_str();
  app.add_option(
         "--no-worker-grace", grace_s,
         "Seconds a service may have no worker before its requests are answered 'no_workers'")
      ->check(CLI::Range(0, 86400))
      ->capture_default_str();
  app.add_option("--job-timeout", job_timeout_s,
                 "Seconds a worker may hold a request; then it is dropped and the request requeued")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  app.add_option("--max-workers", config.broker.max_workers,
                 "Worker connections registered at once")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--heartbeat-ms", heartbeat_ms,
                 "Heartbeat interval; a peer is dead after 3 missed")
      ->check(CLI::Range(10, 600000))
      ->capture_default_str();
  app.add_option("--curve-key", curve_key,
                 "The broker's CURVE secret key file (frameprint keygen): encrypt and authenticate "
                 "every connection");
  app.add_option("--allow-clients", config.allow_clients,
                 "Directory of client public keys (.pub) allowed in; reloaded on SIGHUP");
  app.add_option("--allow-workers", config.allow_workers,
                 "Directory of worker public keys (.pub) allowed in; reloaded on SIGHUP");
  app.add_flag("--insecure", insecure,
               "Without --curve-key, bind non-loopback endpoints in plaintext anyway");
  app.add_flag("-v,--verbose", verbose, "Log every worker registration and drop");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  config.broker.heartbeat = std::chrono::milliseconds(heartbeat_ms);
  config.broker.request_ttl = std::chrono::seconds(ttl_s);
  config.broker.no_worker_grace = std::chrono::seconds(grace_s);
  config.broker.job_timeout = std::chrono::seconds(job_timeout_s);
  setup_logging("frameprint-broker", verbose, true);

  try {
    if (!curve_key.empty()) {
      if (config.allow_clients.empty() || config.allow_workers.empty())
        throw std::invalid_argument("--curve-key needs --allow-clients and --allow-workers");
      config.keys = curve::read_file(curve_key);
      if (config.keys.secret_key.empty())
        throw std::invalid_argument(curve_key + ": has no secret-key (give the .key file)");
    } else if (!config.allow_clients.empty() || !config.allow_workers.empty()) {
      throw std::invalid_argument("--allow-clients and --allow-workers need --curve-key");
    }
    for (const auto& e : {config.frontend, config.backend})
      curve::check_exposure(e, !curve_key.empty(), insecure);
    if (curve_key.empty())
      spdlog::warn("no --curve-key: the pool is neither encrypted nor authenticated{}",
                   insecure ? " (--insecure)" : "; binding loopback only");
    raise_fd_limit();  // many idle connections must not starve accept()
    UniqueFd stop_fd = stop_signal_fd();
    UniqueFd reload_fd = signal_fd({SIGHUP});
    zmq::context_t ctx;
    BrokerServer server(ctx, config);
    spdlog::info("frontend {} backend {}{}", server.frontend_endpoint(), server.backend_endpoint(),
                 config.metrics.empty() ? "" : " metrics http://" + config.metrics + "/metrics");
    std::atomic<bool> never{false};
    server.run(never, stop_fd.get(), reload_fd.get());
    const BrokerStats s = server.stats();
    spdlog::info(
        "stopping: {} received, {} done, {} requeued, {} poisoned, {} overloaded, {} malformed",
        s.received, s.replied, s.requeued, s.poisoned, s.overloaded, s.malformed);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  return 0;
}
}  // namespace

int main(int argc, char** argv) { return frameprint::guarded_main(argc, argv, run_main); }
