#include "worker/serve/tokens.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "ipc/common/unique_fd.h"

namespace frameprint::serve {

namespace {

constexpr size_t kMinTokenChars = 24;
constexpr size_t kMaxTokenChars = 4096;
constexpr off_t kMaxFileBytes = off_t{16} << 20;

std::string octal_mode(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

std::array<uint8_t, 32> digest(std::string_view s) {
  std::array<uint8_t, 32> d{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

void check_token(std::string_view t, const std::string& where) {
  if (t.size() < kMinTokenChars || t.size() > kMaxTokenChars)
    throw std::runtime_error(where + ": a token must have " + std::to_string(kMinTokenChars) +
                             " to " + std::to_string(kMaxTokenChars) + " characters");
  for (char c : t)
    if (c <= ' ' || c > '~')
      throw std::runtime_error(where + ": a token is printable ASCII without spaces");
}

}  // namespace

TokenSet TokenSet::load(const std::filesystem::path& file) {
  // The file checked is the file read: opened first, then looked at.
  const UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0)
    throw std::runtime_error(file.string() + ": cannot read the token file");
  if (!S_ISREG(st.st_mode)) throw std::runtime_error(file.string() + ": not a regular file");
  // Secrets are the owner's alone (docs/security.md): no access for the
  // group or anyone else.
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    throw std::runtime_error(file.string() +
                             ": the token file is open to its group or to others (mode " +
                             octal_mode(st.st_mode) + "; chmod 600 it)");
  if (st.st_size > kMaxFileBytes)
    throw std::runtime_error(file.string() + ": larger than " + std::to_string(kMaxFileBytes) +
                             " bytes");
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  TokenSet set;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (n > 100000) throw std::runtime_error(file.string() + ": more than 100000 lines");
    const std::string_view t = trim(line);
    if (t.empty() || t.front() == '#') continue;
    check_token(t, file.string() + ":" + std::to_string(n));
    set.digests_.push_back(digest(t));
  }
  if (set.digests_.empty()) throw std::runtime_error(file.string() + ": no token in the file");
  return set;
}

TokenSet TokenSet::of(const std::vector<std::string_view>& tokens) {
  TokenSet set;
  for (auto t : tokens) {
    check_token(t, "token");
    set.digests_.push_back(digest(t));
  }
  return set;
}

bool TokenSet::accepts(std::string_view token) const {
  if (token.empty() || token.size() > kMaxTokenChars) return false;
  const auto d = digest(token);
  int found = 0;
  for (const auto& known : digests_) found |= CRYPTO_memcmp(known.data(), d.data(), d.size()) == 0;
  return found != 0;
}

bool TokenSet::accepts_header(std::string_view header) const {
  constexpr std::string_view kScheme = "Bearer ";
  if (header.size() <= kScheme.size()) return false;
  // The scheme is case-insensitive (RFC 7235).
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i])))
      return false;
  return accepts(trim(header.substr(kScheme.size())));
}

}  // namespace frameprint::serve
