// Small hand-built files for bad-input tests: a PNG whose header claims an
// enormous size, a JPEG carrying an EXIF orientation tag.
#pragma once

#include <cstdint>
#include <vector>

namespace frameprint::testing {

// A syntactically valid PNG (signature, IHDR with correct CRC, a tiny IDAT,
// IEND) whose header claims width x height pixels.
std::vector<uint8_t> png_with_claimed_size(uint32_t width, uint32_t height);

// Inserts an APP1 EXIF segment with the given orientation (1..8) right after
// the SOI marker of a JPEG.
std::vector<uint8_t> jpeg_with_exif_orientation(const std::vector<uint8_t>& jpeg, int orientation);

// Inserts an APP1 segment holding `payload` (e.g. "Exif\0\0" and a TIFF
// block) right after the SOI marker of a JPEG.
std::vector<uint8_t> jpeg_with_app1(const std::vector<uint8_t>& jpeg,
                                    const std::vector<uint8_t>& payload);

}  // namespace frameprint::testing
