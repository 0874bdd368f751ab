// frameprint: hash images and videos (PDQ / vPDQ, MD5, SHA-256).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include <spdlog/spdlog.h>

#include "ipc/common/build_info.h"
#include "ipc/common/guarded_main.h"
#include "ipc/common/logging.h"

extern "C" {
#include <libavutil/log.h>
}

#include "worker/cli/hash_command.h"
#include "worker/cli/keygen_command.h"
#include "worker/cli/match_command.h"
#include "worker/cli/queue_command.h"
#include "worker/cli/serve_command.h"
#include "worker/cli/submit_command.h"
#include "worker/media/decoder_memory.h"
#include "worker/media/library_versions.h"
#include "worker/pool/hash_slot.h"

namespace {
int run_main(int argc, char** argv) {
  frameprint::keep_decoder_memory_for_reuse();
  // A confined decoder process (worker/pool/sandbox.h) started by `serve`.
  if (const auto status = frameprint::run_sandbox_child_if_asked(argc, argv, "frameprint"))
    return *status;
  CLI::App app{"frameprint: PDQ/vPDQ perceptual hashes and MD5/SHA-256 of images and videos"};
  app.require_subcommand(1);
  app.set_version_flag("--version", [] {
    return frameprint::version_text("frameprint", frameprint::media_library_versions());
  });
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Log decoder warnings and progress details to stderr");
  // Options of frameprint itself (-v) are taken after the subcommand too.
  app.fallthrough();
  auto run_hash = frameprint::cli::add_hash_command(app);
  auto run_submit = frameprint::cli::add_submit_command(app);
  auto run_match = frameprint::cli::add_match_command(app);
  auto run_keygen = frameprint::cli::add_keygen_command(app);
  auto run_serve = frameprint::cli::add_serve_command(app);
  auto run_queue = frameprint::cli::add_queue_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 exits 0 for --help; every real usage error is exit status 1.
    return app.exit(e) == 0 ? 0 : 1;
  }

  frameprint::setup_logging("frameprint", verbose, false);
  // FFmpeg's own messages (corrupt packets etc.) are reported in results;
  // show them only when asked.
  av_log_set_level(verbose ? AV_LOG_WARNING : AV_LOG_QUIET);

  if (app.got_subcommand("hash")) return run_hash();
  if (app.got_subcommand("submit")) return run_submit();
  if (app.got_subcommand("match")) return run_match();
  if (app.got_subcommand("keygen")) return run_keygen();
  if (app.got_subcommand("serve")) return run_serve();
  if (app.got_subcommand("queue")) return run_queue();
  return 1;
}
}  // namespace

int main(int argc, char** argv) { return frameprint::guarded_main(argc, argv, run_main); }
