// Exact-match hashes of an input's bytes (MD5 and SHA-256, the digests
// Take It Down and StopNCII lists carry), as lowercase hex.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace frameprint {

struct FileDigests {
  std::string md5;
  std::string sha256;
};

FileDigests compute_digests(std::span<const uint8_t> bytes);
// Streams the source's bytes through both digests.
FileDigests compute_digests(const class MediaSource& source);

}  // namespace frameprint
