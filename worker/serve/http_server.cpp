#include "worker/serve/http_server.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <string_view>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "ipc/common/json_text.h"
#include "worker/serve/openapi.h"

namespace frameprint::serve {

using nlohmann::ordered_json;

void TokenGate::replace(std::shared_ptr<const TokenSet> tokens) {
  std::lock_guard lock(mu_);
  tokens_ = std::move(tokens);
}

std::shared_ptr<const TokenSet> TokenGate::get() const {
  std::lock_guard lock(mu_);
  return tokens_;
}

namespace {

// httplib's thread pool with a bounded queue: when every thread is busy
// and `max_pending` connections wait, accepting waits too (the kernel's
// backlog holds further ones), so a flood of idle connections costs a
// bounded amount of memory and descriptors.
class BoundedPool : public httplib::TaskQueue {
 public:
  BoundedPool(size_t threads, size_t max_pending) : max_pending_(max_pending) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
  }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock lock(mu_);
    room_.wait(lock, [&] { return jobs_.size() < max_pending_ || shutdown_; });
    jobs_.push_back(std::move(fn));
    lock.unlock();
    ready_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      shutdown_ = true;
    }
    ready_.notify_all();
    room_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mu_);
        ready_.wait(lock, [&] { return !jobs_.empty() || shutdown_; });
        if (jobs_.empty()) return;  // shut down and drained
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      room_.notify_one();
      fn();
    }
  }

  size_t max_pending_;
  std::mutex mu_;
  std::condition_variable ready_, room_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  bool shutdown_ = false;
};

void send_json(httplib::Response& res, int status, const ordered_json& body) {
  res.status = status;
  res.set_content(json_text(body), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message,
                const std::string& code = "") {
  ordered_json j;
  j["message"] = message;
  if (!code.empty()) j["code"] = code;
  send_json(res, status, j);
}

std::string param(const httplib::Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : std::string();
}

std::string required(const httplib::Request& req, const char* name) {
  std::string v = param(req, name);
  if (v.empty()) throw ApiError(400, std::string("missing parameter: ") + name);
  return v;
}

bool flag(const httplib::Request& req, const char* name) {
  std::string v = param(req, name);
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return v == "true" || v == "1" || v == "yes" || v == "t" || v == "y";
}

std::vector<std::string> types_param(const httplib::Request& req) {
  std::vector<std::string> out;
  const std::string v = param(req, "types");
  size_t start = 0;
  while (start < v.size()) {
    const size_t comma = std::min(v.find(',', start), v.size());
    std::string t = v.substr(start, comma - start);
    t.erase(0, t.find_first_not_of(' '));
    t.erase(t.find_last_not_of(' ') + 1);
    if (!t.empty()) out.push_back(t);
    start = comma + 1;
  }
  if (req.has_param("types") && out.empty()) throw ApiError(400, "empty signal type selection");
  return out;
}

// The HTTP status for a hashing result that is an error (no hashes).
int status_of(const std::string& code) {
  if (code == "too_large") return 413;
  if (code == "unsupported_format") return 415;
  if (code == "overloaded") return 503;
  if (code == "timeout" || code == "internal") return code == "timeout" ? 504 : 500;
  return 400;  // the media: empty, truncated, corrupt, crashed its decoder, ...
}

// The media of a POST: one multipart/form-data file (HMA's form, the field
// named photo or video) or the raw body. Other encodings are refused.
std::string_view posted_media(const httplib::Request& req, std::string& name) {
  if (req.is_multipart_form_data()) {
    if (req.files.size() != 1) throw ApiError(400, "only one file allowed per request");
    const auto& f = req.files.begin()->second;
    name = f.filename.empty() ? f.name : f.filename;
    return f.content;
  }
  std::string type = req.get_header_value("Content-Type");
  type = type.substr(0, type.find(';'));
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const bool media = type.empty() || type == "application/octet-stream" ||
                     type.starts_with("image/") || type.starts_with("video/");
  if (!media)
    throw ApiError(415,
                   "send the media as the body (application/octet-stream, image/*, "
                   "video/*) or as one multipart/form-data file, not " +
                       type);
  name = "upload";
  return req.body;
}

}  // namespace

struct HttpServer::Counters {
  explicit Counters(MetricsEndpoint& m)
      : requests(m.counter("frameprint_serve_requests_total", "HTTP requests answered")),
        refused(m.counter("frameprint_serve_refused_total",
                          "requests refused for a missing or wrong bearer token")),
        client_errors(m.counter("frameprint_serve_client_errors_total",
                                "requests answered 4xx (bad parameters, media, sizes)")),
        server_errors(m.counter("frameprint_serve_server_errors_total",
                                "requests answered 5xx (busy, pool timeouts, internal)")),
        busy(m.counter("frameprint_serve_busy_total",
                       "requests refused with 503 because too many were waiting to be hashed")),
        hashed(m.counter("frameprint_serve_hashed_total", "files hashed for requests")),
        fetched_bytes(m.counter("frameprint_serve_fetched_bytes_total", "bytes fetched for url=")),
        lookups(m.counter("frameprint_serve_lookups_total", "hash lookups answered")),
        latency(m.histogram("frameprint_serve_request_seconds", "time to answer a request",
                            latency_buckets())) {}
  prometheus::Counter &requests, &refused, &client_errors, &server_errors, &busy, &hashed,
      &fetched_bytes, &lookups;
  prometheus::Histogram& latency;
};

HttpServer::HttpServer(const HttpSettings& settings, ServeDeps deps)
    : settings_(settings),
      deps_(deps),
      server_(std::make_unique<httplib::Server>()),
      counters_(std::make_unique<Counters>(deps.metrics)) {
  const size_t threads = static_cast<size_t>(settings_.threads);
  const size_t pending = settings_.max_pending_connections;
  server_->new_task_queue = [threads, pending] { return new BoundedPool(threads, pending); };
  server_->set_payload_max_length(settings_.max_body_bytes);
  server_->set_read_timeout(settings_.read_timeout);
  server_->set_write_timeout(settings_.write_timeout);
  server_->set_keep_alive_timeout(settings_.keep_alive.count());
  server_->set_keep_alive_max_count(100);
  server_->set_tcp_nodelay(true);  // small answers go out at once, not after a delayed ACK
  install();
  if (settings_.port == 0) {
    port_ = server_->bind_to_any_port(settings_.host);
  } else if (server_->bind_to_port(settings_.host, settings_.port)) {
    port_ = settings_.port;
  }
  if (port_ <= 0)
    throw std::runtime_error("cannot listen on " + settings_.host + ":" +
                             std::to_string(settings_.port));
}

HttpServer::~HttpServer() = default;

bool HttpServer::run() { return server_->listen_after_bind(); }

void HttpServer::stop() { server_->stop(); }

void HttpServer::install() {
  httplib::Server& s = *server_;
  Counters& c = *counters_;

  // Who may call: everything but the health checks and the API document
  // needs the bearer token when tokens are configured.
  s.set_pre_routing_handler([this, &c](const httplib::Request& req, httplib::Response& res) {
    c.requests.Increment();
    static constexpr std::string_view kOpen[] = {"/status", "/status/live", "/openapi.json"};
    if (std::find(std::begin(kOpen), std::end(kOpen), req.path) != std::end(kOpen))
      return httplib::Server::HandlerResponse::Unhandled;
    const auto tokens = deps_.tokens.get();
    if (!tokens) return httplib::Server::HandlerResponse::Unhandled;
    const bool given = req.has_header("Authorization");
    if (given && tokens->accepts_header(req.get_header_value("Authorization")))
      return httplib::Server::HandlerResponse::Unhandled;
    c.refused.Increment();
    uint64_t held_back = 0;
    {
      std::lock_guard lock(log_mu_);
      if (refusal_log_.allow(LogLimiter::Clock::now(), held_back))
        spdlog::warn("refused {} {} from {}: {} bearer token{}", req.method, req.path,
                     req.remote_addr, given ? "a wrong" : "no",
                     held_back ? fmt::format(" ({} more refusals not logged)", held_back) : "");
    }
    res.set_header("WWW-Authenticate", "Bearer realm=\"frameprint\"");
    send_error(res, 401, given ? "the bearer token is not valid" : "a bearer token is required",
               "unauthorized");
    return httplib::Server::HandlerResponse::Handled;
  });

  // Errors httplib answers itself (404, 413 for a body over the limit, 400
  // for a malformed request) get a JSON body too.
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string message = res.status == 404   ? "no such path"
                                : res.status == 413 ? "the request body is too large"
                                : res.status == 400 ? "malformed request"
                                                    : "HTTP " + std::to_string(res.status);
    send_error(res, res.status, message);
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    send_error(res, 500, "internal error", "internal");
  });
  s.set_logger([&c](const httplib::Request&, const httplib::Response& res) {
    if (res.status >= 500) c.server_errors.Increment();
    else if (res.status >= 400) c.client_errors.Increment();
  });

  // Runs a handler, turning ApiError (and anything else) into JSON errors.
  using Body = std::function<void(const httplib::Request&, httplib::Response&)>;
  auto guarded = [&c](Body body) {
    return [&c, body = std::move(body)](const httplib::Request& req, httplib::Response& res) {
      const auto t0 = std::chrono::steady_clock::now();
      try {
        body(req, res);
      } catch (const ApiError& e) {
        if (e.status() == 503) c.busy.Increment();
        send_error(res, e.status(), e.what(), e.code());
      } catch (const FetchError& e) {
        send_error(res, e.status(), e.what(), "fetch_failed");
      } catch (const std::bad_alloc&) {
        send_error(res, 503, "out of memory; try again later", "internal");
      } catch (const std::exception& e) {
        spdlog::error("{} {}: {}", req.method, req.path, e.what());
        send_error(res, 500, "internal error", "internal");
      }
      c.latency.Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    };
  };

  // Hashes media and returns the result object; an error result without
  // hashes becomes the matching HTTP error.
  auto hash_bytes = [this, &c](std::string_view bytes, const std::string& name) {
    ordered_json r = deps_.hashing.hash(
        std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), name);
    c.hashed.Increment();
    const bool has_hashes = r.value("status", "") == "ok" || r.value("partial", false);
    if (!has_hashes) {
      const auto& e = r.contains("error") && r["error"].is_object() ? r["error"] : ordered_json();
      const std::string code = e.is_object() ? e.value("code", "internal") : "internal";
      throw ApiError(status_of(code), e.is_object() ? e.value("message", code) : code, code);
    }
    return r;
  };
  auto fetch = [this, &c](const httplib::Request& req) {
    Fetched f = fetch_url(required(req, "url"), deps_.url_policy);
    c.fetched_bytes.Increment(static_cast<double>(f.bytes.size()));
    return f;
  };
  // HMA's hash object, or with format=frameprint the whole result (matched).
  auto hash_answer = [this](const httplib::Request& req, httplib::Response& res, ordered_json r) {
    if (param(req, "format") == "frameprint") {
      deps_.lookups.annotate(r);
      send_json(res, 200, r);
      return;
    }
    send_json(res, 200, signals_of(r, types_param(req), deps_.lookups.rules().min_quality));
  };

  s.Get("/h/hash", guarded([=, this](const httplib::Request& req, httplib::Response& res) {
          const std::vector<std::string> types = types_param(req);  // checked before fetching
          const Fetched f = fetch(req);
          hash_answer(req, res,
                      hash_bytes(std::string_view(reinterpret_cast<const char*>(f.bytes.data()),
                                                  f.bytes.size()),
                                 f.final_url));
        }));
  s.Post("/h/hash", guarded([=, this](const httplib::Request& req, httplib::Response& res) {
           (void)types_param(req);
           std::string name;
           const std::string_view media = posted_media(req, name);
           hash_answer(req, res, hash_bytes(media, name));
         }));

  s.Get("/m/raw_lookup", guarded([this, &c](const httplib::Request& req, httplib::Response& res) {
          c.lookups.Increment();
          send_json(res, 200,
                    deps_.lookups.raw_lookup(required(req, "signal_type"), required(req, "signal"),
                                             flag(req, "include_distance"),
                                             parse_banks(param(req, "banks"))));
        }));

  // A hashed file's matches; with signal_type only that type's (HMA).
  auto lookup_answer = [this, &c](const httplib::Request& req, httplib::Response& res,
                                  const ordered_json& r) {
    c.lookups.Increment();
    ordered_json out = deps_.lookups.lookup_result(r, parse_banks(param(req, "banks")));
    const std::string only = param(req, "signal_type");
    if (!only.empty()) out = out.contains(only) ? out[only] : ordered_json::object();
    send_json(res, 200, out);
  };
  s.Get("/m/lookup", guarded([=, this, &c](const httplib::Request& req, httplib::Response& res) {
          if (!param(req, "url").empty()) {
            const Fetched f = fetch(req);
            lookup_answer(req, res,
                          hash_bytes(std::string_view(reinterpret_cast<const char*>(f.bytes.data()),
                                                      f.bytes.size()),
                                     f.final_url));
            return;
          }
          if (param(req, "signal").empty() || param(req, "signal_type").empty())
            throw ApiError(400, "either url or both signal and signal_type are required");
          c.lookups.Increment();
          send_json(res, 200,
                    deps_.lookups.lookup(param(req, "signal_type"), param(req, "signal"),
                                         parse_banks(param(req, "banks"))));
        }));
  s.Post("/m/lookup", guarded([=, this](const httplib::Request& req, httplib::Response& res) {
           std::string name;
           const std::string_view media = posted_media(req, name);
           lookup_answer(req, res, hash_bytes(media, name));
         }));

  s.Post("/m/compare", guarded([this](const httplib::Request& req, httplib::Response& res) {
           const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
           if (body.is_discarded()) throw ApiError(400, "the request body is not JSON");
           send_json(res, 200, compare_signals(body, deps_.lookups.rules()));
         }));
  s.Get("/m/index/status", guarded([this](const httplib::Request& req, httplib::Response& res) {
          send_json(res, 200, deps_.lookups.index_status(param(req, "signal_type")));
        }));

  // Health checks as HMA answers them: /status is ready only with lists
  // loaded (a server started without --list is a hasher and always ready).
  s.Get("/status", [this](const httplib::Request&, httplib::Response& res) {
    const bool ready = deps_.lookups.ready() || !deps_.lookups.expects_lists();
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "I-AM-ALIVE" : "INDEX-NOT-LOADED", "text/plain");
  });
  s.Get("/status/live", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("I-AM-ALIVE", "text/plain");
  });
  s.Get("/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(openapi_document()), "application/json");
  });
}

}  // namespace frameprint::serve
