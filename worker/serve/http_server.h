// The HTTP side of `frameprint serve` on libmicrohttpd: Hasher-Matcher-
// Actioner's paths (http_api.h answers them). A few event-loop threads
// read every connection; what a request's head decides (route, token,
// framing, size) is answered before its body is read, and a response sent
// early closes the connection. Hashing, url= fetches and comparisons run
// on a bounded set of work threads while their connection is suspended,
// so they never hold the loop. What bounds each client: docs/security.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "worker/serve/http_api.h"

struct MHD_Daemon;

namespace frameprint::serve {

struct HttpSettings {
  std::string host = "127.0.0.1";
  int port = 8080;                  // 0: any free port (see HttpServer::port)
  int threads = 16;                 // requests hashed, fetched or compared at once
  size_t max_waiting = 256;         // such requests waiting for a thread; beyond: 503
  int loop_threads = 0;             // event loops (0: min(4, cores))
  unsigned max_connections = 1024;  // open at once, all clients
  unsigned max_connections_per_ip = 128;
  size_t connection_memory = 32 << 10;  // request line and headers of one connection; beyond: 431
  uint64_t max_body_bytes = uint64_t{100} << 20;
  uint64_t max_bodies_bytes = 0;  // bodies held at once, all requests (0: threads x max_body_bytes)
  size_t max_compare_frames = 20000;
  std::chrono::seconds idle_timeout{10};     // a connection that sends nothing is closed
  std::chrono::seconds request_timeout{60};  // head to end of body, checked as the body arrives
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

  struct Impl;  // the library's callbacks reach it

 private:
  std::unique_ptr<Impl> impl_;
  int port_ = -1;
};

}  // namespace frameprint::serve
