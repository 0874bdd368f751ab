// Exact-match hashes of an input's bytes, as lowercase hex: MD5 and SHA-256
// (the digests Take It Down, StopNCII and ThreatExchange lists carry) and
// SHA-1 (still found in older lists). All three are computed in one pass.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace frameprint {

struct FileDigests {
  std::string md5;
  std::string sha1;
  std::string sha256;
};

FileDigests compute_digests(std::span<const uint8_t> bytes);
// Streams the source's bytes through the digests once.
FileDigests compute_digests(const class MediaSource& source);

}  // namespace frameprint
