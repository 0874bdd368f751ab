// The queue producer's engine: keeps a window of jobs in flight through the
// broker (bounded in count and bytes), resends a job whose reply is late or
// that the broker refused as overloaded (with back-off, not counted as a
// retry, but within timeout x (retries + 1) in all: then "overloaded" is
// the job's result), drops duplicate replies (by job id) and reports exactly
// one result per job. Its connection keeps one routing identity across reconnects, so
// replies to jobs in flight still find it.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include <zmq.hpp>

#include "ipc/connection_watch.h"
#include "ipc/curve.h"
#include "ipc/mdp.h"

namespace frameprint {

struct ProducerConfig {
  std::string endpoint = "tcp://127.0.0.1:5555";
  std::string service = std::string(mdp::kHashService);
  int window = 16;                            // jobs in flight
  std::chrono::milliseconds timeout{120000};  // per attempt
  int retries = 3;                            // resends after the first attempt
  uint64_t window_bytes = uint64_t{1} << 30;  // bodies in flight (one larger job still goes alone)
  curve::ClientKeys keys;                     // CURVE to the broker when set
  // Until the first handshake with the broker succeeds: past this long
  // without one, or at once when the broker refuses this client's key or
  // the handshake fails, run() throws LinkError. 0: keep trying (the
  // problem is logged, at most every 30 s). Once connected, a lost
  // connection is always retried.
  std::chrono::milliseconds connect_timeout{0};
  // Called from run()'s thread when the connection comes up or goes down
  // (`why`: the problem in words, "" when up).
  std::function<void(bool up, const std::string& why)> on_link;
};

// The broker cannot be reached, or refused this client.
class LinkError : public std::runtime_error {
 public:
  LinkError(LinkProblem problem, const std::string& why)
      : std::runtime_error(why), problem_(problem) {}
  LinkProblem problem() const { return problem_; }

 private:
  LinkProblem problem_;
};

struct ProducerJob {
  std::string id;     // also inside the header frame, echoed in the reply
  mdp::Message body;  // [header JSON][media bytes]?
};

// The reply text for a job that got no answer from the pool:
// {"id": ID, "status": "error", "error": {"code": CODE, "message": MESSAGE}}.
std::string error_reply(const std::string& id, const std::string& code, const std::string& message);

class Producer {
 public:
  Producer(zmq::context_t& ctx, ProducerConfig config);

  // Pulls jobs from `next` (nullopt: none left) and calls `on_result` once
  // per job with the reply's JSON text, or with an error result after the
  // last retry timed out. Returns when every job has a result, or early when
  // `stop_fd` (if >= 0) becomes readable (returns false then).
  //
  // With `wake_fd` >= 0 the producer serves a stream (BrokerClient): nullopt
  // from `next` means "nothing yet", `next` is asked again whenever
  // `wake_fd` becomes readable (the caller drains it: an eventfd), and only
  // `stop_fd` ends the run. Throws LinkError as ProducerConfig says.
  bool run(const std::function<std::optional<ProducerJob>()>& next,
           const std::function<void(const std::string& id, const std::string& json)>& on_result,
           int stop_fd = -1, int wake_fd = -1);

 private:
  zmq::context_t& ctx_;
  ProducerConfig config_;
};

}  // namespace frameprint
