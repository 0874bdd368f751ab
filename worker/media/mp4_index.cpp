#include "worker/media/mp4_index.h"

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "worker/media/media_error.h"
#include "worker/media/media_source.h"

namespace frameprint {

namespace {

constexpr int kMaxDepth = 16;       // deeper nesting is not a real file
constexpr int kMaxBoxes = 1 << 20;  // nor is a million boxes

uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
uint64_t be64(const uint8_t* p) { return uint64_t{be32(p)} << 32 | be32(p + 4); }

class Walker {
 public:
  explicit Walker(const MediaSource& s) : s_(s), file_(s.size()) {}

  void walk(uint64_t begin, uint64_t end, int depth) {
    uint64_t at = begin;
    while (at + 8 <= end) {
      if (++boxes_ > kMaxBoxes) fail("more than a million boxes");
      uint8_t h[16];
      if (read(at, h, 8) < 8) return;
      uint64_t size = be32(h);
      const std::string_view type(reinterpret_cast<const char*>(h + 4), 4);
      uint64_t header = 8;
      if (size == 1) {
        if (read(at + 8, h + 8, 8) < 8) return;
        size = be64(h + 8);
        header = 16;
      } else if (size == 0) {
        size = end - at;  // to the end of the enclosing box
      }
      if (size < header || size > end - at) return;  // FFmpeg stops here too
      const uint64_t payload = at + header, payload_end = at + size;
      if (is_container(type) && depth < kMaxDepth) walk(payload, payload_end, depth + 1);
      else check(type, payload, payload_end - payload);
      at += size;
    }
  }

  uint64_t samples() const { return samples_; }

 private:
  static bool is_container(std::string_view t) {
    return t == "moov" || t == "trak" || t == "mdia" || t == "minf" || t == "stbl" || t == "moof" ||
           t == "traf" || t == "edts" || t == "mvex";
  }

  size_t read(uint64_t offset, uint8_t* out, size_t n) const {
    return s_.read_at(offset, std::span<uint8_t>(out, n));
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw MediaError(ErrorCode::kDecodeFailed, "the MP4 index is impossible (" + what +
                                                   " in a file of " + std::to_string(file_) +
                                                   " bytes); refused before it is read");
  }

  void claim_entries(std::string_view type, uint64_t entries, uint64_t entry_bytes,
                     uint64_t room) const {
    if (entries > room / entry_bytes)
      fail(std::string(type) + " claims " + std::to_string(entries) + " entries of " +
           std::to_string(entry_bytes) + " bytes in a box of " + std::to_string(room));
  }

  void claim_samples(std::string_view type, uint64_t count, uint64_t each) {
    // Every sample is at least one byte of the file (of `each` when all
    // have that size), in all tracks together.
    if (count > file_ / std::max<uint64_t>(each, 1))
      fail(std::string(type) + " claims " + std::to_string(count) + " samples" +
           (each > 1 ? " of " + std::to_string(each) + " bytes" : ""));
    samples_ += count;
    if (samples_ > file_) fail("the tracks claim " + std::to_string(samples_) + " samples");
  }

  void check(std::string_view t, uint64_t at, uint64_t bytes) {
    std::array<uint8_t, 16> h{};
    if (t == "stsz") {
      if (bytes < 12 || read(at, h.data(), 12) < 12) return;
      const uint32_t size = be32(&h[4]), count = be32(&h[8]);
      if (size == 0) claim_entries(t, count, 4, bytes - 12);
      claim_samples(t, count, size);
    } else if (t == "stz2") {
      if (bytes < 12 || read(at, h.data(), 12) < 12) return;
      const uint32_t bits = h[7], count = be32(&h[8]);
      if (bits != 4 && bits != 8 && bits != 16) return;  // FFmpeg refuses it
      if (uint64_t{count} * bits > (bytes - 12) * 8)
        fail("stz2 claims " + std::to_string(count) + " sizes in a box of " +
             std::to_string(bytes));
      claim_samples(t, count, 1);
    } else if (t == "stts" || t == "ctts" || t == "stsc" || t == "stco" || t == "co64" ||
               t == "stss" || t == "stps" || t == "elst") {
      if (bytes < 8 || read(at, h.data(), 8) < 8) return;
      const uint32_t count = be32(&h[4]);
      const uint64_t each = t == "stts" || t == "ctts" || t == "co64" ? 8
                            : t == "stsc"                             ? 12
                            : t == "elst"                             ? (h[0] == 1 ? 20 : 12)
                                                                      : 4;
      claim_entries(t, count, each, bytes - 8);
    } else if (t == "trun") {
      if (bytes < 8 || read(at, h.data(), 8) < 8) return;
      const uint32_t flags = be32(&h[0]) & 0xFFFFFF, count = be32(&h[4]);
      uint64_t each = 0;  // bytes per sample in the box
      for (uint32_t f : {0x100u, 0x200u, 0x400u, 0x800u}) each += (flags & f) ? 4 : 0;
      if (each) claim_entries(t, count, each, bytes - 8);
      claim_samples(t, count, 1);
    }
  }

  const MediaSource& s_;
  uint64_t file_;
  uint64_t samples_ = 0;
  int boxes_ = 0;
};

}  // namespace

uint64_t check_mp4_index(const MediaSource& source) {
  Walker w(source);
  w.walk(0, source.size(), 0);
  return w.samples();
}

}  // namespace frameprint
