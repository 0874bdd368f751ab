#include "worker/cli/progress.h"

#include <unistd.h>

#include <cstdio>
#include <exception>

namespace frameprint::cli {

Progress::Progress(size_t total, std::string program)
    : enabled_(total > 0 && ::isatty(STDERR_FILENO) == 1),
      total_(total),
      program_(std::move(program)),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() {
  if (enabled_ && done_ > 0) {
    draw();
    std::fputc('\n', stderr);
  }
  if (!summary_ || std::uncaught_exceptions() > 0) return;
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "%s: %zu input%s, %zu ok, %zu failed", program_.c_str(), done_,
               done_ == 1 ? "" : "s", done_ - failed_, failed_);
  if (matching_) std::fprintf(stderr, ", %zu with matches", matched_);
  if (done_ < total_) std::fprintf(stderr, ", %zu not done", total_ - done_);
  std::fprintf(stderr, " (%.1f s)\n", secs);
  std::fflush(stderr);
}

void Progress::advance(bool failed, int matched) {
  std::lock_guard lock(mu_);
  ++done_;
  if (failed) ++failed_;
  if (matched >= 0) matching_ = true;
  if (matched > 0) ++matched_;
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
