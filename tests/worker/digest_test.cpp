#include "worker/media/digest.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <string>

#include "tests/support/temp_dir.h"
#include "worker/media/media_error.h"
#include "worker/media/media_source.h"

namespace frameprint {
namespace {

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Published test vectors: RFC 1321 (MD5) and FIPS 180-2 (SHA-1, SHA-256).
TEST(Digest, MatchesPublishedTestVectors) {
  const FileDigests abc = compute_digests(bytes_of("abc"));
  EXPECT_EQ(abc.md5, "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(abc.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(abc.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const FileDigests empty = compute_digests(std::span<const uint8_t>{});
  EXPECT_EQ(empty.md5, "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(empty.sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(empty.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Digest, LongInputSpanningManyChunks) {
  // FIPS 180-2: one million 'a' -> cdc76e5c...; crosses the 256 KiB chunking.
  const std::string million(1'000'000, 'a');
  const FileDigests d = compute_digests(bytes_of(million));
  EXPECT_EQ(d.sha256, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(d.md5, "7707d6ae4e027c70eea2a935c2296f21");
  EXPECT_EQ(d.sha1, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST(Digest, StreamingOverAFileEqualsHashingTheBytes) {
  testing::TempDir dir;
  std::vector<uint8_t> bytes(700'001);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7 + i / 1000);
  const auto path = dir.write("blob.bin", bytes);
  MediaSource file = MediaSource::open_file(path);
  EXPECT_EQ(file.size(), bytes.size());
  const FileDigests streamed = compute_digests(file);
  const FileDigests direct = compute_digests(std::span<const uint8_t>(bytes));
  EXPECT_EQ(streamed.md5, direct.md5);
  EXPECT_EQ(streamed.sha1, direct.sha1);
  EXPECT_EQ(streamed.sha256, direct.sha256);
}

TEST(MediaSource, RefusesWhatIsNotARegularFile) {
  testing::TempDir dir;
  const auto fifo = dir / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::filesystem::path& p : {fifo, std::filesystem::path("/dev/zero"), dir.path()}) {
    try {
      MediaSource::open_file(p);  // must not block on the FIFO or read /dev/zero forever
      ADD_FAILURE() << p << " was accepted";
    } catch (const MediaError& e) {
      EXPECT_EQ(e.code(), ErrorCode::kIoError) << p;
    }
  }
}

TEST(MediaSource, ReadsPartsAndTheWhole) {
  testing::TempDir dir;
  const std::vector<uint8_t> bytes = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  MediaSource s = MediaSource::open_file(dir.write("f", bytes));
  std::vector<uint8_t> buf(4);
  EXPECT_EQ(s.read_at(7, buf), 2u);
  EXPECT_EQ(buf[0], 8);
  EXPECT_EQ(s.read_at(9, buf), 0u);
  EXPECT_EQ(s.head(3).size(), 3u);
  const auto all = s.contiguous(100);
  EXPECT_EQ(std::vector<uint8_t>(all.begin(), all.end()), bytes);
  EXPECT_THROW(s.contiguous(5), MediaError);
}

}  // namespace
}  // namespace frameprint
