// Lingering close (RFC 9112 section 9.6): a server that answers before it
// has read the request's body (a 413, a 401) and then closes a socket that
// still holds unread bytes makes the kernel send a reset, and a client
// still sending its body usually loses the answer with it (curl reports
// "Connection reset by peer" rather than the 413). The socket is instead
// shut for writing, then read and discarded until the client closes, falls
// quiet or runs out of time, and only then closed.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "ipc/common/unique_fd.h"

namespace frameprint::serve {

struct LingerLimits {
  size_t max_sockets = 256;              // beyond: closed at once
  std::chrono::milliseconds idle{2000};  // closed after this long without a byte
  std::chrono::milliseconds total{5000};
  size_t max_bytes = size_t{16} << 20;  // discarded per socket before it is closed anyway
};

class LingeringCloser {
 public:
  explicit LingeringCloser(const LingerLimits& limits = {});
  ~LingeringCloser();  // closes what still lingers
  LingeringCloser(const LingeringCloser&) = delete;
  LingeringCloser& operator=(const LingeringCloser&) = delete;

  // Takes a connected socket (its own descriptor: dup() one still in use
  // elsewhere), shuts it for writing and drains it. When max_sockets are
  // already lingering it is closed at once and false is returned.
  bool add(UniqueFd socket);
  size_t lingering() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace frameprint::serve
