// A one-line progress bar on stderr, drawn only when stderr is a terminal.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>

namespace frameprint::cli {

class Progress {
 public:
  explicit Progress(size_t total);
  ~Progress();
  void advance(bool failed);

 private:
  void draw();
  bool enabled_;
  size_t total_;
  size_t done_ = 0;
  size_t failed_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::mutex mu_;
};

}  // namespace frameprint::cli
