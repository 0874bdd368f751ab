#include "worker/media/digest.h"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "worker/media/media_error.h"
#include "worker/media/media_source.h"

namespace frameprint {

namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

MdCtx start(const EVP_MD* md) {
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1)
    throw MediaError(ErrorCode::kInternal, "cannot initialise message digest");
  return ctx;
}

std::string finish(EVP_MD_CTX* ctx) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx, out, &len) != 1)
    throw MediaError(ErrorCode::kInternal, "message digest failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string s(2 * len, '0');
  for (unsigned i = 0; i < len; ++i) {
    s[2 * i] = hex[out[i] >> 4];
    s[2 * i + 1] = hex[out[i] & 15];
  }
  return s;
}

// The three digests side by side, so that the bytes are read once.
class DigestSet {
 public:
  DigestSet() : md5_(start(EVP_md5())), sha1_(start(EVP_sha1())), sha256_(start(EVP_sha256())) {}
  void update(const uint8_t* data, size_t n) {
    if (EVP_DigestUpdate(md5_.get(), data, n) != 1 || EVP_DigestUpdate(sha1_.get(), data, n) != 1 ||
        EVP_DigestUpdate(sha256_.get(), data, n) != 1)
      throw MediaError(ErrorCode::kInternal, "message digest update failed");
  }
  FileDigests finish_all() {
    return FileDigests{finish(md5_.get()), finish(sha1_.get()), finish(sha256_.get())};
  }

 private:
  MdCtx md5_, sha1_, sha256_;
};

// Cache-sized chunks: each is hashed by every digest while it is warm.
constexpr size_t kChunk = 1 << 18;

}  // namespace

FileDigests compute_digests(std::span<const uint8_t> bytes) {
  DigestSet d;
  for (size_t off = 0; off < bytes.size(); off += kChunk)
    d.update(bytes.data() + off, std::min(kChunk, bytes.size() - off));
  return d.finish_all();
}

FileDigests compute_digests(const MediaSource& source) {
  DigestSet d;
  std::vector<uint8_t> buf(kChunk);
  for (uint64_t off = 0;;) {
    const size_t n = source.read_at(off, buf);
    if (n == 0) break;
    d.update(buf.data(), n);
    off += n;
  }
  return d.finish_all();
}

}  // namespace frameprint
