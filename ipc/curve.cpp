#include "ipc/curve.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <spdlog/spdlog.h>
#include <zmq_addon.hpp>

#include "ipc/common/unique_fd.h"

namespace frameprint::curve {

namespace fs = std::filesystem;

namespace {

bool is_z85_key(std::string_view s) {
  if (s.size() != kZ85KeyLength) return false;
  std::array<uint8_t, 32> bin{};
  return zmq_z85_decode(bin.data(), std::string(s).c_str()) != nullptr;
}

// The quoted value of `name = "..."` on a certificate line, if it is one.
std::optional<std::string> value_of(const std::string& line, std::string_view name) {
  const auto at = line.find(name);
  if (at == std::string::npos) return std::nullopt;
  const auto q1 = line.find('"', at + name.size());
  const auto q2 = q1 == std::string::npos ? q1 : line.find('"', q1 + 1);
  if (q2 == std::string::npos) return std::nullopt;
  return line.substr(q1 + 1, q2 - q1 - 1);
}

std::string certificate(const KeyPair& k, bool with_secret) {
  std::ostringstream out;
  out << "#   ****  frameprint CURVE " << (with_secret ? "secret" : "public")
      << " certificate  ****\n"
      << (with_secret ? "#   Keep this file private: it grants this identity.\n"
                      : "#   Give this file to the broker's allow-list or to its peers.\n")
      << "metadata\ncurve\n    public-key = \"" << k.public_key << "\"\n";
  if (with_secret) out << "    secret-key = \"" << k.secret_key << "\"\n";
  return out.str();
}

void write_exclusive(const fs::path& path, const std::string& text, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd)
    throw std::runtime_error(path.string() + ": cannot create (" + std::strerror(errno) + ")");
  if (::fchmod(fd.get(), mode) != 0 ||
      ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw std::runtime_error(path.string() + ": cannot write");
}

}  // namespace

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "[::1]" || host == "::1") return true;
  // An IPv4 literal in 127.0.0.0/8, not a name that starts like one
  // ("127.evil.example" is anyone's).
  if (host.empty() || host.size() > 15) return false;
  const std::string text(host);
  in_addr a{};
  return ::inet_pton(AF_INET, text.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

KeyPair generate() {
  char pub[kZ85KeyLength + 1] = {}, sec[kZ85KeyLength + 1] = {};
  if (zmq_curve_keypair(pub, sec) != 0)
    throw std::runtime_error("this libzmq cannot make CURVE keys (built without libsodium?)");
  return {pub, sec};
}

void write_files(const fs::path& base, const KeyPair& keys, bool replace) {
  const fs::path key = fs::path(base.string() + ".key"), pub = fs::path(base.string() + ".pub");
  const std::string taken =
      " already exists: keygen does not overwrite a key pair (give --force to replace it; every "
      "program that trusts the old public key must then be given the new one)";
  std::error_code ec;
  for (const fs::path& p : {key, pub})
    if (!replace && fs::exists(fs::symlink_status(p, ec)))
      throw std::runtime_error(p.string() + taken);
  // A folder made here holds a secret key: only its owner may look in.
  if (const fs::path dir = base.parent_path(); !dir.empty() && !fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) throw std::runtime_error(dir.string() + ": cannot create (" + ec.message() + ")");
    fs::permissions(dir, fs::perms::owner_all, ec);
  }
  // Both files are written whole under temporary names first, then put in
  // place: a reader never sees half a key, and a failure leaves no new file.
  struct Temp {
    fs::path path;
    ~Temp() {
      std::error_code ignored;
      if (!path.empty()) fs::remove(path, ignored);
    }
  };
  Temp key_tmp{fs::path(key.string() + ".tmp")}, pub_tmp{fs::path(pub.string() + ".tmp")};
  for (const Temp* t : {&key_tmp, &pub_tmp}) fs::remove(t->path, ec);
  write_exclusive(key_tmp.path, certificate(keys, true), 0600);
  write_exclusive(pub_tmp.path, certificate(keys, false), 0644);
  for (auto [tmp, path] : {std::pair{&key_tmp, &key}, std::pair{&pub_tmp, &pub}}) {
    // Without --force a file that appeared meanwhile is still not replaced:
    // link() fails where the name exists, rename() would not.
    const bool placed = replace ? ::rename(tmp->path.c_str(), path->c_str()) == 0
                                : ::link(tmp->path.c_str(), path->c_str()) == 0;
    if (!placed)
      throw std::runtime_error(errno == EEXIST ? path->string() + taken
                                               : path->string() + ": cannot write (" +
                                                     std::strerror(errno) + ")");
  }
}

KeyPair read_file(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(file.string() + ": cannot read key file");
  KeyPair k;
  std::string line;
  for (int n = 0; n < 64 && std::getline(in, line); ++n) {
    if (auto v = value_of(line, "public-key")) k.public_key = *v;
    else if (auto s = value_of(line, "secret-key")) k.secret_key = *s;
    else if (n == 0 && is_z85_key(line)) k.public_key = line;
  }
  if (!is_z85_key(k.public_key))
    throw std::runtime_error(file.string() + ": no valid Z85 public-key in this key file");
  if (!k.secret_key.empty() && !is_z85_key(k.secret_key))
    throw std::runtime_error(file.string() + ": the secret-key is not a valid Z85 key");
  return k;
}

ClientKeys ClientKeys::load(const std::string& key_file, const std::string& broker_key_file) {
  ClientKeys c;
  if (key_file.empty() && broker_key_file.empty()) return c;
  if (key_file.empty() || broker_key_file.empty())
    throw std::invalid_argument("--curve-key and --broker-key go together");
  const KeyPair mine = read_file(key_file);
  if (mine.secret_key.empty())
    throw std::invalid_argument(key_file +
                                ": has no secret-key (give the .key file, not the .pub)");
  c.public_key = mine.public_key;
  c.secret_key = mine.secret_key;
  c.server_key = read_file(broker_key_file).public_key;
  return c;
}

void apply(zmq::socket_t& socket, const ClientKeys& keys) {
  if (!keys.enabled()) return;
  socket.set(zmq::sockopt::curve_serverkey, keys.server_key);
  socket.set(zmq::sockopt::curve_publickey, keys.public_key);
  socket.set(zmq::sockopt::curve_secretkey, keys.secret_key);
}

void check_exposure(std::string_view endpoint, bool curve, bool insecure) {
  if (curve || insecure) return;
  if (endpoint.starts_with("ipc://") || endpoint.starts_with("inproc://")) return;
  if (endpoint.starts_with("tcp://")) {
    std::string_view rest = endpoint.substr(6);
    const auto semicolon = rest.find(';');  // tcp://source;dest: judge the destination
    if (semicolon != std::string_view::npos) rest = rest.substr(semicolon + 1);
    const auto colon = rest.rfind(':');
    if (colon != std::string_view::npos && is_loopback_host(rest.substr(0, colon))) return;
  }
  throw std::invalid_argument(std::string(endpoint) +
                              " is not a loopback or ipc:// endpoint: without encryption the pool "
                              "carries media in the clear. Give --curve-key (and the peers' keys), "
                              "or --insecure to accept that");
}

Authenticator::Authenticator(zmq::context_t& ctx) : zap_(ctx, zmq::socket_type::rep) {
  zap_.set(zmq::sockopt::linger, 0);
  zap_.bind("inproc://zeromq.zap.01");
}

Authenticator::~Authenticator() = default;

void Authenticator::load(const std::string& domain, const fs::path& dir) {
  std::set<std::string> keys;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec)
    throw std::runtime_error(dir.string() + ": cannot read the allow-list directory (" +
                             ec.message() + ")");
  for (const auto& e : it) {
    if (e.path().extension() != ".pub") continue;
    keys.insert(read_file(e.path()).public_key);
  }
  std::lock_guard lock(mu_);
  allowed_[domain] = std::move(keys);
}

bool Authenticator::allowed(const std::string& domain, const std::string& key) const {
  std::lock_guard lock(mu_);
  const auto it = allowed_.find(domain);
  return it != allowed_.end() && it->second.count(key) > 0;
}

size_t Authenticator::size(const std::string& domain) const {
  std::lock_guard lock(mu_);
  const auto it = allowed_.find(domain);
  return it == allowed_.end() ? 0 : it->second.size();
}

void Authenticator::serve() {
  for (;;) {
    std::vector<zmq::message_t> req;
    if (!zmq::recv_multipart(zap_, std::back_inserter(req), zmq::recv_flags::dontwait)) return;
    // RFC 27: version, request id, domain, address, identity, mechanism, credentials...
    auto text = [&](size_t i) { return i < req.size() ? req[i].to_string() : std::string(); };
    std::string status = "400", reason = "not allowed", user;
    if (req.size() >= 7 && text(0) == "1.0" && text(5) == "CURVE" && req[6].size() == 32) {
      char z85[kZ85KeyLength + 1] = {};
      zmq_z85_encode(z85, static_cast<const uint8_t*>(req[6].data()), 32);
      if (allowed(text(2), z85)) {
        status = "200";
        reason = "OK";
        user = z85;  // becomes each message's User-Id property
      }
    } else {
      reason = "CURVE required";
    }
    if (status != "200") {
      ++refused_;
      uint64_t held_back = 0;
      if (log_limit_.allow(LogLimiter::Clock::now(), held_back))
        spdlog::warn(
            "refused a {} connection from {} ({}){}", text(2).empty() ? "?" : text(2), text(3),
            reason,
            held_back ? " and " + std::to_string(held_back) + " more since the last line" : "");
    }
    std::array<zmq::message_t, 6> rep = {zmq::message_t(std::string("1.0")),
                                         zmq::message_t(text(1)),
                                         zmq::message_t(status),
                                         zmq::message_t(reason),
                                         zmq::message_t(user),
                                         zmq::message_t()};
    (void)zmq::send_multipart(zap_, rep, zmq::send_flags::dontwait);
  }
}

}  // namespace frameprint::curve
