// One place where jobs are hashed, one job at a time: a PDQ backend of its
// own and, when decoders are confined, one decoder process (sandbox.h).
// frameprint-worker runs one per slot, frameprint serve a few for its
// requests; both decide confinement the same way (SandboxSettings).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "kernels/pdq_backend.h"
#include "worker/media/device.h"
#include "worker/pool/job_handler.h"
#include "worker/pool/sandbox.h"

namespace frameprint {

struct SandboxSettings {
  std::string mode = "auto";  // auto (on with the CPU backend), on, off
  SandboxLimits limits;
  std::string program;  // this executable, started for the decoder processes
};

// --sandbox, --sandbox-memory, --sandbox-grace.
void add_sandbox_options(CLI::App& app, SandboxSettings& s);

// Settles "auto" for `device`, refuses what cannot work (a confined
// decoder with a GPU backend), finds this program's path and sizes the
// child's replies for `max_reply_bytes`; warns in the log when decoders
// run unconfined. Throws std::invalid_argument / std::runtime_error.
void resolve_sandbox(SandboxSettings& s, const DeviceChoice& device, uint64_t max_reply_bytes);

// When this process was started as a decoder process
// (`program --sandbox-child FD MEMORY`): runs it and returns its exit
// status; otherwise nullopt. Every program that confines decoders calls
// this first thing in main.
std::optional<int> run_sandbox_child_if_asked(int argc, char** argv, const char* program);

class HashSlot {
 public:
  HashSlot(const DeviceChoice& device, const SandboxSettings& sandbox);

  // One job, as handle_job (job_handler.h) does it, hashed in this slot's
  // decoder process when confined. `decoder_fault` is for tests only.
  JobOutcome run(std::string_view header, std::optional<std::span<const uint8_t>> bytes,
                 const JobPolicy& policy, const std::string& decoder_fault = "");

 private:
  std::unique_ptr<pdq::PdqBackend> backend_;
  std::unique_ptr<Sandbox> sandbox_;
};

}  // namespace frameprint
