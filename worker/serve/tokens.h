// Bearer tokens for `frameprint serve --token-file`: one token per line
// (blank lines and `# comments` ignored), at least 24 characters of
// printable ASCII without spaces. Only the SHA-256 of each token is kept;
// a presented token is checked against every one of them in constant time
// (no early exit, CRYPTO_memcmp), so that timing says nothing of how much
// of a token was right.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

namespace frameprint::serve {

class TokenSet {
 public:
  // Throws std::runtime_error naming the file and line at fault; a file
  // with no token, or readable by others than its owner's group, is refused.
  static TokenSet load(const std::filesystem::path& file);
  static TokenSet of(const std::vector<std::string_view>& tokens);  // tests

  // `header`: the Authorization header's value ("Bearer TOKEN").
  bool accepts_header(std::string_view header) const;
  bool accepts(std::string_view token) const;
  size_t size() const { return digests_.size(); }

 private:
  std::vector<std::array<uint8_t, 32>> digests_;
};

}  // namespace frameprint::serve
