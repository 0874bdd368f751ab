// Owner of a POSIX file descriptor (eventfd, signalfd).
#pragma once

#include <unistd.h>

#include <initializer_list>
#include <utility>

namespace frameprint {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// A signalfd for the given signals (blocked for the calling thread and the
// threads it starts afterwards): a signal becomes a readable fd that a poll
// loop can watch, with no signal handler and no global flag.
UniqueFd signal_fd(std::initializer_list<int> signals);
// SIGINT and SIGTERM: a stop request.
UniqueFd stop_signal_fd();

// Raises this process's open-file limit to its hard limit: a server with
// the default 1,024 spins on accept() once idle connections use them up.
void raise_fd_limit();

}  // namespace frameprint
