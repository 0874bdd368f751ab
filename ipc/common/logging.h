// Logging set-up shared by the programs: one stderr logger, its line format
// and level. Daemons stamp each line with the time; the CLI does not.
#pragma once

#include <string>

namespace frameprint {

void setup_logging(const std::string& program, bool verbose, bool timestamps);

}  // namespace frameprint
