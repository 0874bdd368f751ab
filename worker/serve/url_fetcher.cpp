#include "worker/serve/url_fetcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <memory>

#include <curl/curl.h>

namespace frameprint::serve {

namespace {

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlStr {
  char* p = nullptr;
  ~CurlStr() { curl_free(p); }
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool in_v4(uint32_t a, uint32_t net, int bits) {
  const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return (a & mask) == (net & mask);
}

// a: host byte order.
bool public_v4(uint32_t a) {
  struct Net {
    uint32_t net;
    int bits;
  };
  static constexpr std::array<Net, 15> kNotPublic = {{
      {0x00000000, 8},   // "this network"
      {0x0A000000, 8},   // private
      {0x64400000, 10},  // shared address space (carrier NAT)
      {0x7F000000, 8},   // loopback
      {0xA9FE0000, 16},  // link-local (cloud metadata services live here)
      {0xAC100000, 12},  // private
      {0xC0000000, 24},  // IETF protocol assignments
      {0xC0000200, 24},  // documentation
      {0xC0586300, 24},  // 6to4 relay anycast
      {0xC0A80000, 16},  // private
      {0xC6120000, 15},  // benchmarking
      {0xC6336400, 24},  // documentation
      {0xCB007100, 24},  // documentation
      {0xE0000000, 4},   // multicast
      {0xF0000000, 4},   // reserved, broadcast
  }};
  return std::none_of(kNotPublic.begin(), kNotPublic.end(),
                      [a](const Net& n) { return in_v4(a, n.net, n.bits); });
}

bool public_v6(const uint8_t* b) {
  auto starts = [b](std::initializer_list<uint8_t> prefix, int bits) {
    int i = 0;
    for (uint8_t p : prefix) {
      const int take = std::min(8, bits - i * 8);
      if (take <= 0) break;
      const auto mask = static_cast<uint8_t>(0xFF << (8 - take));
      if ((b[i] & mask) != (p & mask)) return false;
      ++i;
    }
    return true;
  };
  const uint32_t tail =
      uint32_t{b[12]} << 24 | uint32_t{b[13]} << 16 | uint32_t{b[14]} << 8 | b[15];
  const bool zero96 = std::all_of(b, b + 12, [](uint8_t x) { return x == 0; });
  if (zero96) return false;  // ::, ::1 and the deprecated IPv4-compatible form
  if (starts({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, 96)) return public_v4(tail);  // mapped
  if (starts({0x00, 0x64, 0xFF, 0x9B}, 96)) return public_v4(tail);    // NAT64 (64:ff9b::/96)
  if (starts({0x00, 0x64, 0xFF, 0x9B, 0x00, 0x01}, 48)) return false;  // local NAT64
  if (starts({0x01, 0x00}, 64)) return false;                          // discard-only
  if (starts({0x20, 0x01, 0x0D, 0xB8}, 32)) return false;              // documentation
  if (starts({0x20, 0x01, 0x00, 0x00}, 23)) return false;              // IETF assignments
  if (starts({0x20, 0x02}, 16)) return false;                          // 6to4 (embeds any v4)
  if (starts({0xFC}, 7)) return false;                                 // unique local
  if (starts({0xFE, 0x80}, 10)) return false;                          // link-local
  if (starts({0xFE, 0xC0}, 10)) return false;                          // site-local
  if (starts({0xFF}, 8)) return false;                                 // multicast
  return true;
}

struct Transfer {
  const UrlPolicy* policy = nullptr;
  bool private_ok = false;       // the current URL's host is named in allow_hosts
  bool refused_address = false;  // the open-socket check said no
  std::string refused_text;
  bool too_large = false;
  Fetched* out = nullptr;
};

size_t on_data(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  if (t->out->bytes.size() + bytes > t->policy->max_bytes) {
    t->too_large = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  auto& out = t->out->bytes;
  // Grown by doubling, but never past the limit: the buffer stays within
  // max_bytes, not twice that.
  if (out.size() + bytes > out.capacity())
    out.reserve(static_cast<size_t>(std::min<uint64_t>(
        t->policy->max_bytes, std::max<uint64_t>(out.capacity() * 2, out.size() + bytes))));
  out.insert(out.end(), data, data + bytes);
  return bytes;
}

curl_socket_t on_open_socket(void* user, curlsocktype purpose, curl_sockaddr* a) {
  auto* t = static_cast<Transfer*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN || (a->family != AF_INET && a->family != AF_INET6)) {
    t->refused_address = true;
    t->refused_text = "not an IP connection";
    return CURL_SOCKET_BAD;
  }
  if (!t->private_ok && !is_public_address(&a->addr)) {
    char text[INET6_ADDRSTRLEN] = "?";
    if (a->family == AF_INET)
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&a->addr)->sin_addr, text,
                sizeof text);
    else
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&a->addr)->sin6_addr, text,
                sizeof text);
    t->refused_address = true;
    t->refused_text = text;
    return CURL_SOCKET_BAD;
  }
  return ::socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

// The URL's scheme and host, checked against the policy. Throws FetchError.
void check_url(const std::string& url, const UrlPolicy& policy, Transfer& t) {
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u) throw FetchError(500, "out of memory");
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), CURLU_DISALLOW_USER) != CURLUE_OK)
    throw FetchError(400, "not a valid absolute URL (user names and passwords are not accepted)");
  CurlStr scheme, host;
  if (curl_url_get(u.get(), CURLUPART_SCHEME, &scheme.p, 0) != CURLUE_OK)
    throw FetchError(400, "the URL has no scheme");
  const std::string s = lower(scheme.p);
  if (s != "http" && s != "https")
    throw FetchError(400, "only http and https URLs are fetched, not " + s);
  if (curl_url_get(u.get(), CURLUPART_HOST, &host.p, 0) != CURLUE_OK)
    throw FetchError(400, "the URL has no host");
  std::string h = lower(host.p);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const auto& allowed = policy.allow_hosts;
  t.private_ok = std::find(allowed.begin(), allowed.end(), h) != allowed.end();
  if (policy.only_allowed_hosts && !t.private_ok)
    throw FetchError(400, "host " + h + " is not in this server's --allow-url-host list");
}

}  // namespace

bool is_public_address(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return public_v4(ntohl(in->sin_addr.s_addr));
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    return public_v6(in6->sin6_addr.s6_addr);
  }
  return false;
}

CurlGlobal::CurlGlobal() {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    throw std::runtime_error("libcurl could not be initialised");
}
CurlGlobal::~CurlGlobal() { curl_global_cleanup(); }

void add_url_fetch_options(CLI::App& app, UrlFetchOptions& o, const std::string& what) {
  app.add_option("--allow-url-host", o.allow_hosts,
                 "A host that " + what +
                     " may fetch from even at a loopback or private address (repeatable)")
      ->allow_extra_args(false);
  app.add_flag("--only-allowed-url-hosts", o.only_allowed_hosts,
               "Fetch " + what + " from the --allow-url-host hosts only");
  app.add_option("--url-timeout", o.timeout_s, "Longest time fetching one " + what + ", seconds")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
}

UrlPolicy url_policy(const UrlFetchOptions& o, uint64_t max_bytes, std::string user_agent) {
  UrlPolicy p;
  for (auto h : o.allow_hosts) {
    std::transform(h.begin(), h.end(), h.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    p.allow_hosts.push_back(std::move(h));
  }
  p.only_allowed_hosts = o.only_allowed_hosts;
  p.max_bytes = max_bytes;
  p.timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000));
  p.user_agent = std::move(user_agent);
  return p;
}

Fetched fetch_url(const std::string& first_url, const UrlPolicy& policy) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + policy.timeout;
  Fetched out;
  Transfer t;
  t.policy = &policy;
  t.out = &out;
  std::string url = first_url;
  for (int hop = 0;; ++hop) {
    check_url(url, policy, t);
    std::unique_ptr<CURL, EasyDeleter> c(curl_easy_init());
    if (!c) throw FetchError(500, "libcurl could not start a transfer");
    CURL* h = c.get();
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) throw FetchError(504, "fetching the URL took too long");
    out.bytes.clear();
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);  // each hop is checked here
    curl_easy_setopt(h, CURLOPT_PROXY, "");           // never a proxy from the environment
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(left.count()));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min<int64_t>(left.count(), 10000)));
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(policy.max_bytes));
    curl_easy_setopt(h, CURLOPT_USERAGENT, policy.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &t);
    const CURLcode rc = curl_easy_perform(h);
    if (t.refused_address)
      throw FetchError(400, "the URL's host is at an address this server does not fetch from (" +
                                t.refused_text + "); name it with --allow-url-host");
    if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED)
      throw FetchError(
          413, "the URL's content is larger than " + std::to_string(policy.max_bytes) + " bytes");
    if (rc == CURLE_OPERATION_TIMEDOUT) throw FetchError(504, "fetching the URL took too long");
    if (rc == CURLE_UNSUPPORTED_PROTOCOL) throw FetchError(400, "only http and https are fetched");
    if (rc != CURLE_OK)
      throw FetchError(502, std::string("fetching the URL failed: ") + curl_easy_strerror(rc));
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    char* next = nullptr;
    curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &next);
    if (code >= 300 && code < 400 && next) {
      if (hop >= policy.max_redirects)
        throw FetchError(
            502, "the URL redirected more than " + std::to_string(policy.max_redirects) + " times");
      url = next;
      continue;
    }
    if (code < 200 || code >= 300)
      throw FetchError(502, "the URL answered HTTP " + std::to_string(code));
    char* type = nullptr;
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &type);
    out.content_type = type ? type : "";
    out.final_url = url;
    return out;
  }
}

}  // namespace frameprint::serve
