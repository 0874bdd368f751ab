// A run's progress and its summary on stderr: a one-line progress bar,
// drawn only when stderr is a terminal, and at the end one line a person
// can read in a log: files, how many hashed, failed, matched, and the time.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace frameprint::cli {

class Progress {
 public:
  // `program`: what the summary line starts with ("frameprint hash").
  Progress(size_t total, std::string program);
  ~Progress();  // ends the bar and writes the summary line
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // One result: whether it failed, and how many matches it has (-1: it was
  // not matched against lists).
  void advance(bool failed, int matched = -1);
  // The summary is not written (the run ended before it began).
  void cancel_summary() { summary_ = false; }

 private:
  void draw();
  bool enabled_;
  size_t total_;
  std::string program_;
  bool summary_ = true;
  size_t done_ = 0;
  size_t failed_ = 0;
  size_t matched_ = 0;
  bool matching_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::mutex mu_;
};

}  // namespace frameprint::cli
