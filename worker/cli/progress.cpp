#include "worker/cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace frameprint::cli {

Progress::Progress(size_t total)
    : enabled_(::isatty(STDERR_FILENO) == 1),
      total_(total),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() {
  if (enabled_ && done_ > 0) {
    draw();
    std::fputc('\n', stderr);
  }
}

void Progress::advance(bool failed) {
  std::lock_guard lock(mu_);
  ++done_;
  if (failed) ++failed_;
  const auto now = std::chrono::steady_clock::now();
  if (enabled_ && (now - last_draw_ > std::chrono::milliseconds(100) || done_ == total_)) {
    last_draw_ = now;
    draw();
  }
}

void Progress::draw() {
  constexpr int kWidth = 30;
  const double frac = total_ ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  const int filled = static_cast<int>(frac * kWidth);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "\r[%.*s%*s] %zu/%zu files, %zu failed, %.1f s", filled,
               "##############################", kWidth - filled, "", done_, total_, failed_, secs);
  std::fflush(stderr);
}

}  // namespace frameprint::cli
