#include "worker/pool/hash_slot.h"

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string_view>

#include <spdlog/spdlog.h>

namespace frameprint {

void add_sandbox_options(CLI::App& app, SandboxSettings& s) {
  app.add_option("--sandbox", s.mode,
                 "Hash in confined decoder processes (seccomp, rlimits, no files or network): auto "
                 "(on with the CPU backend), on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  app.add_option("--sandbox-memory", s.limits.memory_bytes, "Address space of each decoder process")
      ->check(CLI::Range(uint64_t{256} << 20, uint64_t{1} << 40))
      ->capture_default_str();
  app.add_option("--sandbox-jobs", s.limits.jobs_per_process,
                 "Jobs a decoder process serves before a fresh one replaces it (1: none sees "
                 "another job; 0: no limit)")
      ->capture_default_str();
  app.add_option("--sandbox-grace", s.limits.grace_seconds,
                 "Seconds a decoder process may run past --max-seconds before it is killed")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
}

void resolve_sandbox(SandboxSettings& s, const DeviceChoice& device, uint64_t max_reply_bytes) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // Sanitizer builds: the sanitizer runtimes need what the confinement
  // forbids (a large address space, /proc), so such builds hash in the
  // process unless --sandbox on is given.
  constexpr bool kSanitized = true;
#else
  constexpr bool kSanitized = false;
#endif
  if (s.mode == "auto") s.mode = device.cuda_device < 0 && !kSanitized ? "on" : "off";
  if (s.mode == "on" && device.cuda_device >= 0)
    throw std::invalid_argument(
        "--sandbox on works with --device cpu only: the GPU driver needs what the filter forbids "
        "(device files, ioctls)");
  if (s.mode == "off")
    spdlog::warn(
        "decoders run in this process itself (--sandbox off{}): hostile media parsed here shares "
        "memory with the lists, the keys and the connections",
        device.cuda_device >= 0 ? ", as with any GPU device" : "");
  s.limits.max_reply_bytes = std::max<uint64_t>(max_reply_bytes, uint64_t{1} << 20) * 4;
  std::error_code ec;
  s.program = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) throw std::runtime_error("cannot find this program's path for the decoder processes");
}

std::optional<int> run_sandbox_child_if_asked(int argc, char** argv, const char* program) {
  if (argc != 4 || std::string_view(argv[1]) != "--sandbox-child") return std::nullopt;
  try {
    return sandbox_child_main(std::stoi(argv[2]), std::stoull(argv[3]));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s decoder process: %s\n", program, e.what());
    return 3;
  }
}

HashSlot::HashSlot(const DeviceChoice& device, const SandboxSettings& sandbox)
    : backend_(device.make()),
      sandbox_(sandbox.mode == "on" ? std::make_unique<Sandbox>(sandbox.program, sandbox.limits)
                                    : nullptr) {}

JobOutcome HashSlot::run(std::string_view header, std::optional<std::span<const uint8_t>> bytes,
                         const JobPolicy& policy, const std::string& decoder_fault) {
  if (!sandbox_) return handle_job(header, bytes, policy, in_process(*backend_));
  return handle_job(header, bytes, policy, [&](MediaSource& source, const HashOptions& options) {
    return sandbox_->hash(source, options, decoder_fault);
  });
}

}  // namespace frameprint
