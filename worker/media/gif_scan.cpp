#include "worker/media/gif_scan.h"

#include <algorithm>
#include <array>
#include <vector>

#include "worker/media/media_source.h"

namespace frameprint {

namespace {

// Sequential reads over read_at, 64 KiB at a time.
class Reader {
 public:
  explicit Reader(const MediaSource& s) : s_(s), buf_(1 << 16) {}
  bool byte(uint8_t& out) {
    if (pos_ == end_) {
      offset_ += end_;
      end_ = s_.read_at(offset_, buf_);
      pos_ = 0;
      if (end_ == 0) return false;
    }
    out = buf_[pos_++];
    return true;
  }
  bool skip(uint64_t n) {
    uint8_t b = 0;
    const uint64_t in_buffer = std::min<uint64_t>(n, end_ - pos_);
    pos_ += in_buffer;
    n -= in_buffer;
    if (n == 0) return true;
    offset_ += end_ + n - 1;  // past the skipped bytes, bar the one read below
    pos_ = end_ = 0;
    return byte(b);
  }
  bool u16(int& out) {
    uint8_t lo = 0, hi = 0;
    if (!byte(lo) || !byte(hi)) return false;
    out = lo | hi << 8;
    return true;
  }
  // Data sub-blocks up to and including the zero-length terminator.
  bool sub_blocks() {
    for (;;) {
      uint8_t n = 0;
      if (!byte(n)) return false;
      if (n == 0) return true;
      if (!skip(n)) return false;
    }
  }

 private:
  const MediaSource& s_;
  std::vector<uint8_t> buf_;
  uint64_t offset_ = 0;
  size_t pos_ = 0, end_ = 0;
};

}  // namespace

GifShape scan_gif(const MediaSource& source) {
  GifShape g;
  Reader r(source);
  uint8_t packed = 0, b = 0;
  if (!r.skip(6) || !r.u16(g.width) || !r.u16(g.height) || !r.byte(packed) || !r.skip(2)) return g;
  if ((packed & 0x80) && !r.skip(3u << ((packed & 7) + 1))) return g;
  int left = g.width, top = g.height, right = 0, bottom = 0;
  for (;;) {
    if (!r.byte(b)) break;
    if (b == 0x3B) break;  // trailer
    if (b == 0x21) {       // extension: label, then data sub-blocks
      if (!r.skip(1) || !r.sub_blocks()) break;
      continue;
    }
    if (b != 0x2C) break;  // not a GIF block: the decoder will say so
    int x = 0, y = 0, w = 0, h = 0;
    if (!r.u16(x) || !r.u16(y) || !r.u16(w) || !r.u16(h) || !r.byte(packed)) break;
    if ((packed & 0x80) && !r.skip(3u << ((packed & 7) + 1))) break;
    if (!r.skip(1) || !r.sub_blocks()) break;  // LZW minimum code size, image data
    ++g.frames;
    left = std::min(left, x);
    top = std::min(top, y);
    right = std::max(right, std::min(x + w, g.width));
    bottom = std::max(bottom, std::min(y + h, g.height));
  }
  if (right > left && bottom > top) g.drawn_pixels = int64_t{right - left} * (bottom - top);
  return g;
}

}  // namespace frameprint
