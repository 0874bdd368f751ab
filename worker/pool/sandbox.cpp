#include "worker/pool/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <new>
#include <vector>

#include "ipc/common/json_text.h"
#include "kernels/pdq_backend.h"
#include "worker/media/media_error.h"
#include "worker/pool/confine.h"
#include "worker/pool/job_options.h"

#if FRAMEPRINT_HAVE_IMAGES
#include "worker/media/stills_loader.h"
#endif

extern "C" {
#include <libavutil/log.h>
}

extern char** environ;

namespace frameprint {

namespace {

using Clock = std::chrono::steady_clock;

// Frames on the socket: an 8-byte little-endian length, then that many
// bytes. A request carries the job's descriptor (SCM_RIGHTS) on its first
// byte.
bool write_all(int fd, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool send_frame(int sock, const std::string& text, int fd_to_pass) {
  const uint64_t len = text.size();
  uint8_t header[8];
  for (int i = 0; i < 8; ++i) header[i] = static_cast<uint8_t>(len >> (8 * i));
  iovec iov{header, sizeof header};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd_to_pass >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd_to_pass, sizeof(int));
  }
  ssize_t sent;
  do sent = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  if (sent != static_cast<ssize_t>(sizeof header)) return false;
  return write_all(sock, text.data(), text.size());
}

// Reads exactly n bytes, waiting until `deadline` (nullopt: forever).
// Returns false on EOF, error or timeout (then `timed_out`).
bool read_exact(int fd, void* data, size_t n, std::optional<Clock::time_point> deadline,
                bool& timed_out) {
  auto* p = static_cast<uint8_t*>(data);
  while (n > 0) {
    if (deadline) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now()).count();
      if (left <= 0) {
        timed_out = true;
        return false;
      }
      pollfd pfd{fd, POLLIN, 0};
      const int r = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
      if (r < 0 && errno != EINTR) return false;
      if (r <= 0) continue;
    }
    const ssize_t got = ::read(fd, p, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

// The request's length prefix and the descriptor that came with it.
bool receive_request(int sock, uint64_t& len, UniqueFd& fd) {
  uint8_t header[8];
  iovec iov{header, sizeof header};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t got;
  do got = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
  while (got < 0 && errno == EINTR);
  if (got != static_cast<ssize_t>(sizeof header)) return false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int passed = -1;
      std::memcpy(&passed, CMSG_DATA(c), sizeof(int));
      fd = UniqueFd(passed);
    }
  len = 0;
  for (int i = 0; i < 8; ++i) len |= uint64_t{header[i]} << (8 * i);
  return true;
}

// Inline bytes go to the child in a memfd, sealed so nothing changes them.
UniqueFd memfd_with(std::span<const uint8_t> bytes) {
  UniqueFd fd(::memfd_create("frameprint-job", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd)
    throw MediaError(ErrorCode::kInternal, std::string("memfd_create: ") + std::strerror(errno));
  if (!write_all(fd.get(), bytes.data(), bytes.size()))
    throw MediaError(ErrorCode::kInternal, "cannot stage the job's bytes for the decoder process");
  (void)::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  return fd;
}

// Test hooks, run inside the confined child (worker --fault-injection).
void child_fault(const std::string& fault) {
  if (fault == "crash") {
    ::raise(SIGSEGV);
  } else if (fault == "hang") {
    for (;;) ::pause();
  } else if (fault == "network") {
    (void)::socket(AF_INET, SOCK_STREAM, 0);  // the filter kills the process here
  } else if (fault.rfind("open:", 0) == 0) {
    const int fd = ::open(fault.c_str() + 5, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ::close(fd);
      throw MediaError(ErrorCode::kInternal, "sandbox test: opened " + fault.substr(5));
    }
    throw MediaError(ErrorCode::kInternal,
                     "sandbox test: open refused: " + std::string(std::strerror(errno)));
  }
}

}  // namespace

namespace {

// A result that a decoder produced while failing: decoding broke off, or
// the result is partial. (Refusals by the header probe, before any
// decoder ran, are not: empty, unsupported, oversized by the header.)
bool went_wrong_while_decoding(const nlohmann::ordered_json& reply) {
  if (reply.value("partial", false)) return true;
  if (reply.value("status", std::string()) == "ok" || !reply.contains("error") ||
      !reply["error"].is_object())
    return false;
  const std::string code = reply["error"].value("code", std::string());
  return code == "decode_failed" || code == "no_frames" || code == "internal";
}

}  // namespace

Sandbox::Sandbox(std::string program, SandboxLimits limits)
    : program_(std::move(program)), limits_(limits) {}

Sandbox::~Sandbox() { stop(SIGKILL); }

void Sandbox::spawn() {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    throw MediaError(ErrorCode::kInternal, std::string("socketpair: ") + std::strerror(errno));
  UniqueFd mine(pair[0]), theirs(pair[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  // Decoders' chatter (libjpeg and libpng warnings, FFmpeg's log) would be
  // a write to the worker's log file, which RLIMIT_FSIZE = 0 answers with
  // SIGXFSZ; results carry what matters.
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, theirs.get(), 3);  // dup2 clears CLOEXEC on the copy
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  const std::string memory = std::to_string(limits_.memory_bytes);
  std::vector<std::string> args = {program_, "--sandbox-child", "3", memory};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, program_.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    throw MediaError(ErrorCode::kInternal,
                     "cannot start the decoder process: " + std::string(std::strerror(rc)));
  pid_ = pid;
  served_ = 0;
  socket_ = std::move(mine);
}

void Sandbox::stop(int signal) {
  socket_.reset();  // EOF ends a healthy child
  if (pid_ <= 0) return;
  if (signal) ::kill(pid_, signal);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string Sandbox::death() {
  socket_.reset();
  int status = 0;
  pid_t r;
  // It has closed its end; give it a moment to be reaped, then insist.
  for (int i = 0; i < 100 && (r = ::waitpid(pid_, &status, WNOHANG)) == 0; ++i) ::usleep(10000);
  if (r == 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* why = sig == SIGSYS    ? " (a forbidden system call: the seccomp filter stopped it)"
                      : sig == SIGSEGV ? " (a memory fault)"
                      : sig == SIGABRT ? " (it aborted)"
                                       : "";
    return "killed by signal " + std::to_string(sig) + why;
  }
  return "exited with status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

nlohmann::ordered_json Sandbox::hash(MediaSource& source, const HashOptions& options,
                                     const std::string& fault) {
  if (pid_ <= 0) spawn();
  UniqueFd staged;
  int fd = source.fd();
  if (fd < 0) {
    staged = memfd_with(source.contiguous(source.size()));
    fd = staged.get();
  }
  nlohmann::ordered_json request = {{"options", options_to_json(options)},
                                    {"decoder_threads", options.decoder_threads}};
  if (!fault.empty()) request["fault"] = fault;
  if (!send_frame(socket_.get(), json_text(request), fd))
    throw MediaError(ErrorCode::kDecoderCrashed, "the decoder process is gone (" + death() + ")");
  staged.reset();

  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                         std::min(options.limits.max_seconds, 3.2e7) + limits_.grace_seconds));
  bool timed_out = false;
  uint8_t header[8];
  if (!read_exact(socket_.get(), header, sizeof header, deadline, timed_out)) {
    if (timed_out) {
      stop(SIGKILL);
      throw MediaError(ErrorCode::kTimeout, "the decoder process ran past the limit of " +
                                                std::to_string(options.limits.max_seconds) +
                                                " s (--max-seconds) and was killed");
    }
    throw MediaError(ErrorCode::kDecoderCrashed, "the decoder process died on this input (" +
                                                     death() + "); the worker goes on");
  }
  uint64_t len = 0;
  for (int i = 0; i < 8; ++i) len |= uint64_t{header[i]} << (8 * i);
  if (len > limits_.max_reply_bytes) {
    stop(SIGKILL);
    throw MediaError(ErrorCode::kInternal, "the decoder process sent an oversized result");
  }
  std::string text(static_cast<size_t>(len), '\0');
  if (!read_exact(socket_.get(), text.data(), text.size(), deadline, timed_out)) {
    if (timed_out) stop(SIGKILL);
    throw MediaError(timed_out ? ErrorCode::kTimeout : ErrorCode::kDecoderCrashed,
                     "the decoder process stopped while sending its result (" +
                         (timed_out ? std::string("time limit") : death()) + ")");
  }
  auto reply = nlohmann::ordered_json::parse(text, nullptr, false);
  if (!reply.is_object()) {
    stop(SIGKILL);
    throw MediaError(ErrorCode::kInternal, "the decoder process sent a result that is not JSON");
  }
  ++served_;
  if (went_wrong_while_decoding(reply) ||
      (limits_.jobs_per_process > 0 && served_ >= limits_.jobs_per_process)) {
    // Retired after its quota, or after media that went wrong inside a
    // decoder (hostile input that failed is the likeliest to have done
    // harm; input refused by the header probe never reached one). It holds
    // nothing worth a graceful end; the next process starts now, so that
    // its start-up overlaps sending this reply.
    stop(SIGKILL);
    try {
      spawn();
    } catch (const MediaError&) {
      // The next job tries again, and reports it.
    }
  }
  return reply;
}

int sandbox_child_main(int sock, uint64_t memory_bytes) {
  // Everything that needs the file system (shared libraries, OpenCV's
  // plugins, the CPU backend's tables) is loaded before the filter.
  auto backend = pdq::make_cpu_backend();
  av_log_set_level(AV_LOG_QUIET);
#if FRAMEPRINT_HAVE_IMAGES
  // The OpenCV module is loaded on demand elsewhere; here it must be mapped
  // before the filter forbids opening it. Without it, the stills that need
  // it fail alone (unsupported_format, saying why), as in any process.
  try {
    (void)stills_module();
  } catch (const std::exception&) {
  }
#endif
  confine_decoder(memory_bytes);
  HashOptions unbounded;  // the parent has applied the worker's policy
  unbounded.limits.max_pixels = INT64_MAX;
  unbounded.limits.max_frames = INT64_MAX;
  unbounded.limits.max_seconds = 1e9;
  for (;;) {
    uint64_t len = 0;
    UniqueFd fd;
    if (!receive_request(sock, len, fd)) return 0;  // the parent closed: done
    if (len > (uint64_t{1} << 20)) return 3;
    std::string text(static_cast<size_t>(len), '\0');
    bool timed_out = false;
    if (!read_exact(sock, text.data(), text.size(), std::nullopt, timed_out)) return 0;
    MediaResult result;
    try {
      const auto request = nlohmann::json::parse(text);
      HashOptions options = options_from_json(request.at("options"), unbounded);
      options.decoder_threads = request.value("decoder_threads", 0);
      if (request.contains("fault")) child_fault(request["fault"].get<std::string>());
      if (!fd) throw MediaError(ErrorCode::kInternal, "no file came with the job");
      MediaSource source = MediaSource::adopt(std::move(fd));
      result = hash_media(source, options, *backend);
    } catch (const MediaError& e) {
      result.error = e;
    } catch (const std::bad_alloc&) {
      result.error =
          MediaError(ErrorCode::kTooLarge, "the decoder ran out of its memory limit on this input");
    } catch (const std::exception& e) {
      result.error = MediaError(ErrorCode::kInternal, std::string("decoder process: ") + e.what());
    }
    if (!send_frame(sock, json_text(to_json(result)), -1)) return 0;
  }
}

}  // namespace frameprint
