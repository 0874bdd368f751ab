// The boundary between frameprint_media and libframeprint_stills.so, the
// module that holds every use of OpenCV. Debian's OpenCV imgcodecs maps ~140
// shared libraries (GDAL, Poppler, ...) at start-up, about 60 ms of every
// process; as a module loaded with dlopen on the first still image that
// needs it (stills_loader.h), programs that hash videos, or JPEGs by the
// default route, never load it.
//
// The module is built from the same sources by the same compiler in the
// same build, so C++ types cross the boundary; the ABI number and the sizes
// below catch a stale module. No exception crosses it: failures come back
// in ColourLuma::error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "worker/media/media_error.h"

namespace frameprint::stills {

inline constexpr uint32_t kModuleAbi = 1;
inline constexpr const char* kModuleFile = "libframeprint_stills.so";
inline constexpr const char* kModuleEntry = "frameprint_stills_module";

struct ColourRequest {
  const uint8_t* data = nullptr;
  size_t size = 0;
  bool apply_exif_orientation = true;
};

// A still decoded by OpenCV to 8-bit colour (alpha dropped, 16-bit reduced
// to 8) or grey, EXIF orientation applied unless turned off, then shrunk
// to exactly 512x512 by nearest neighbour when larger than 512 in either
// dimension (as the reference photo hasher does), and turned into float
// luma as the reference computes it (grey input: luma = grey value).
struct ColourLuma {
  struct Error {
    ErrorCode code;
    std::string message;
  };
  std::optional<Error> error;
  int width = 0;  // the decoded picture (after EXIF orientation)
  int height = 0;
  int luma_width = 0;  // the plane that is hashed (at most 512x512)
  int luma_height = 0;
  std::vector<float> luma;
};

struct Module {
  uint32_t abi;
  uint32_t request_size;  // sizeof(ColourRequest) in the module
  uint32_t result_size;   // sizeof(ColourLuma) in the module
  void (*decode_colour_luma)(const ColourRequest& request, ColourLuma& out) noexcept;
};

// The module's one exported symbol (kModuleEntry) has this type.
using ModuleEntry = const Module* (*)() noexcept;

}  // namespace frameprint::stills
