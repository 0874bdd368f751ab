#include "tests/support/crafted_media.h"

#include <array>
#include <string>

namespace frameprint::testing {

namespace {

uint32_t crc32(const uint8_t* data, size_t n) {
  // The PNG specification's CRC-32 (polynomial 0xEDB88320).
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    c ^= data[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

void put_be32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<uint8_t>(x >> s));
}

void chunk(std::vector<uint8_t>& png, const char* type, const std::vector<uint8_t>& data) {
  put_be32(png, static_cast<uint32_t>(data.size()));
  std::vector<uint8_t> body(4 + data.size());
  for (size_t i = 0; i < 4; ++i) body[i] = static_cast<uint8_t>(type[i]);
  for (size_t i = 0; i < data.size(); ++i) body[4 + i] = data[i];
  for (uint8_t b : body) png.push_back(b);
  put_be32(png, crc32(body.data(), body.size()));
}

}  // namespace

std::vector<uint8_t> png_with_claimed_size(uint32_t width, uint32_t height) {
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<uint8_t> ihdr;
  put_be32(ihdr, width);
  put_be32(ihdr, height);
  for (uint8_t b : {8, 2, 0, 0, 0}) ihdr.push_back(b);  // 8-bit RGB, no interlace
  chunk(png, "IHDR", ihdr);
  // A zlib stream holding a few zero bytes: far too little for the claimed size.
  chunk(png, "IDAT", {0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01});
  chunk(png, "IEND", {});
  return png;
}

std::vector<uint8_t> jpeg_with_app1(const std::vector<uint8_t>& jpeg,
                                    const std::vector<uint8_t>& payload) {
  // APP1 segment: marker, length, payload. Built by index (GCC 12 mis-warns
  // about vector::insert into small vectors).
  const size_t seg_len = 2 + payload.size();
  std::vector<uint8_t> out(jpeg.size() + 2 + seg_len);
  size_t at = 0;
  out[at++] = jpeg[0];  // SOI
  out[at++] = jpeg[1];
  for (uint8_t b : {uint8_t{0xFF}, uint8_t{0xE1}, static_cast<uint8_t>(seg_len >> 8),
                    static_cast<uint8_t>(seg_len & 0xFF)})
    out[at++] = b;
  for (uint8_t b : payload) out[at++] = b;
  for (size_t i = 2; i < jpeg.size(); ++i) out[at++] = jpeg[i];
  return out;
}

std::vector<uint8_t> jpeg_with_exif_orientation(const std::vector<uint8_t>& jpeg, int orientation) {
  // "Exif\0\0", then a TIFF header (little endian) with one IFD entry: tag
  // 0x0112, SHORT, 1 value.
  return jpeg_with_app1(
      jpeg, {'E',  'x',  'i',  'f',  0,    0,    'I',  'I',  0x2A,
             0x00, 0x08, 0x00, 0x00, 0x00,  // header, IFD at 8
             0x01, 0x00,                    // 1 entry
             0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, static_cast<uint8_t>(orientation),
             0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00});  // no next IFD
}

}  // namespace frameprint::testing
