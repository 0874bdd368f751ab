#include "worker/serve/http_api.h"

#include <algorithm>
#include <cctype>
#include <functional>

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

bool same_caseless(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

HttpAnswer json_answer(int status, const ordered_json& body) {
  HttpAnswer a;
  a.status = status;
  a.body = json_text(body);
  return a;
}

HttpAnswer error_answer(int status, const std::string& message, const std::string& code) {
  ordered_json j;
  j["message"] = message;
  j["code"] = code.empty() ? ApiError(status, message).code() : code;
  return json_answer(status, j);
}

HttpAnswer text_answer(int status, std::string body, std::string type) {
  HttpAnswer a;
  a.status = status;
  a.content_type = std::move(type);
  a.body = std::move(body);
  return a;
}

std::string required(const HttpRequest& req, const char* name) {
  std::string v = req.param(name);
  if (v.empty()) throw ApiError(400, std::string("missing parameter: ") + name);
  return v;
}

bool flag(const HttpRequest& req, const char* name) {
  const std::string v = lower(req.param(name));
  return v == "true" || v == "1" || v == "yes" || v == "t" || v == "y";
}

std::vector<std::string> types_param(const HttpRequest& req) {
  std::vector<std::string> out;
  const std::string v = req.param("types");
  size_t start = 0;
  while (start < v.size()) {
    const size_t comma = std::min(v.find(',', start), v.size());
    const std::string_view t = trim(std::string_view(v).substr(start, comma - start));
    if (!t.empty()) out.emplace_back(t);
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
  if (code == "timeout") return 504;
  if (code == "internal") return 500;
  return 400;  // the media: empty, truncated, corrupt, crashed its decoder, ...
}

// The value of parameter `key` in a header value like `a; key="v"; b=w`.
std::string header_param(std::string_view value, std::string_view key) {
  size_t i = value.find(';');
  while (i != std::string_view::npos && i < value.size()) {
    ++i;
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
    const size_t eq = value.find('=', i);
    if (eq == std::string_view::npos) return "";
    const std::string_view name = trim(value.substr(i, eq - i));
    size_t j = eq + 1;
    std::string v;
    if (j < value.size() && value[j] == '"') {
      for (++j; j < value.size() && value[j] != '"'; ++j) {
        if (value[j] == '\\' && j + 1 < value.size()) ++j;
        v += value[j];
      }
      if (j >= value.size()) throw ApiError(400, "unterminated quoted string in a header");
      ++j;
    } else {
      const size_t end = std::min(value.find(';', j), value.size());
      v = std::string(trim(value.substr(j, end - j)));
      j = end;
    }
    if (same_caseless(name, key)) return v;
    i = value.find(';', j);
  }
  return "";
}

// The media of a POST: one multipart/form-data file (HMA's form, the field
// named photo or video) or the raw body. Other encodings are refused.
std::string_view posted_media(const HttpRequest& req, std::string& name, size_t max_parts) {
  const std::string* header = req.header("Content-Type");
  const std::string type = header ? lower(trim(std::string_view(*header).substr(
                                        0, std::min(header->find(';'), header->size()))))
                                  : std::string();
  if (type == "multipart/form-data") {
    const std::vector<FormPart> parts = parse_form(*header, req.body, max_parts);
    if (parts.size() != 1) throw ApiError(400, "only one file allowed per request");
    name = parts[0].filename.empty() ? parts[0].name : parts[0].filename;
    return parts[0].content;
  }
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

// ----- the request model -----

const std::string* HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (same_caseless(k, name)) return &v;
  return nullptr;
}

size_t HttpRequest::header_count(std::string_view name) const {
  return static_cast<size_t>(std::count_if(
      headers.begin(), headers.end(), [&](const auto& h) { return same_caseless(h.first, name); }));
}

bool HttpRequest::has_param(std::string_view name) const {
  return std::any_of(query.begin(), query.end(), [&](const auto& q) { return q.first == name; });
}

std::string HttpRequest::param(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return v;
  return "";
}

// ----- multipart/form-data -----

std::vector<FormPart> parse_form(std::string_view content_type, std::string_view body,
                                 size_t max_parts) {
  const std::string boundary = header_param(content_type, "boundary");
  if (boundary.empty() || boundary.size() > 70)  // RFC 2046: 1 to 70 characters
    throw ApiError(400, "a multipart/form-data body needs a boundary of 1 to 70 characters");
  const std::string dash = "--" + boundary;
  const std::string next_dash = "\r\n" + dash;
  auto malformed = [](const char* what) {
    return ApiError(400, std::string("malformed multipart/form-data body: ") + what);
  };
  // The first delimiter may follow a preamble; each later one follows CRLF.
  size_t pos = body.starts_with(dash) ? 0 : body.find(next_dash);
  if (pos == std::string_view::npos) throw malformed("no boundary line");
  pos += body.starts_with(dash) ? dash.size() : next_dash.size();
  std::vector<FormPart> parts;
  for (;;) {
    if (body.substr(pos, 2) == "--") return parts;  // the close delimiter
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) != "\r\n") throw malformed("a boundary line that does not end");
    pos += 2;
    if (parts.size() == max_parts)
      throw ApiError(400, "more than " + std::to_string(max_parts) + " parts in the form");
    FormPart part;
    // The part's headers, up to an empty line.
    for (;;) {
      const size_t eol = body.find("\r\n", pos);
      if (eol == std::string_view::npos) throw malformed("headers without an end");
      const std::string_view line = body.substr(pos, eol - pos);
      pos = eol + 2;
      if (line.empty()) break;
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos) throw malformed("a header line without a colon");
      if (same_caseless(trim(line.substr(0, colon)), "Content-Disposition")) {
        const std::string_view value = line.substr(colon + 1);
        part.name = header_param(value, "name");
        part.filename = header_param(value, "filename");
      }
    }
    const size_t end = body.find(next_dash, pos);
    if (end == std::string_view::npos) throw malformed("a part without a closing boundary");
    part.content = body.substr(pos, end - pos);
    parts.push_back(std::move(part));
    pos = end + next_dash.size();
  }
}

// ----- routes -----

struct HttpApi::Route {
  std::string method;  // GET also answers HEAD
  std::string path;
  bool open = false;  // no token needed (health checks, the API document)
  std::function<bool(const HttpRequest&)> heavy;
  std::function<HttpAnswer(const HttpRequest&)> run;
};

struct HttpApi::Counters {
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

HttpApi::HttpApi(ServeDeps deps, ApiLimits limits)
    : deps_(deps), limits_(limits), counters_(std::make_unique<Counters>(deps.metrics)) {
  Counters& c = *counters_;
  auto always = [](const HttpRequest&) { return true; };
  auto never = [](const HttpRequest&) { return false; };

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
  auto hash_url = [this, &c, hash_bytes](const HttpRequest& req) {
    const Fetched f = fetch_url(required(req, "url"), deps_.url_policy);
    c.fetched_bytes.Increment(static_cast<double>(f.bytes.size()));
    return hash_bytes(
        std::string_view(reinterpret_cast<const char*>(f.bytes.data()), f.bytes.size()),
        f.final_url);
  };
  auto hash_posted = [this, hash_bytes](const HttpRequest& req) {
    std::string name;
    const std::string_view media = posted_media(req, name, limits_.max_form_parts);
    return hash_bytes(media, name);
  };
  // HMA's hash object, or with format=frameprint the whole result (matched).
  auto hash_answer = [this](const HttpRequest& req, ordered_json r) {
    if (req.param("format") == "frameprint") {
      deps_.lookups.annotate(r);
      return json_answer(200, r);
    }
    return json_answer(200, signals_of(r, types_param(req), deps_.lookups.rules().min_quality));
  };
  // A hashed file's matches; with signal_type only that type's (HMA).
  auto lookup_answer = [this, &c](const HttpRequest& req, const ordered_json& r) {
    c.lookups.Increment();
    ordered_json out = deps_.lookups.lookup_result(r, parse_banks(req.param("banks")));
    const std::string only = req.param("signal_type");
    if (!only.empty()) out = out.contains(only) ? out[only] : ordered_json::object();
    return json_answer(200, out);
  };

  routes_.push_back({"GET", "/h/hash", false, always, [=](const HttpRequest& req) {
                       (void)types_param(req);  // checked before fetching
                       return hash_answer(req, hash_url(req));
                     }});
  routes_.push_back({"POST", "/h/hash", false, always, [=](const HttpRequest& req) {
                       (void)types_param(req);
                       return hash_answer(req, hash_posted(req));
                     }});
  routes_.push_back({"GET", "/m/raw_lookup", false, never, [this, &c](const HttpRequest& req) {
                       c.lookups.Increment();
                       return json_answer(
                           200, deps_.lookups.raw_lookup(required(req, "signal_type"),
                                                         required(req, "signal"),
                                                         flag(req, "include_distance"),
                                                         parse_banks(req.param("banks"))));
                     }});
  // By url= it fetches and hashes; by signal it only looks up.
  routes_.push_back(
      {"GET", "/m/lookup", false, [](const HttpRequest& req) { return !req.param("url").empty(); },
       [=, this, &c](const HttpRequest& req) {
         if (!req.param("url").empty()) {
           deps_.lookups.check_banks(parse_banks(req.param("banks")));  // before fetching
           return lookup_answer(req, hash_url(req));
         }
         if (req.param("signal").empty() || req.param("signal_type").empty())
           throw ApiError(400, "either url or both signal and signal_type are required");
         c.lookups.Increment();
         return json_answer(200, deps_.lookups.lookup(req.param("signal_type"), req.param("signal"),
                                                      parse_banks(req.param("banks"))));
       }});
  routes_.push_back({"POST", "/m/lookup", false, always, [=, this](const HttpRequest& req) {
                       deps_.lookups.check_banks(parse_banks(req.param("banks")));
                       return lookup_answer(req, hash_posted(req));
                     }});
  routes_.push_back({"POST", "/m/compare", false, always, [this](const HttpRequest& req) {
                       const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
                       if (body.is_discarded()) throw ApiError(400, "the request body is not JSON");
                       return json_answer(200, compare_signals(body, deps_.lookups.rules(),
                                                               limits_.max_compare_frames));
                     }});
  routes_.push_back({"GET", "/m/index/status", false, never, [this](const HttpRequest& req) {
                       return json_answer(200,
                                          deps_.lookups.index_status(req.param("signal_type")));
                     }});
  // Health checks as HMA answers them: /status is ready only with lists
  // loaded (a server started without --list is a hasher and always ready).
  routes_.push_back({"GET", "/status", true, never, [this](const HttpRequest&) {
                       const bool ready = deps_.lookups.ready() || !deps_.lookups.expects_lists();
                       return text_answer(ready ? 200 : 503,
                                          ready ? "I-AM-ALIVE" : "INDEX-NOT-LOADED", "text/plain");
                     }});
  routes_.push_back({"GET", "/status/live", true, never, [](const HttpRequest&) {
                       return text_answer(200, "I-AM-ALIVE", "text/plain");
                     }});
  routes_.push_back({"GET", "/openapi.json", true, never, [](const HttpRequest&) {
                       return text_answer(200, std::string(openapi_document()), "application/json");
                     }});
}

HttpApi::~HttpApi() = default;

void HttpApi::count(const HttpAnswer& a) {
  if (a.status >= 500) counters_->server_errors.Increment();
  else if (a.status >= 400) counters_->client_errors.Increment();
}

HttpAnswer HttpApi::error(int status, const std::string& message, const std::string& code) {
  if (status == 503) counters_->busy.Increment();
  HttpAnswer a = error_answer(status, message, code);
  count(a);
  return a;
}

HttpAnswer HttpApi::refuse_token(const HttpRequest& head, bool given) {
  counters_->refused.Increment();
  uint64_t held_back = 0;
  {
    std::lock_guard lock(log_mu_);
    if (refusal_log_.allow(LogLimiter::Clock::now(), held_back))
      spdlog::warn("refused {} {} from {}: {} bearer token{}", head.method, head.path, head.remote,
                   given ? "a wrong" : "no",
                   held_back ? fmt::format(" ({} more refusals not logged)", held_back) : "");
  }
  HttpAnswer a = error_answer(
      401, given ? "the bearer token is not valid" : "a bearer token is required", "unauthorized");
  a.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"frameprint\"");
  return a;
}

Admission HttpApi::admit(const HttpRequest& head) {
  counters_->requests.Increment();
  Admission out;
  auto refuse = [&](HttpAnswer a) {
    count(a);
    out.refusal = std::move(a);
    return out;
  };
  const std::string method = head.method == "HEAD" ? "GET" : head.method;
  const Route* route = nullptr;
  std::string allow;
  for (const Route& r : routes_) {
    if (r.path != head.path) continue;
    if (r.method == method) route = &r;
    allow += (allow.empty() ? "" : ", ") + r.method + (r.method == "GET" ? ", HEAD" : "");
  }
  if (allow.empty()) return refuse(error_answer(404, "no such path", "not_found"));
  if (!route) {
    HttpAnswer a =
        error_answer(405, head.method + " is not served at " + head.path + " (" + allow + " is)",
                     "method_not_allowed");
    a.headers.emplace_back("Allow", allow);
    return refuse(std::move(a));
  }

  if (!route->open) {
    if (const auto tokens = deps_.tokens.get()) {
      const std::string* auth = head.header("Authorization");
      if (!auth || head.header_count("Authorization") != 1 || !tokens->accepts_header(*auth))
        return refuse(refuse_token(head, auth != nullptr));
    }
  }

  // Framing: one way to know where the body ends, and no coding of it.
  const size_t lengths = head.header_count("Content-Length");
  const size_t codings = head.header_count("Transfer-Encoding");
  if (lengths > 1)
    return refuse(error_answer(400, "more than one Content-Length header", "bad_framing"));
  if (codings > 0 && lengths > 0)
    return refuse(
        error_answer(400, "both Content-Length and Transfer-Encoding are given", "bad_framing"));
  if (codings > 1 ||
      (codings == 1 && !same_caseless(trim(*head.header("Transfer-Encoding")), "chunked")))
    return refuse(error_answer(501, "the only transfer coding accepted is chunked",
                               "unsupported_transfer_encoding"));
  if (head.header("Content-Encoding"))
    return refuse(error_answer(415, "compressed request bodies are not accepted",
                               "unsupported_content_encoding"));
  uint64_t length = 0;
  if (lengths == 1) {
    const std::string_view v = trim(*head.header("Content-Length"));
    if (v.empty() || v.size() > 19 ||
        !std::all_of(v.begin(), v.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      return refuse(error_answer(400, "Content-Length is not a number", "bad_framing"));
    length = std::stoull(std::string(v));
  }
  if (method == "GET" && (length > 0 || codings > 0))
    return refuse(error_answer(400, "a GET request has no body", "bad_request"));
  if (length > limits_.max_body_bytes)
    return refuse(error_answer(413,
                               "the request body is too large (" + std::to_string(length) +
                                   " bytes; this server takes at most " +
                                   std::to_string(limits_.max_body_bytes) + ")",
                               "too_large"));
  out.heavy = route->heavy(head);
  out.body_length = length;
  return out;
}

HttpAnswer HttpApi::dispatch(const Route& route, const HttpRequest& req) {
  const auto t0 = std::chrono::steady_clock::now();
  HttpAnswer a;
  try {
    a = route.run(req);
  } catch (const ApiError& e) {
    if (e.status() == 503) counters_->busy.Increment();
    a = error_answer(e.status(), e.what(), e.code());
  } catch (const FetchError& e) {
    a = error_answer(e.status(), e.what(), "fetch_failed");
  } catch (const std::bad_alloc&) {
    a = error_answer(503, "out of memory; try again later", "internal");
  } catch (const std::exception& e) {
    spdlog::error("{} {}: {}", req.method, req.path, e.what());
    a = error_answer(500, "internal error", "internal");
  }
  if (!route.open)
    counters_->latency.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return a;
}

HttpAnswer HttpApi::answer(const HttpRequest& request) {
  const std::string method = request.method == "HEAD" ? "GET" : request.method;
  for (const Route& r : routes_) {
    if (r.path == request.path && r.method == method) {
      HttpAnswer a = dispatch(r, request);
      count(a);
      return a;
    }
  }
  HttpAnswer a = error_answer(404, "no such path", "not_found");  // admit() refuses these
  count(a);
  return a;
}

}  // namespace frameprint::serve
