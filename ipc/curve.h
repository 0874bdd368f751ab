// CurveZMQ (RFC 26) keys and ZAP (RFC 27) authentication for the pool.
// Key files are ZeroMQ's certificate files (as CZMQ's zcert writes them):
//   NAME.pub   curve / public-key = "<40 Z85 characters>"
//   NAME.key   the same plus secret-key = "...", mode 0600
// The broker is the CURVE server on both of its sockets; it lets in only
// clients and workers whose public keys are in its allow-lists (directories
// of .pub files, one list per side), checked by a ZAP handler in its own
// thread and again on every message, so that a key removed from a list
// (SIGHUP reload) is cut off even on connections made before.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include <zmq.hpp>

#include "ipc/common/log_limiter.h"

namespace frameprint::curve {

inline constexpr size_t kZ85KeyLength = 40;

struct KeyPair {
  std::string public_key;  // Z85
  std::string secret_key;  // Z85; empty for a public-only certificate
};

KeyPair generate();
// Writes base.pub and base.key (0600), creating base's folder (0700) when
// it is missing. An existing pair is kept (std::runtime_error saying so)
// unless `replace`; each file is written under a temporary name and renamed
// into place. Throws std::runtime_error.
void write_files(const std::filesystem::path& base, const KeyPair& keys, bool replace = false);
// Reads a certificate (.key: both keys; .pub: the public key). A file whose
// only content is a Z85 key is taken as a public key. Throws
// std::runtime_error naming the file.
KeyPair read_file(const std::filesystem::path& file);

// How a program talks to the broker: with CURVE (keys given) or, only when
// allowed, in plaintext.
struct ClientKeys {
  std::string public_key, secret_key;  // ours
  std::string server_key;              // the broker's, pinned
  bool enabled() const { return !server_key.empty(); }
  // Reads --curve-key PATH.key and --broker-key BROKER.pub (both or neither).
  static ClientKeys load(const std::string& key_file, const std::string& broker_key_file);
};
void apply(zmq::socket_t& socket, const ClientKeys& keys);

// localhost, an IPv4 literal in 127.0.0.0/8, ::1 or [::1].
bool is_loopback_host(std::string_view host);

// Without CURVE a program binds and connects only to loopback, ipc:// and
// inproc:// endpoints, unless --insecure was given. Throws
// std::invalid_argument saying so for any other endpoint.
void check_exposure(std::string_view endpoint, bool curve, bool insecure);

// The broker's allow-lists and ZAP handler. Domains are the sockets'
// zap_domain names ("clients", "workers").
class Authenticator {
 public:
  // Binds the ZAP endpoint in `ctx` (there is one per context).
  explicit Authenticator(zmq::context_t& ctx);
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // Replaces a domain's allowed keys with the .pub files in `dir`. Throws
  // std::runtime_error (and keeps the old list) when the directory or a
  // file in it cannot be read.
  void load(const std::string& domain, const std::filesystem::path& dir);
  bool allowed(const std::string& domain, const std::string& public_key_z85) const;
  size_t size(const std::string& domain) const;

  // Answers every ZAP request waiting (call when the socket is readable).
  void serve();
  zmq::socket_t& socket() { return zap_; }
  uint64_t refused() const { return refused_; }

 private:
  zmq::socket_t zap_;
  mutable std::mutex mu_;
  std::map<std::string, std::set<std::string>> allowed_;
  uint64_t refused_ = 0;
  LogLimiter log_limit_;
};

}  // namespace frameprint::curve
