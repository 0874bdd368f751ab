#include "worker/serve/lingering_close.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace frameprint::serve {

using Clock = std::chrono::steady_clock;

struct LingeringCloser::Impl {
  struct Socket {
    UniqueFd fd;
    Clock::time_point until;     // the total time runs out
    Clock::time_point quiet_at;  // the idle time runs out
    size_t drained = 0;
  };

  explicit Impl(const LingerLimits& l)
      : limits(l), epoll(::epoll_create1(EPOLL_CLOEXEC)), wake(::eventfd(0, EFD_CLOEXEC)) {
    if (!epoll || !wake) throw std::runtime_error("lingering close: no epoll or eventfd");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake.get();
    if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, wake.get(), &ev) != 0)
      throw std::runtime_error("lingering close: cannot watch its eventfd");
    thread = std::thread([this] { run(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    const uint64_t one = 1;
    (void)!::write(wake.get(), &one, sizeof one);
    thread.join();
  }

  bool add(UniqueFd fd) {
    if (!fd) return false;
    ::shutdown(fd.get(), SHUT_WR);  // the answer is out: say so at once
    std::lock_guard lock(mu);
    if (stopping || sockets.size() >= limits.max_sockets) return false;  // fd closes here
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd.get();
    if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd.get(), &ev) != 0) return false;
    const auto now = Clock::now();
    const int key = fd.get();
    sockets[key] = Socket{std::move(fd), now + limits.total, now + limits.idle, 0};
    const uint64_t one = 1;  // the loop's wait must count this socket's time
    (void)!::write(wake.get(), &one, sizeof one);
    return true;
  }

  // Reads what `fd` has (up to 1 MiB a call: epoll wakes again for more),
  // discarding it; the bytes read, or -1 once the socket is to be closed.
  static int64_t drain(int fd) {
    char scratch[65536];
    int64_t total = 0;
    for (int i = 0; i < 16; ++i) {
      const ssize_t n = ::recv(fd, scratch, sizeof scratch, MSG_DONTWAIT);
      if (n == 0) return -1;  // the client closed: done
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? total : -1;
      total += n;
    }
    return total;
  }

  void close_locked(int key) {
    ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, key, nullptr);
    sockets.erase(key);
  }

  void run() {
    epoll_event events[64];
    for (;;) {
      int wait_ms = -1;
      {
        std::lock_guard lock(mu);
        if (stopping) {
          sockets.clear();
          return;
        }
        const auto now = Clock::now();
        for (auto it = sockets.begin(); it != sockets.end();) {
          const auto end = std::min(it->second.until, it->second.quiet_at);
          if (end <= now) {
            const int key = it->first;
            ++it;
            close_locked(key);
            continue;
          }
          const auto ms = std::chrono::ceil<std::chrono::milliseconds>(end - now).count();
          wait_ms = wait_ms < 0 ? static_cast<int>(ms) : std::min(wait_ms, static_cast<int>(ms));
          ++it;
        }
      }
      const int n = ::epoll_wait(epoll.get(), events, 64, wait_ms);
      for (int i = 0; i < n; ++i) {
        const int key = events[i].data.fd;
        if (key == wake.get()) {
          uint64_t count = 0;
          (void)!::read(wake.get(), &count, sizeof count);
          continue;
        }
        // Only this thread closes sockets, so `key` stays open while it is
        // read without the lock (add() must not wait on a busy client).
        const int64_t got = (events[i].events & EPOLLERR) ? -1 : drain(key);
        std::lock_guard lock(mu);
        const auto it = sockets.find(key);
        if (it == sockets.end()) continue;
        Socket& s = it->second;
        if (got > 0) {
          s.drained += static_cast<size_t>(got);
          s.quiet_at = Clock::now() + limits.idle;
        }
        if (got < 0 || s.drained > limits.max_bytes) close_locked(key);
      }
    }
  }

  const LingerLimits limits;
  UniqueFd epoll, wake;
  mutable std::mutex mu;
  std::map<int, Socket> sockets;
  bool stopping = false;
  std::thread thread;
};

LingeringCloser::LingeringCloser(const LingerLimits& limits)
    : impl_(std::make_unique<Impl>(limits)) {}
LingeringCloser::~LingeringCloser() = default;

bool LingeringCloser::add(UniqueFd socket) { return impl_->add(std::move(socket)); }

size_t LingeringCloser::lingering() const {
  std::lock_guard lock(impl_->mu);
  return impl_->sockets.size();
}

}  // namespace frameprint::serve
