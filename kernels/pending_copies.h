// Sources of asynchronous copies, kept alive until each copy has completed,
// and never more than `capacity` at once. A batching GPU backend copies each
// decoded surface into its own memory as the frame arrives; the decoder's
// surface (its `hold`) goes back to the decoder as soon as that copy is done,
// so the decoder's pool stays small whatever the batch size. Host logic
// only: `Token` is whatever tells a copy's completion (a CUDA event).
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <utility>

namespace frameprint::pdq {

template <typename Token>
class PendingCopies {
 public:
  // done(t): has the copy completed (without waiting)? wait(t): block
  // until it has.
  PendingCopies(size_t capacity, std::function<bool(const Token&)> done,
                std::function<void(const Token&)> wait)
      : capacity_(capacity == 0 ? 1 : capacity), done_(std::move(done)), wait_(std::move(wait)) {}

  // Records a copy in flight from the source `hold` keeps alive. Sources
  // whose copies have completed are released first; when `capacity` are
  // still in flight, waits for the oldest.
  void add(Token token, std::shared_ptr<void> hold) {
    reap();
    while (pending_.size() >= capacity_) {
      wait_(pending_.front().first);
      pending_.pop_front();
    }
    pending_.emplace_back(std::move(token), std::move(hold));
  }

  // Releases the sources of completed copies, oldest first (copies on one
  // stream complete in order).
  void reap() {
    while (!pending_.empty() && done_(pending_.front().first)) pending_.pop_front();
  }

  // Waits for every copy and releases every source.
  void drain() {
    while (!pending_.empty()) {
      wait_(pending_.front().first);
      pending_.pop_front();
    }
  }

  size_t in_flight() const { return pending_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  size_t capacity_;
  std::function<bool(const Token&)> done_;
  std::function<void(const Token&)> wait_;
  std::deque<std::pair<Token, std::shared_ptr<void>>> pending_;
};

}  // namespace frameprint::pdq
