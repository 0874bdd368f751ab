// The media libraries this build decodes with, one line each, for the
// programs' --version: FFmpeg (its release and each library's version, as
// compiled against and as loaded) and the still-image decoder (OpenCV).
#pragma once

#include <string>
#include <vector>

namespace frameprint {

std::vector<std::string> media_library_versions();

}  // namespace frameprint
