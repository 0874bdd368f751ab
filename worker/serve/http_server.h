// The HTTP side of `frameprint serve`: Hasher-Matcher-Actioner's paths
// (/h/hash, /m/raw_lookup, /m/lookup, /m/compare, /m/index/status,
// /status, /status/live) plus /openapi.json, on cpp-httplib. Requests are
// checked here (bearer token, sizes, content types, parameters); answers
// come from LookupService and MediaHashing. Every error is JSON
// {"message": ..., "code": ...} with a 4xx/5xx status; refusals are logged
// (rate-limited) and counted.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "ipc/common/log_limiter.h"
#include "ipc/metrics.h"
#include "worker/serve/lookup_service.h"
#include "worker/serve/media_hashing.h"
#include "worker/serve/tokens.h"
#include "worker/serve/url_fetcher.h"

namespace httplib {
class Server;
}

namespace frameprint::serve {

struct HttpSettings {
  std::string host = "127.0.0.1";
  int port = 8080;                       // 0: any free port (see HttpServer::port)
  int threads = 16;                      // connections served at once
  size_t max_pending_connections = 256;  // accepted, waiting for a thread
  uint64_t max_body_bytes = uint64_t{100} << 20;
  std::chrono::seconds read_timeout{10};
  std::chrono::seconds write_timeout{30};
  std::chrono::seconds keep_alive{5};
};

// Who may call: nullptr = anyone (loopback, or --insecure); replaced on reload.
class TokenGate {
 public:
  void replace(std::shared_ptr<const TokenSet> tokens);
  std::shared_ptr<const TokenSet> get() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const TokenSet> tokens_;
};

struct ServeDeps {
  LookupService& lookups;
  MediaHashing& hashing;
  TokenGate& tokens;
  UrlPolicy url_policy;
  MetricsEndpoint& metrics;
};

class HttpServer {
 public:
  // Binds at once: throws std::runtime_error when the address cannot be bound.
  HttpServer(const HttpSettings& settings, ServeDeps deps);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  // Serves until stop() (from another thread). Returns false on a socket error.
  bool run();
  void stop();

 private:
  void install();

  HttpSettings settings_;
  ServeDeps deps_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = -1;

  struct Counters;
  std::unique_ptr<Counters> counters_;
  std::mutex log_mu_;
  LogLimiter refusal_log_;
};

}  // namespace frameprint::serve
