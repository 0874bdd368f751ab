// Fetching the media behind a `url=` parameter (frameprint serve), so that
// a client cannot turn the server against its own network: http and https
// only (on every redirect too), no proxy from the environment, no
// compressed transfer, bounded in bytes, time and redirects, and every
// address the connection is about to use is checked (after DNS, so a name
// that resolves to a private address is caught): loopback, private,
// link-local, multicast and other non-public addresses are refused unless
// the URL's host is named in `allow_hosts`.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

struct sockaddr;

namespace frameprint::serve {

struct UrlPolicy {
  std::vector<std::string> allow_hosts;  // may be at non-public addresses (lower case)
  bool only_allowed_hosts = false;       // refuse every host not in allow_hosts
  uint64_t max_bytes = uint64_t{100} << 20;
  std::chrono::milliseconds timeout{30000};  // the whole fetch, redirects included
  int max_redirects = 5;
  std::string user_agent = "frameprint";
};

// What went wrong, with the HTTP status a server should answer with:
// 400 (a URL or address the policy refuses), 413 (too large), 502 (the
// remote server failed or answered an error), 504 (too slow).
class FetchError : public std::runtime_error {
 public:
  FetchError(int status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

struct Fetched {
  std::vector<uint8_t> bytes;
  std::string content_type;  // as the server sent it; may be empty
  std::string final_url;     // after redirects
};

// --allow-url-host, --only-allowed-url-hosts, --url-timeout: the same in
// serve (url=) and the worker (URL jobs).
struct UrlFetchOptions {
  std::vector<std::string> allow_hosts;
  bool only_allowed_hosts = false;
  double timeout_s = 30;
};
void add_url_fetch_options(CLI::App& app, UrlFetchOptions& o, const std::string& what);
// The policy they ask for (host names in lower case).
UrlPolicy url_policy(const UrlFetchOptions& o, uint64_t max_bytes, std::string user_agent);

// Needs curl_global_init to have been called (CurlGlobal). Throws FetchError.
Fetched fetch_url(const std::string& url, const UrlPolicy& policy);

// Whether `sa` (AF_INET or AF_INET6) is a public unicast address: not
// loopback, private (RFC 1918, fc00::/7), shared (100.64/10), link-local,
// multicast, unspecified, documentation, benchmarking or reserved, and
// not such an address inside an IPv4-mapped or NAT64 IPv6 address.
bool is_public_address(const sockaddr* sa);

// libcurl's process-wide set-up, once, before any thread fetches.
class CurlGlobal {
 public:
  CurlGlobal();
  ~CurlGlobal();
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
};

}  // namespace frameprint::serve
