// Confinement of a decoder process (Linux): resource limits and a seccomp
// filter (libseccomp) that leaves it able to compute and to talk over the
// descriptors it already holds, and nothing else.
#pragma once

#include <cstdint>

namespace frameprint {

// Applies, to the calling process and every thread it starts afterwards:
// RLIMIT_AS = memory_bytes, RLIMIT_FSIZE = 0 (no file written),
// RLIMIT_CORE = 0, RLIMIT_NOFILE = 64; no_new_privs; and a seccomp filter
// under which opening files fails with EACCES, while making sockets,
// connecting, running programs, tracing or signalling other processes
// kills the process (SIGSYS). Unlisted calls fail with EPERM. Throws
// std::runtime_error when the filter cannot be installed.
void confine_decoder(uint64_t memory_bytes);

}  // namespace frameprint
