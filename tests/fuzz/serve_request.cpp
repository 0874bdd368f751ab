// Fuzz target: a request as libmicrohttpd hands it to `frameprint serve`
// (worker/serve/http_api.h): method, path, query parameters, headers and
// body, from a client that need not be honest. The head either is refused
// at once with one of the statuses the server gives before reading a body,
// or the whole request gets an answer; every error is JSON with a message
// and a code; a request without exactly one valid bearer token never gets
// past admit() to a guarded path; a declared length over the limit is
// never admitted. A multipart body parses into parts that lie inside it.
//
// The media is "hashed" by a fixed result (hash_media fuzzes decoding):
// what is under test is the HTTP layer's reading of the request.
#include <memory>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/fuzz/fuzz_targets.h"
#include "worker/matching/match_options.h"
#include "worker/serve/http_api.h"

namespace frameprint::fuzz {

namespace {

constexpr std::string_view kToken = "fuzz-token-0123456789abcdefghij";
constexpr uint64_t kMaxBody = 4096;

class FixedHashing : public serve::MediaHashing {
 public:
  nlohmann::ordered_json hash(std::span<const uint8_t> bytes, const std::string& name) override {
    nlohmann::ordered_json r;
    r["file"] = name;
    if (bytes.empty()) {
      r["status"] = "error";
      r["error"] = {{"code", "empty"}, {"message", "the file is empty"}};
      return r;
    }
    r["status"] = "ok";
    r["kind"] = "image";
    r["md5"] = std::string(32, 'a');
    r["sha256"] = std::string(64, 'b');
    r["frames"] = nlohmann::ordered_json::array(
        {{{"pdq", std::string(64, bytes[0] & 1 ? 'f' : '0')}, {"quality", 100}}});
    return r;
  }
  std::string where() const override { return "fixed"; }
};

struct World {
  World() : lookups(true) {
    lookups.replace(std::make_shared<const Matcher>(HashLists{}, MatchRules{}));
    gate.replace(std::make_shared<const serve::TokenSet>(serve::TokenSet::of({kToken})));
    serve::UrlPolicy policy;
    policy.only_allowed_hosts = true;  // no allowed host: url= never leaves the process
    api =
        std::make_unique<serve::HttpApi>(serve::ServeDeps{lookups, hashing, gate, policy, metrics},
                                         serve::ApiLimits{kMaxBody, 64, 4});
  }
  serve::LookupService lookups;
  FixedHashing hashing;
  serve::TokenGate gate;
  MetricsEndpoint metrics{""};
  std::unique_ptr<serve::HttpApi> api;
};

World& world() {
  static World w;
  return w;
}

constexpr const char* kMethods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "get"};
constexpr const char* kPaths[] = {"/h/hash",      "/m/raw_lookup",   "/m/lookup",
                                  "/m/compare",   "/m/index/status", "/status",
                                  "/status/live", "/openapi.json"};
constexpr const char* kHeaders[] = {"Content-Length", "Transfer-Encoding", "Content-Encoding",
                                    "Content-Type",   "Authorization",     "content-length"};

std::string text(ByteReader& in) { return std::string(in.text(in.byte() % 96)); }

bool json_error(const serve::HttpAnswer& a) {
  const auto j = nlohmann::json::parse(a.body, nullptr, false);
  return j.is_object() && j.contains("message") && j["message"].is_string() && j.contains("code") &&
         j["code"].is_string() && !j["code"].get<std::string>().empty();
}

}  // namespace

void serve_request(Input input) {
  ByteReader in(input);
  serve::HttpRequest req;
  const uint8_t m = in.byte();
  req.method = m < 240 ? kMethods[m % std::size(kMethods)] : text(in);
  const uint8_t p = in.byte();
  req.path = p < 240 ? kPaths[p % std::size(kPaths)] : text(in);
  for (int n = in.byte() % 6; n > 0; --n) {
    std::string k = text(in);
    req.query.emplace_back(std::move(k), text(in));
  }
  int authorizations = 0;
  bool good_token = false;
  for (int n = in.byte() % 6; n > 0; --n) {
    const uint8_t h = in.byte();
    std::string name = h < 200 ? kHeaders[h % std::size(kHeaders)] : text(in);
    std::string value;
    if (name == "Authorization" && (in.byte() & 1)) {
      value = "Bearer " + std::string(kToken);
    } else {
      value = text(in);
    }
    if (name == "Authorization") {
      ++authorizations;
      good_token = value == "Bearer " + std::string(kToken);
    }
    req.headers.emplace_back(std::move(name), std::move(value));
  }
  req.body = std::string(in.text(in.left()));

  serve::HttpApi& api = *world().api;
  const serve::Admission a = api.admit(req);
  static const std::set<int> kEarly = {400, 401, 404, 405, 413, 415, 501};
  const bool open =
      req.path == "/status" || req.path == "/status/live" || req.path == "/openapi.json";
  if (a.refusal) {
    FUZZ_CHECK(kEarly.count(a.refusal->status) == 1);
    FUZZ_CHECK(json_error(*a.refusal));
  } else {
    FUZZ_CHECK(open || (authorizations == 1 && good_token));
    if (const std::string* length = req.header("Content-Length")) {
      std::string_view v = *length;  // as admit() reads it: spaces and tabs around
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      FUZZ_CHECK(!v.empty() && v.size() <= 19 && std::stoull(std::string(v)) <= kMaxBody);
    }
    FUZZ_CHECK(req.header_count("Content-Length") <= 1);
    FUZZ_CHECK(req.header("Content-Encoding") == nullptr);
    const serve::HttpAnswer answer = api.answer(req);
    FUZZ_CHECK(answer.status >= 200 && answer.status < 600);
    if (answer.status >= 400) FUZZ_CHECK(json_error(answer));
  }

  // The body as a form, under the Content-Type given (or a fixed one).
  const std::string* type = req.header("Content-Type");
  try {
    const auto parts =
        serve::parse_form(type ? *type : "multipart/form-data; boundary=\"b\"", req.body, 4);
    FUZZ_CHECK(parts.size() <= 4);
    for (const auto& part : parts)
      FUZZ_CHECK(part.content.data() >= req.body.data() &&
                 part.content.data() + part.content.size() <= req.body.data() + req.body.size());
  } catch (const serve::ApiError& e) {
    FUZZ_CHECK(e.status() == 400);
  }
}

}  // namespace frameprint::fuzz

FRAMEPRINT_FUZZ_ENTRY(frameprint::fuzz::serve_request)
