// `frameprint queue init|status --nats URLS`: the JetStream streams and the
// workers' consumer (made or updated in place), and the numbers an operator
// watches (issue 23; docs/scale.md).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace frameprint::cli {

std::function<int()> add_queue_command(CLI::App& app);

}  // namespace frameprint::cli
