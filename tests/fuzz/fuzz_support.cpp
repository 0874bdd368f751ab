#include "tests/fuzz/fuzz_targets.h"

#include <cstdio>
#include <cstdlib>

#include <spdlog/spdlog.h>

extern "C" {
#include <libavutil/log.h>
}

#ifdef FRAMEPRINT_HAVE_IMAGES
#include <opencv2/core/utils/logger.hpp>
#endif

namespace frameprint::fuzz {

void quiet_logs() {
  spdlog::set_level(spdlog::level::off);
  av_log_set_level(AV_LOG_QUIET);
#ifdef FRAMEPRINT_HAVE_IMAGES
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
#endif
}

void invariant_broken(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", file, line, condition);
  std::abort();
}

}  // namespace frameprint::fuzz
