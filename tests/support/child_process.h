// A child process for integration tests: started with posix_spawn, output
// to a log file, killed (SIGKILL) if still running when the object goes.
#pragma once

#include <spawn.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace frameprint::testing {

// posix_spawn with standard input from /dev/null and no signal blocked;
// `redirect` adds the file actions for standard output and error. Throws
// std::runtime_error when the program cannot be started.
pid_t spawn(const std::vector<std::string>& argv,
            const std::function<void(posix_spawn_file_actions_t*)>& redirect);

class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, const std::filesystem::path& log);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Exit status once it has exited (-signal when killed), nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  std::string log() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path log_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();
std::string loopback(int port);

// Polls `condition` every 20 ms until it is true or the timeout passes.
template <typename Fn>
bool eventually(Fn condition, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    struct timespec ts {
      0, 20'000'000
    };
    nanosleep(&ts, nullptr);
  }
  return condition();
}

}  // namespace frameprint::testing
