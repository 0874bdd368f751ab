// The worker side of Majordomo for N concurrent jobs: one DEALER connection
// ("slot") per job in flight, all served by one I/O thread that keeps
// heartbeating while jobs run elsewhere, reconnects with back-off when the
// broker goes away, and stops gracefully (finish, reply, DISCONNECT).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <zmq.hpp>

#include "ipc/common/log_limiter.h"
#include "ipc/common/unique_fd.h"
#include "ipc/connection_watch.h"
#include "ipc/curve.h"
#include "ipc/mdp.h"

namespace frameprint {

struct MdpWorkerConfig {
  std::string endpoint = "tcp://127.0.0.1:5556";
  std::string service = std::string(mdp::kHashService);
  int slots = 1;
  std::chrono::milliseconds heartbeat{2500};
  int liveness = 3;
  std::chrono::milliseconds reconnect_min{250};
  std::chrono::milliseconds reconnect_max{16000};
  int64_t max_message_bytes =
      (int64_t{256} << 20) + (int64_t{1} << 20);  // the largest job and its header
  curve::ClientKeys keys;                         // CURVE to the broker when set
  // Called from run()'s thread when the number of slots with a completed
  // handshake changes (`why`: the last problem in words, "" when none).
  // Problems are also logged at once, then at most every 30 s.
  std::function<void(int slots_up, const std::string& why)> on_link;
};

struct MdpJob {
  int slot = 0;
  uint64_t ticket = 0;  // pass back to complete()
  mdp::Message body;
};

class MdpWorker {
 public:
  MdpWorker(zmq::context_t& ctx, MdpWorkerConfig config);
  ~MdpWorker();
  MdpWorker(const MdpWorker&) = delete;
  MdpWorker& operator=(const MdpWorker&) = delete;

  // Runs the I/O loop on the calling thread. `on_job` is called there for
  // each request and must hand the job off quickly. When `stop_fd` becomes
  // readable the worker stops taking jobs, waits for those in flight, sends
  // DISCONNECT on every connection and returns.
  void run(const std::function<void(MdpJob)>& on_job, int stop_fd);

  // Thread-safe: the reply to a job, sent by the I/O thread.
  void complete(int slot, uint64_t ticket, mdp::Message reply_body);

 private:
  struct Slot;
  void connect(Slot& s);
  void handle(Slot& s, mdp::Message frames, const std::function<void(MdpJob)>& on_job);
  void drain_completions();

  zmq::context_t& ctx_;
  MdpWorkerConfig config_;
  std::vector<std::unique_ptr<Slot>> slots_;
  UniqueFd wake_;  // eventfd: completions are waiting
  mutable std::mutex mu_;
  struct Completion {
    int slot;
    uint64_t ticket;
    mdp::Message body;
  };
  std::deque<Completion> done_;
  uint64_t next_ticket_ = 1;
  bool stopping_ = false;
  uint64_t watches_ = 0;  // monitors made (each gets its own inproc address)
  int slots_up_ = 0;
  LogLimiter link_log_{std::chrono::seconds(30)};
  void watch_links();
};

}  // namespace frameprint
