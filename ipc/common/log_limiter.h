// At most one log line per interval for a message a peer can trigger at
// will (malformed frames, refused handshakes), with a count of the lines
// held back, so that a flood cannot fill the disk through the log.
#pragma once

#include <chrono>
#include <cstdint>

namespace frameprint {

class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogLimiter(Clock::duration every = std::chrono::seconds(1)) : every_(every) {}

  // True when a line may be written at `now`; `held_back` then receives how
  // many were suppressed since the last line written.
  bool allow(Clock::time_point now, uint64_t& held_back) {
    if (written_ && now - last_ < every_) {
      ++suppressed_;
      return false;
    }
    written_ = true;
    last_ = now;
    held_back = suppressed_;
    suppressed_ = 0;
    return true;
  }

 private:
  Clock::duration every_;
  Clock::time_point last_{};
  bool written_ = false;
  uint64_t suppressed_ = 0;
};

}  // namespace frameprint
