#include "worker/cli/serve_command.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <map>
#include <memory>
#include <thread>

#include <spdlog/spdlog.h>

#include "ipc/common/unique_fd.h"
#include "ipc/curve.h"
#include "ipc/jetstream.h"
#include "ipc/metrics.h"
#include "worker/matching/match_options.h"
#include "worker/media/device.h"
#include "worker/options/program_options.h"
#include "worker/pool/hash_slot.h"
#include "worker/serve/http_server.h"
#include "worker/serve/lookup_service.h"
#include "worker/serve/media_hashing.h"
#include "worker/serve/tokens.h"
#include "worker/serve/url_fetcher.h"

namespace frameprint::cli {

namespace {

using namespace frameprint::serve;

struct ServeCommand {
  std::string listen = "127.0.0.1:8080";
  std::string token_file;
  std::string broker;
  options::NatsOptions nats;
  std::string producer;  // NATS: this server's producer name
  int64_t max_job_bytes = (8 << 20) + 65536;
  options::TransportOptions transport;
  MatchOptions match;
  HashOptions hash_options;  // what every request is hashed with
  std::string device = "auto";
  SandboxSettings sandbox;
  int slots = 2;
  size_t queue = 16;
  int threads = 16;
  uint64_t max_bytes = uint64_t{100} << 20;
  unsigned max_connections = 1024;
  unsigned max_connections_per_ip = 128;
  double request_timeout_s = 120;
  size_t max_compare_frames = 20000;
  UrlFetchOptions url_fetch;
  double pool_timeout_s = 120;
  int pool_retries = 2;
  std::string metrics;

  int run();
};

// "HOST:PORT" or "[V6]:PORT". Throws std::invalid_argument.
std::pair<std::string, int> host_port(const std::string& s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw std::invalid_argument("--listen takes HOST:PORT, not " + s);
  std::string host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port = -1;
  try {
    port = std::stoi(s.substr(colon + 1));
  } catch (const std::exception&) {
  }
  if (port < 0 || port > 65535) throw std::invalid_argument("--listen: bad port in " + s);
  return {host, port};
}

std::shared_ptr<const TokenSet> load_tokens(const std::string& file) {
  if (file.empty()) return nullptr;
  return std::make_shared<const TokenSet>(TokenSet::load(file));
}

// The lists in use as metrics: entries per list and type, when they were
// loaded, and reloads that failed (so that monitoring sees a SIGHUP that
// kept the old lists).
class ListMetrics {
 public:
  explicit ListMetrics(MetricsEndpoint& m)
      : entries_(prometheus::BuildGauge()
                     .Name("frameprint_serve_list_entries")
                     .Help("hashes in each list in use, by type (videos for vpdq)")
                     .Register(m.registry())),
        loaded_at_(m.gauge("frameprint_serve_lists_loaded_timestamp_seconds",
                           "when the lists in use were loaded (unix time)")),
        failed_(m.counter("frameprint_serve_list_reload_failures_total",
                          "reloads (SIGHUP) that failed and kept the lists loaded before")),
        failing_(m.gauge("frameprint_serve_list_reload_failing",
                         "1 while the last reload failed, else 0")) {}

  void update(const LookupService& lookups, bool failed) {
    if (failed) failed_.Increment();
    const auto reloads = lookups.reloads();
    failing_.Set(reloads.last_error.empty() ? 0 : 1);
    loaded_at_.Set(static_cast<double>(std::max<int64_t>(0, reloads.loaded_at)));
    for (auto& [key, gauge] : set_) gauge->Set(0);  // a list or type gone since: 0, not stale
    for (const ListStats& list : lookups.list_stats())
      for (const auto& [type, n] : list.entries) {
        const std::string type_name(list_type_name(type));
        auto& gauge = set_[{list.name, type_name}];
        if (!gauge) gauge = &entries_.Add({{"list", list.name}, {"type", type_name}});
        gauge->Set(static_cast<double>(n));
      }
  }

 private:
  prometheus::Family<prometheus::Gauge>& entries_;
  std::map<std::pair<std::string, std::string>, prometheus::Gauge*> set_;
  prometheus::Gauge& loaded_at_;
  prometheus::Counter& failed_;
  prometheus::Gauge& failing_;
};

// SIGHUP: the lists and the tokens again; what fails to load keeps the old.
void reload(const ServeCommand& cmd, LookupService& lookups, TokenGate& tokens,
            ListMetrics& list_metrics) {
  try {
    if (!cmd.match.lists.empty()) {
      lookups.replace(load_matcher(cmd.match));
      list_metrics.update(lookups, false);
      spdlog::info("reloaded the lists");
    }
  } catch (const std::exception& e) {
    spdlog::error("reload: {}; keeping the lists loaded before", e.what());
    lookups.reload_failed(e.what());
    list_metrics.update(lookups, true);
  }
  try {
    if (!cmd.token_file.empty()) {
      tokens.replace(load_tokens(cmd.token_file));
      spdlog::info("reloaded the tokens");
    }
  } catch (const std::exception& e) {
    spdlog::error("reload: {}; keeping the tokens loaded before", e.what());
  }
}

int ServeCommand::run() {
  // Signals become fds before any thread starts, so that every thread
  // inherits them blocked.
  UniqueFd stop_fd = stop_signal_fd();
  UniqueFd reload_fd = signal_fd({SIGHUP});
  CurlGlobal curl;
  raise_fd_limit();

  HttpSettings http;
  std::tie(http.host, http.port) = host_port(listen);
  http.threads = threads;
  http.max_body_bytes = max_bytes;
  http.max_connections = max_connections;
  http.max_connections_per_ip = max_connections_per_ip;
  http.request_timeout = std::chrono::seconds(static_cast<int64_t>(request_timeout_s));
  http.max_compare_frames = max_compare_frames;
  const bool loopback = curve::is_loopback_host(http.host);
  if (!loopback && token_file.empty() && !transport.insecure)
    throw std::invalid_argument(
        "--listen " + listen +
        " is not a loopback address: without --token-file anyone who reaches it could use the "
        "lists as an oracle and the server to hash; give --token-file, or --insecure to serve "
        "openly anyway");
  if (!loopback && token_file.empty())
    spdlog::warn(
        "serving {} without tokens (--insecure): anyone who reaches it may look up and hash",
        listen);

  TokenGate tokens;
  tokens.replace(load_tokens(token_file));
  // The rules the flags ask for judge /m/compare even without lists.
  LookupService lookups(!match.lists.empty(), resolve_rules(match));
  // Hashing through the pool leaves the device to the workers; lists are
  // searched where this process hashes.
  if (!broker.empty() && !nats.urls.empty())
    throw std::invalid_argument("give --broker or --nats, not both");
  const bool local = broker.empty() && nats.urls.empty();
  const DeviceChoice backend = choose_device(local ? device : std::string("cpu"));
  if (local && !backend.notice.empty()) spdlog::info("{}", backend.notice);
  match.cuda_device = backend.cuda_device;
  if (!match.lists.empty()) lookups.replace(load_matcher(match));

  MetricsEndpoint metrics_endpoint(metrics);
  ListMetrics list_metrics(metrics_endpoint);
  list_metrics.update(lookups, false);

  std::unique_ptr<MediaHashing> hashing;
  if (!nats.urls.empty()) {
    // A stable name per host and listening address: a restarted server
    // finds its results consumer again (and drops the answers it no longer
    // waits for); two servers on one host never share it.
    if (producer.empty()) producer = jetstream::producer_name("serve", listen);
    if (!jetstream::valid_name(producer))
      throw std::invalid_argument("--producer must be 1-64 of [A-Za-z0-9_-]");
    auto settings = options::nats_settings(nats, transport, "frameprint serve " + producer);
    settings.inbox_prefix = "_INBOX_" + producer;
    // While no server answers, requests are refused; a short try keeps them
    // from waiting long for that answer.
    settings.connect_timeout = std::chrono::seconds(2);
    jetstream::ProducerSettings ps;
    ps.name = producer;
    ps.window = slots * 4;
    ps.timeout =
        std::chrono::milliseconds(static_cast<int64_t>(pool_timeout_s * 1000 * (pool_retries + 1)));
    ps.max_job_bytes = max_job_bytes;
    prometheus::Gauge& connected = metrics_endpoint.gauge(
        "frameprint_serve_nats_connected",
        "1 while the connection to a --nats server is up, else 0 (the log says why)");
    settings.on_link = [&connected](bool up, const std::string&) { connected.Set(up ? 1 : 0); };
    PoolHashingConfig pc;
    pc.pool = PoolClient::jetstream(std::move(settings), std::move(ps));
    pc.where = "the pool on NATS " + nats.urls + " as producer " + producer;
    pc.waiting = queue;
    pc.options = hash_options;
    hashing = pool_hashing(std::move(pc));
  } else if (broker.empty()) {
    LocalHashingConfig lc;
    lc.slots = slots;
    lc.waiting = queue;
    lc.policy.defaults = hash_options;
    lc.policy.defaults.for_matching = !match.lists.empty();
    lc.policy.max_bytes = max_bytes;
    lc.policy.worker_name = "serve";
    lc.sandbox = sandbox;
    resolve_sandbox(lc.sandbox, backend, lc.policy.max_reply_bytes);
    hashing = local_hashing(backend, std::move(lc));
  } else {
    ProducerConfig producer_config;
    producer_config.endpoint = broker;
    producer_config.keys = options::transport_keys(transport, broker);
    producer_config.window = slots * 4;
    producer_config.timeout =
        std::chrono::milliseconds(static_cast<int64_t>(pool_timeout_s * 1000));
    producer_config.retries = pool_retries;
    // Reconnects for as long as serve runs; whether it is through, and why
    // not, is logged (by the producer) and on /metrics.
    prometheus::Gauge& connected = metrics_endpoint.gauge(
        "frameprint_serve_broker_connected",
        "1 while the connection to --broker has completed its handshake, else 0 (the log says "
        "why)");
    producer_config.on_link = [&connected](bool up, const std::string&) {
      connected.Set(up ? 1 : 0);
    };
    PoolHashingConfig pc;
    pc.pool = PoolClient::broker(std::move(producer_config));
    pc.where = "the pool at " + broker;
    pc.waiting = queue;
    pc.options = hash_options;
    hashing = pool_hashing(std::move(pc));
  }

  const UrlPolicy url = url_policy(url_fetch, max_bytes, "frameprint-serve");

  HttpServer server(http, ServeDeps{lookups, *hashing, tokens, url, metrics_endpoint});
  spdlog::info("listening on {}:{} (hashing with {}{})", http.host, server.port(), hashing->where(),
               tokens.get() ? ", bearer tokens required" : "");

  std::thread signals([&] {
    for (;;) {
      pollfd fds[2] = {{stop_fd.get(), POLLIN, 0}, {reload_fd.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) continue;
      if (fds[0].revents & POLLIN) break;
      if (fds[1].revents & POLLIN) {
        signalfd_siginfo info;
        (void)!::read(reload_fd.get(), &info, sizeof info);
        reload(*this, lookups, tokens, list_metrics);
      }
    }
    spdlog::info("stopping");
    server.stop();
  });
  const bool ok = server.run();
  if (!ok) {
    spdlog::critical("the HTTP server stopped on a socket error");
    ::kill(::getpid(), SIGTERM);  // ends the signal thread
  }
  signals.join();
  return ok ? 0 : 1;
}

}  // namespace

std::function<int()> add_serve_command(CLI::App& app) {
  auto cmd = std::make_shared<ServeCommand>();
  CLI::App* sub = app.add_subcommand(
      "serve", "HTTP API modelled on Hasher-Matcher-Actioner's: hash, look up, compare");
  sub->add_option("--listen", cmd->listen, "HOST:PORT to serve HTTP on")->capture_default_str();
  sub->add_option("--token-file", cmd->token_file,
                  "Bearer tokens, one per line (mode 600): required for every API call; needed to "
                  "listen beyond loopback");
  sub->add_option("--broker", cmd->broker,
                  "Hash through the pool at this broker frontend instead of here");
  options::add_nats_options(*sub, cmd->nats,
                            "Hash through the pool on NATS JetStream instead of here: server "
                            "URLs, comma-separated (docs/scale.md)");
  options::add_nats_producer_options(
      *sub, cmd->producer, cmd->max_job_bytes,
      "NATS: this server's producer name, for its subjects and results consumer (default: from "
      "the host and --listen)",
      "NATS: largest request sent through the queue (the queue's --max-job-bytes); larger ones "
      "get too_large (413)");
  options::add_transport_options(*sub, cmd->transport);
  options::add_match_options(*sub, cmd->match);
  options::add_hashing_options(*sub, cmd->hash_options);
  options::add_device_option(*sub, cmd->device);
  add_sandbox_options(*sub, cmd->sandbox);
  sub->add_option("--slots", cmd->slots, "Files hashed at once (here), or x4 jobs in flight (pool)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  sub->add_option("--queue", cmd->queue, "Requests that may wait to be hashed; beyond: 503")
      ->check(CLI::Range(size_t{0}, size_t{100000}))
      ->capture_default_str();
  sub->add_option("--threads", cmd->threads,
                  "Requests hashed, fetched or compared at once (each holds at most --max-bytes)")
      ->check(CLI::Range(2, 1024))
      ->capture_default_str();
  sub->add_option("--max-bytes", cmd->max_bytes, "Largest request body or fetched url= content")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--max-connections", cmd->max_connections, "HTTP connections open at once")
      ->check(CLI::Range(4u, 65536u))
      ->capture_default_str();
  sub->add_option("--max-connections-per-ip", cmd->max_connections_per_ip,
                  "HTTP connections open at once from one client address (raise it behind a "
                  "reverse proxy)")
      ->check(CLI::Range(1u, 65536u))
      ->capture_default_str();
  sub->add_option("--request-timeout", cmd->request_timeout_s,
                  "Longest time a client may take to send a request's body, seconds")
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str();
  sub->add_option("--max-compare-frames", cmd->max_compare_frames,
                  "Most frames in a vPDQ signal given to /m/compare; beyond: 413")
      ->check(CLI::Range(size_t{1}, size_t{10000000}))
      ->capture_default_str();
  add_url_fetch_options(*sub, cmd->url_fetch, "url=");
  sub->add_option("--pool-timeout", cmd->pool_timeout_s,
                  "With --broker: seconds to wait for a reply before sending again; with --nats: "
                  "x (retries + 1), seconds from a job being queued to its result")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  sub->add_option("--pool-retries", cmd->pool_retries, "With --broker: resends after the first")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  sub->add_option("--metrics", cmd->metrics, "Serve Prometheus metrics on HOST:PORT");
  return [cmd] {
    try {
      return cmd->run();
    } catch (const std::exception& e) {
      std::cerr << "frameprint serve: " << e.what() << '\n';
      return 1;
    }
  };
}

}  // namespace frameprint::cli
