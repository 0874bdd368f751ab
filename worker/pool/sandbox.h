// Decoders confined: the hashing step of each job runs in a child process
// (one per worker slot, started again after it dies) that holds nothing but
// the job: it is a fresh exec of this program, so the lists, the keys and
// the broker connection are not in its memory, and before taking any job it
// confines itself (confine.h): no file may be opened, no socket made, no
// program run, no other process signalled; its address space, file sizes
// and open files are bounded. The parent opens the media (or puts inline
// bytes in a sealed memfd) and passes the descriptor with the job's options;
// the child answers with the result JSON. A child that crashes, is killed
// by the filter or runs past its time becomes an error result for that job
// alone.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "ipc/common/unique_fd.h"
#include "worker/media/media_hasher.h"
#include "worker/media/media_source.h"

namespace frameprint {

struct SandboxLimits {
  uint64_t memory_bytes = uint64_t{4} << 30;  // the child's address space
  double grace_seconds = 30;                  // beyond the job's --max-seconds
  uint64_t max_reply_bytes = uint64_t{256} << 20;
  // Jobs one decoder process serves before a fresh one replaces it
  // (--sandbox-jobs); a process is also replaced after a job whose
  // decoding broke off (decode_failed, no_frames, internal, partial).
  // 1 means no job's decoder ever sees another job, so media that took a
  // decoder over cannot read or forge later jobs of its slot, at the cost
  // of a process start per job (about 180 ms of CPU: the decoding
  // libraries are loaded before the filter); 0 means no limit.
  uint64_t jobs_per_process = 100;
};

class Sandbox {
 public:
  // `program`: this executable (/proc/self/exe), started as
  // `program --sandbox-child FD MEMORY_BYTES`.
  Sandbox(std::string program, SandboxLimits limits);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  // Hashes `source` in the child. Throws MediaError: kDecoderCrashed when
  // the child died (it is started again for the next job), kTimeout when it
  // ran past max_seconds + grace (it is killed), kInternal when it cannot
  // be started. `fault` is for tests only (see sandbox_child_main).
  nlohmann::ordered_json hash(MediaSource& source, const HashOptions& options,
                              const std::string& fault = "");

  pid_t pid() const { return pid_; }

 private:
  void spawn();
  void stop(int signal);
  std::string death();  // reaps the child; how it ended, in words

  std::string program_;
  SandboxLimits limits_;
  pid_t pid_ = -1;
  uint64_t served_ = 0;  // jobs answered by the current process
  UniqueFd socket_;
};

// The child's main: confines itself, then serves jobs on `fd` until it is
// closed. Returns the exit status.
int sandbox_child_main(int fd, uint64_t memory_bytes);

}  // namespace frameprint
