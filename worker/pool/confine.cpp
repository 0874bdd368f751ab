#include "worker/pool/confine.h"

#include <sched.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>

namespace frameprint {

namespace {

// A comparison on a syscall's first argument. (libseccomp's SCMP_A0 macro
// is a C99 compound literal, which C++ compilers warn about.)
scmp_arg_cmp arg0(scmp_compare op, scmp_datum_t a, scmp_datum_t b = 0) {
  scmp_arg_cmp c{};
  c.arg = 0;
  c.op = op;
  c.datum_a = a;
  c.datum_b = b;
  return c;
}

// Owner of a libseccomp filter context.
class Filter {
 public:
  explicit Filter(uint32_t default_action) : ctx_(seccomp_init(default_action)) {
    if (!ctx_) throw std::runtime_error("seccomp_init failed");
  }
  ~Filter() { seccomp_release(ctx_); }
  Filter(const Filter&) = delete;
  Filter& operator=(const Filter&) = delete;

  void rule(uint32_t action, int syscall) {
    if (syscall < 0) return;  // not on this architecture
    check(seccomp_rule_add(ctx_, action, syscall, 0), syscall);
  }
  void rule(uint32_t action, int syscall, scmp_arg_cmp cmp) {
    if (syscall < 0) return;
    check(seccomp_rule_add(ctx_, action, syscall, 1, cmp), syscall);
  }
  void load() {
    const int rc = seccomp_load(ctx_);
    if (rc != 0) throw std::runtime_error("seccomp_load failed: " + std::to_string(rc));
  }

 private:
  static void check(int rc, int syscall) {
    if (rc != 0)
      throw std::runtime_error("seccomp_rule_add failed for syscall " + std::to_string(syscall) +
                               ": " + std::to_string(rc));
  }
  scmp_filter_ctx ctx_;
};

void limit(int resource, rlim_t value) {
  rlimit r{value, value};
  rlimit now{};
  if (::getrlimit(resource, &now) == 0 && now.rlim_max != RLIM_INFINITY && now.rlim_max < value)
    r = {now.rlim_max, now.rlim_max};
  if (::setrlimit(resource, &r) != 0)
    throw std::runtime_error("setrlimit " + std::to_string(resource) + " failed");
}

}  // namespace

void confine_decoder(uint64_t memory_bytes) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // Sanitizer runtimes reserve terabytes of shadow address space: an
  // address-space limit would fail every allocation. Sanitizer builds are
  // for tests; the limit is checked in release builds.
  (void)memory_bytes;
#else
  limit(RLIMIT_AS, static_cast<rlim_t>(memory_bytes));
#endif
  limit(RLIMIT_FSIZE, 0);
  limit(RLIMIT_CORE, 0);
  limit(RLIMIT_NOFILE, 64);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    throw std::runtime_error("PR_SET_NO_NEW_PRIVS failed");

  Filter f(SCMP_ACT_ERRNO(EPERM));
  // Computing, memory, time, threads, and I/O on descriptors already held.
  for (int sc : {SCMP_SYS(read),
                 SCMP_SYS(write),
                 SCMP_SYS(readv),
                 SCMP_SYS(writev),
                 SCMP_SYS(pread64),
                 SCMP_SYS(lseek),
                 SCMP_SYS(close),
                 SCMP_SYS(fstat),
                 SCMP_SYS(newfstatat),
                 SCMP_SYS(statx),
                 SCMP_SYS(fcntl),
                 SCMP_SYS(dup),
                 SCMP_SYS(mmap),
                 SCMP_SYS(munmap),
                 SCMP_SYS(mprotect),
                 SCMP_SYS(mremap),
                 SCMP_SYS(madvise),
                 SCMP_SYS(brk),
                 SCMP_SYS(futex),
                 SCMP_SYS(set_robust_list),
                 SCMP_SYS(get_robust_list),
                 SCMP_SYS(rseq),
                 SCMP_SYS(rt_sigaction),
                 SCMP_SYS(rt_sigprocmask),
                 SCMP_SYS(rt_sigreturn),
                 SCMP_SYS(sigaltstack),
                 SCMP_SYS(exit),
                 SCMP_SYS(exit_group),
                 SCMP_SYS(clock_gettime),
                 SCMP_SYS(clock_getres),
                 SCMP_SYS(clock_nanosleep),
                 SCMP_SYS(nanosleep),
                 SCMP_SYS(gettimeofday),
                 SCMP_SYS(getrandom),
                 SCMP_SYS(sched_yield),
                 SCMP_SYS(sched_getaffinity),
                 SCMP_SYS(getpid),
                 SCMP_SYS(gettid),
                 SCMP_SYS(getuid),
                 SCMP_SYS(geteuid),
                 SCMP_SYS(getrusage),
                 SCMP_SYS(sysinfo),
                 SCMP_SYS(prctl),
                 SCMP_SYS(recvmsg),
                 SCMP_SYS(sendmsg),
                 SCMP_SYS(poll),
                 SCMP_SYS(ppoll),
                 SCMP_SYS(membarrier),
                 SCMP_SYS(uname),
                 SCMP_SYS(getcwd),
                 SCMP_SYS(restart_syscall)})
    f.rule(SCMP_ACT_ALLOW, sc);
  // Threads only (FFmpeg's decoder threads): clone without CLONE_THREAD would
  // be a new process. clone3's flags are out of the filter's reach, so it
  // answers ENOSYS and the C library falls back to clone.
  f.rule(SCMP_ACT_ALLOW, SCMP_SYS(clone), arg0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
  f.rule(SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3));
  // Signals to itself only (abort() raises SIGABRT with tgkill).
  f.rule(SCMP_ACT_ALLOW, SCMP_SYS(tgkill),
         arg0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(::getpid())));
  // No file may be opened: the lists, the keys and other jobs are out of reach.
  for (int sc : {SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(creat)})
    f.rule(SCMP_ACT_ERRNO(EACCES), sc);
  // Never legitimate for a decoder: the process dies (SIGSYS) and the job's
  // result says so.
  for (int sc : {SCMP_SYS(socket),
                 SCMP_SYS(socketpair),
                 SCMP_SYS(connect),
                 SCMP_SYS(bind),
                 SCMP_SYS(listen),
                 SCMP_SYS(accept),
                 SCMP_SYS(accept4),
                 SCMP_SYS(sendto),
                 SCMP_SYS(execve),
                 SCMP_SYS(execveat),
                 SCMP_SYS(fork),
                 SCMP_SYS(vfork),
                 SCMP_SYS(ptrace),
                 SCMP_SYS(process_vm_readv),
                 SCMP_SYS(process_vm_writev),
                 SCMP_SYS(kill),
                 SCMP_SYS(tkill),
                 SCMP_SYS(open_by_handle_at),
                 SCMP_SYS(name_to_handle_at),
                 SCMP_SYS(mount),
                 SCMP_SYS(unshare),
                 SCMP_SYS(setns),
                 SCMP_SYS(bpf),
                 SCMP_SYS(io_uring_setup),
                 SCMP_SYS(memfd_create),
                 SCMP_SYS(userfaultfd)})
    f.rule(SCMP_ACT_KILL_PROCESS, sc);
  f.load();
}

}  // namespace frameprint
