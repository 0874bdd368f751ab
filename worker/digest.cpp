#include "digest.h"

#include <openssl/evp.h>

#include <memory>

#include "media_error.h"

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

}  // namespace

FileDigests compute_digests(std::span<const uint8_t> bytes) {
  MdCtx md5 = start(EVP_md5());
  MdCtx sha = start(EVP_sha256());
  // One pass over the bytes in cache-sized chunks feeds both digests.
  constexpr size_t kChunk = 1 << 18;
  for (size_t off = 0; off < bytes.size(); off += kChunk) {
    const size_t n = std::min(kChunk, bytes.size() - off);
    if (EVP_DigestUpdate(md5.get(), bytes.data() + off, n) != 1 ||
        EVP_DigestUpdate(sha.get(), bytes.data() + off, n) != 1)
      throw MediaError(ErrorCode::kInternal, "message digest update failed");
  }
  return FileDigests{finish(md5.get()), finish(sha.get())};
}

}  // namespace frameprint
