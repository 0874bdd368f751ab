#include "worker/media/probe.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace frameprint {

namespace {

using Bytes = std::span<const uint8_t>;

bool starts_with(Bytes b, size_t at, std::string_view magic) {
  return b.size() >= at + magic.size() &&
         std::memcmp(b.data() + at, magic.data(), magic.size()) == 0;
}
uint32_t be16(Bytes b, size_t at) { return (uint32_t{b[at]} << 8) | b[at + 1]; }
uint32_t le16(Bytes b, size_t at) { return uint32_t{b[at]} | (uint32_t{b[at + 1]} << 8); }
uint32_t be32(Bytes b, size_t at) { return (be16(b, at) << 16) | be16(b, at + 2); }
uint32_t le32(Bytes b, size_t at) { return le16(b, at) | (le16(b, at + 2) << 16); }

int clamp_dim(uint64_t v) { return static_cast<int>(std::min<uint64_t>(v, 1u << 30)); }

// Whether the end-of-image marker follows `from`, counting the
// start-of-scan markers on the way. Entropy-coded data never contains FF D9
// or FF DA (a data FF is stuffed as FF 00), so the marker's absence after the
// first scan means the file was cut short. Data appended after the image
// (e.g. a motion photo's video) does not matter.
bool has_eoi_after(Bytes b, size_t from, int& scans) {
  for (size_t i = from; i + 1 < b.size(); ++i) {
    const void* ff = std::memchr(b.data() + i, 0xFF, b.size() - i - 1);
    if (!ff) return false;
    i = static_cast<size_t>(static_cast<const uint8_t*>(ff) - b.data());
    if (b[i + 1] == 0xD9) return true;
    if (b[i + 1] == 0xDA && scans < (1 << 30)) ++scans;
  }
  return false;
}

// The orientation tag of an APP1 segment's payload as OpenCV 4.6 reads it
// (grfmt_jpeg.cpp, exif.cpp): OpenCV takes the first APP1 segment whatever it
// holds, skips 6 bytes ("Exif\0\0") unchecked, reads the TIFF byte order
// (anything but "II" reads as big-endian), requires the 0x2A mark, then walks
// the first IFD in order, keeping the first value of each tag and stopping at
// an entry whose data it cannot read (its reader throws there, and what was
// read before stays). Values outside 1..8 leave the picture as stored.
int exif_orientation(Bytes app1) {
  if (app1.size() <= 6) return 1;
  const Bytes t = app1.subspan(6);
  const bool intel = t[0] == 'I' && (t.size() == 1 || t[1] == 'I');
  struct Stop {};  // OpenCV's ExifParsingError
  auto u16 = [&](uint64_t at) -> uint32_t {
    if (at + 1 >= t.size()) throw Stop{};
    return intel ? le16(t, static_cast<size_t>(at)) : be16(t, static_cast<size_t>(at));
  };
  auto u32 = [&](uint64_t at) -> uint32_t {
    if (at + 3 >= t.size()) throw Stop{};
    return intel ? le32(t, static_cast<size_t>(at)) : be32(t, static_cast<size_t>(at));
  };
  auto rationals = [&](uint64_t entry, int count) {  // each: two u32 at the pointed offset
    const uint64_t at = u32(entry + 8);
    for (int k = 0; k < count; ++k) u32(at + 8u * static_cast<uint64_t>(k) + 4);
  };
  int orientation = 1;
  bool seen = false;  // the first orientation entry counts, whatever its value
  try {
    if (u16(2) != 0x2A) return 1;
    uint64_t entry = u32(4);
    const uint32_t count = u16(entry);
    entry += 2;
    for (uint32_t e = 0; e < count; ++e, entry += 12) {
      switch (u16(entry)) {
        case 0x010E:
        case 0x010F:
        case 0x0110:
        case 0x0131:
        case 0x0132:
        case 0x8298: {  // strings
          const uint64_t size = u32(entry + 4);
          const uint64_t at = size > 4 ? u32(entry + 8) : 8;
          if (at > t.size() || at + size > t.size()) throw Stop{};
          break;
        }
        case 0x0112: {
          const uint32_t v = u16(entry + 8);
          if (!seen) orientation = static_cast<int>(v);
          seen = true;
          break;
        }
        case 0x0128:
        case 0x0213: u16(entry + 8); break;  // resolution unit, YCbCr positioning
        case 0x011A:
        case 0x011B: rationals(entry, 1); break;  // x and y resolution
        case 0x013E: rationals(entry, 2); break;  // white point
        case 0x0211: rationals(entry, 3); break;  // YCbCr coefficients
        case 0x013F:
        case 0x0214: rationals(entry, 6); break;  // chromaticities, black/white
        default: break;
      }
    }
  } catch (const Stop&) {
  }
  return orientation >= 1 && orientation <= 8 ? orientation : 1;
}

void probe_jpeg(Bytes b, ImageProbe& p) {
  bool seen_app1 = false;
  size_t pos = 2;
  p.truncated = true;  // until a scan with an end marker after it is found
  while (pos + 4 <= b.size()) {
    while (pos < b.size() && b[pos] != 0xFF) ++pos;  // stray bytes: libjpeg skips them too
    while (pos < b.size() && b[pos] == 0xFF) ++pos;  // fill bytes
    if (pos >= b.size()) return;
    const uint8_t m = b[pos++];
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;  // no length
    if (m == 0xD9) return;                                             // EOI before any scan
    if (m == 0xDA) {                                                   // start of scan
      p.scans = 1;
      p.truncated = !has_eoi_after(b, pos, p.scans);
      return;
    }
    if (pos + 2 > b.size()) return;
    const uint32_t len = be16(b, pos);
    const bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
    if (sof && pos + 7 <= b.size()) {
      p.height = clamp_dim(be16(b, pos + 3));
      p.width = clamp_dim(be16(b, pos + 5));
      p.components = pos + 8 <= b.size() ? b[pos + 7] : 0;
    }
    if (m == 0xE1 && !seen_app1 && len >= 2) {  // the first APP1 segment, as far as it is present
      seen_app1 = true;
      p.exif_orientation =
          exif_orientation(b.subspan(pos + 2, std::min<size_t>(len - 2, b.size() - pos - 2)));
    }
    if (len < 2) return;
    pos += len;
  }
}

void probe_png(Bytes b, ImageProbe& p) {
  if (b.size() >= 24 && starts_with(b, 12, "IHDR")) {
    p.width = clamp_dim(be32(b, 16));
    p.height = clamp_dim(be32(b, 20));
  }
  // Walk the chunks: the file is whole when IEND is reached inside it and
  // truncated when a well-formed chunk runs past the end. A chunk whose type
  // is not four letters means a corrupt file, which the decoder reports.
  p.truncated = true;
  uint64_t pos = 8;
  while (pos + 8 <= b.size()) {
    const auto at = static_cast<size_t>(pos);
    for (size_t k = 4; k < 8; ++k)
      if (!std::isalpha(b[at + k])) {
        p.truncated = false;
        return;
      }
    if (starts_with(b, at + 4, "IEND")) {
      p.truncated = false;
      return;
    }
    pos += 12 + uint64_t{be32(b, at)};  // length, type, data, CRC
  }
}

void probe_webp(Bytes b, ImageProbe& p) {
  const uint64_t riff_size = le32(b, 4) + 8ull;
  p.truncated = b.size() < riff_size;
  auto le24 = [&](size_t at) { return le16(b, at) | (uint32_t{b[at + 2]} << 16); };
  if (starts_with(b, 12, "VP8X") && b.size() >= 30) {
    p.width = clamp_dim(le24(24) + 1);
    p.height = clamp_dim(le24(27) + 1);
  } else if (starts_with(b, 12, "VP8 ") && b.size() >= 30 && b[23] == 0x9D && b[24] == 0x01 &&
             b[25] == 0x2A) {
    p.width = clamp_dim(le16(b, 26) & 0x3FFF);
    p.height = clamp_dim(le16(b, 28) & 0x3FFF);
  } else if (starts_with(b, 12, "VP8L") && b.size() >= 25 && b[20] == 0x2F) {
    const uint32_t v = le32(b, 21);
    p.width = clamp_dim((v & 0x3FFF) + 1);
    p.height = clamp_dim(((v >> 14) & 0x3FFF) + 1);
  }
}

void probe_bmp(Bytes b, ImageProbe& p) {
  if (b.size() < 26) return;
  const uint32_t header = le32(b, 14);
  if (header == 12) {
    p.width = clamp_dim(le16(b, 18));
    p.height = clamp_dim(le16(b, 20));
  } else if (header >= 16) {
    const auto w = static_cast<int32_t>(le32(b, 18));
    const auto h = static_cast<int32_t>(le32(b, 22));
    p.width = clamp_dim(static_cast<uint64_t>(std::abs(static_cast<int64_t>(w))));
    p.height = clamp_dim(static_cast<uint64_t>(std::abs(static_cast<int64_t>(h))));
  }
}

void probe_tiff(Bytes b, ImageProbe& p) {
  if (b.size() < 8) return;
  const bool little = b[0] == 'I';
  auto u16 = [&](size_t at) { return little ? le16(b, at) : be16(b, at); };
  auto u32 = [&](size_t at) { return little ? le32(b, at) : be32(b, at); };
  const uint64_t ifd = u32(4);
  if (ifd + 2 > b.size()) return;
  const uint32_t entries = u16(static_cast<size_t>(ifd));
  for (uint32_t e = 0; e < entries; ++e) {
    const uint64_t at = ifd + 2 + 12ull * e;
    if (at + 12 > b.size()) return;
    const uint32_t tag = u16(static_cast<size_t>(at));
    const uint32_t type = u16(static_cast<size_t>(at) + 2);
    const uint32_t value =
        type == 3 ? u16(static_cast<size_t>(at) + 8) : u32(static_cast<size_t>(at) + 8);
    // libtiff keeps the first of duplicated tags; so must the size check.
    if (tag == 256 && p.width == 0) p.width = clamp_dim(value);
    if (tag == 257 && p.height == 0) p.height = clamp_dim(value);
  }
}

void probe_gif(Bytes b, ImageProbe& p) {
  if (b.size() < 10) return;
  p.width = clamp_dim(le16(b, 6));
  p.height = clamp_dim(le16(b, 8));
}

}  // namespace

std::string_view image_format_name(ImageFormat f) {
  switch (f) {
    case ImageFormat::kJpeg: return "jpeg";
    case ImageFormat::kPng: return "png";
    case ImageFormat::kWebp: return "webp";
    case ImageFormat::kBmp: return "bmp";
    case ImageFormat::kTiff: return "tiff";
    case ImageFormat::kGif: return "gif";
  }
  return "unknown";
}

std::optional<ImageProbe> probe_image(std::span<const uint8_t> b) {
  ImageProbe p{ImageFormat::kJpeg};
  if (starts_with(b, 0, "\xFF\xD8\xFF")) {
    probe_jpeg(b, p);
  } else if (starts_with(b, 0, "\x89PNG\r\n\x1A\n")) {
    p.format = ImageFormat::kPng;
    probe_png(b, p);
  } else if (starts_with(b, 0, "RIFF") && starts_with(b, 8, "WEBP")) {
    p.format = ImageFormat::kWebp;
    probe_webp(b, p);
  } else if (starts_with(b, 0, "BM") && b.size() >= 26) {
    p.format = ImageFormat::kBmp;
    probe_bmp(b, p);
  } else if (starts_with(b, 0, std::string_view("II*\0", 4)) ||
             starts_with(b, 0, std::string_view("MM\0*", 4))) {
    p.format = ImageFormat::kTiff;
    probe_tiff(b, p);
  } else if (starts_with(b, 0, "GIF87a") || starts_with(b, 0, "GIF89a")) {
    p.format = ImageFormat::kGif;
    probe_gif(b, p);
  } else {
    return std::nullopt;
  }
  return p;
}

}  // namespace frameprint
