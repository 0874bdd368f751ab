#include "ipc/common/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace frameprint {

void setup_logging(const std::string& program, bool verbose, bool timestamps) {
  spdlog::set_default_logger(spdlog::stderr_color_mt(program));
  spdlog::set_pattern(timestamps ? "%Y-%m-%dT%H:%M:%S.%e " + program + " %^%l%$: %v"
                                 : program + ": %^%l%$: %v");
  spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::info);
}

}  // namespace frameprint
