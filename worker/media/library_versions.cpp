#include "worker/media/library_versions.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libswscale/swscale.h>
}

#include "worker/media/image_decoder.h"

namespace frameprint {

namespace {

std::string dotted(unsigned v) {
  return std::to_string(AV_VERSION_MAJOR(v)) + "." + std::to_string(AV_VERSION_MINOR(v)) + "." +
         std::to_string(AV_VERSION_MICRO(v));
}

// "libavcodec: 59.37.100 (built with Lavc59.37.100)"
std::string library(const char* name, unsigned loaded, const char* ident) {
  return std::string(name) + ": " + dotted(loaded) + " (built with " + ident + ")";
}

}  // namespace

std::vector<std::string> media_library_versions() {
  return {
      std::string("ffmpeg: ") + av_version_info(),
      library("libavformat", avformat_version(), LIBAVFORMAT_IDENT),
      library("libavcodec", avcodec_version(), LIBAVCODEC_IDENT),
      library("libavutil", avutil_version(), LIBAVUTIL_IDENT),
      library("libswscale", swscale_version(), LIBSWSCALE_IDENT),
      image_decoder_library(),
  };
}

}  // namespace frameprint
