#include "worker/digest.h"

#include <gtest/gtest.h>

#include <string>

namespace frameprint {
namespace {

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Published test vectors: RFC 1321 (MD5) and FIPS 180-2 (SHA-256).
TEST(Digest, MatchesPublishedTestVectors) {
  const FileDigests abc = compute_digests(bytes_of("abc"));
  EXPECT_EQ(abc.md5, "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(abc.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const FileDigests empty = compute_digests({});
  EXPECT_EQ(empty.md5, "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(empty.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Digest, LongInputSpanningManyChunks) {
  // FIPS 180-2: one million 'a' -> cdc76e5c...; crosses the 256 KiB chunking.
  const std::string million(1'000'000, 'a');
  const FileDigests d = compute_digests(bytes_of(million));
  EXPECT_EQ(d.sha256, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(d.md5, "7707d6ae4e027c70eea2a935c2296f21");
}

}  // namespace
}  // namespace frameprint
