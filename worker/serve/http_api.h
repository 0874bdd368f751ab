// The requests `frameprint serve` answers, apart from the HTTP library
// that reads them off the network (http_server.h): what a request's head
// (method, path, query, headers) decides before any body is read (route,
// bearer token, framing, size), and the answer to a whole request. Every
// error is JSON {"message": ..., "code": ...} with a 4xx/5xx status;
// refusals are logged (rate-limited) and counted. Nothing here touches a
// socket, so the fuzz targets drive it as the server does.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ipc/common/log_limiter.h"
#include "ipc/metrics.h"
#include "worker/serve/lookup_service.h"
#include "worker/serve/media_hashing.h"
#include "worker/serve/tokens.h"
#include "worker/serve/url_fetcher.h"

namespace frameprint::serve {

using Fields = std::vector<std::pair<std::string, std::string>>;

// A request as the HTTP library hands it over: query parameters decoded,
// headers as sent (several of one name stay several), the body once read.
struct HttpRequest {
  std::string method;
  std::string path;  // without the query
  Fields query;
  Fields headers;
  std::string remote;  // the client's address, for the log
  std::string body;

  // The first header of that name (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
  size_t header_count(std::string_view name) const;
  bool has_param(std::string_view name) const;
  std::string param(std::string_view name) const;  // the first; "" when absent
};

struct HttpAnswer {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  Fields headers;
};

// What a request's head decides.
struct Admission {
  std::optional<HttpAnswer> refusal;  // answer this at once; read no body
  bool heavy = false;                 // answered off the connection loop (hashing, fetching)
  uint64_t body_length = 0;  // the Content-Length, within max_body_bytes (0: none, or chunked)
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

struct ApiLimits {
  uint64_t max_body_bytes = uint64_t{100} << 20;
  size_t max_compare_frames = 20000;  // frames per vPDQ signal given to /m/compare
  size_t max_form_parts = 16;         // parts of a multipart/form-data body
};

class HttpApi {
 public:
  HttpApi(ServeDeps deps, ApiLimits limits);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // On the head alone, in this order: the route (404, 405 with Allow), the
  // bearer token (401), the framing (400 for a duplicate Content-Length or
  // one beside Transfer-Encoding, 501 for a transfer coding other than
  // chunked, 415 for any Content-Encoding, 400 for a GET with a body) and
  // the size (413 when Content-Length passes max_body_bytes).
  Admission admit(const HttpRequest& head);
  // The answer to a whole request that admit() let through. Never throws.
  HttpAnswer answer(const HttpRequest& request);
  // An answer the server gives itself (the body cut off at the limit, busy):
  // counted and shaped as every other error.
  HttpAnswer error(int status, const std::string& message, const std::string& code);
  const ApiLimits& limits() const { return limits_; }

 private:
  struct Route;
  struct Counters;
  HttpAnswer dispatch(const Route& route, const HttpRequest& request);
  HttpAnswer refuse_token(const HttpRequest& head, bool given);
  void count(const HttpAnswer& a);

  ServeDeps deps_;
  ApiLimits limits_;
  std::vector<Route> routes_;
  std::unique_ptr<Counters> counters_;
  std::mutex log_mu_;
  LogLimiter refusal_log_;
};

// multipart/form-data (RFC 7578) over a body already read: the parts, in
// order. Throws ApiError 400 when the body is not such a form or has more
// than `max_parts` parts.
struct FormPart {
  std::string name;
  std::string filename;
  std::string_view content;  // into the body
};
std::vector<FormPart> parse_form(std::string_view content_type, std::string_view body,
                                 size_t max_parts);

}  // namespace frameprint::serve
