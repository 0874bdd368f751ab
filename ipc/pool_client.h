// A long-lived client of the pool for a program that takes requests on
// many threads (`frameprint serve --broker` or `--nats`): one connection
// and one producer thread (producer.h or jetstream.h, in its streaming
// mode) shared by all of them. submit() hands a job over and returns a
// future for its reply; the producer's window, resends and deadlines apply
// to every job.
#pragma once

#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "ipc/common/unique_fd.h"
#include "ipc/jetstream.h"
#include "ipc/producer.h"

namespace frameprint {

class PoolClient {
 public:
  // A producer engine's streaming run (Producer::run with a wake fd): it
  // takes jobs from `next`, answers each through `answer`, and returns
  // when `stop_fd` becomes readable. It may throw; the client then answers
  // every job with an "internal" error.
  using Next = std::function<std::optional<ProducerJob>()>;
  using Answer = std::function<void(const std::string& id, const std::string& json)>;
  using Runner =
      std::function<void(const Next& next, const Answer& answer, int stop_fd, int wake_fd)>;

  // At most `max_waiting` jobs wait for a place in the window.
  PoolClient(Runner run, size_t max_waiting);
  // Through the Majordomo broker at config.endpoint.
  static Runner broker(ProducerConfig config);
  // Through NATS JetStream (jetstream.h). While no server can be reached or
  // the servers refuse these credentials, jobs are answered `overloaded`
  // with the reason, and connecting is tried again every few seconds.
  static Runner jetstream(jetstream::ConnectSettings connect, jetstream::ProducerSettings settings);
  // Stops the producer thread; jobs still unanswered get an "internal"
  // error reply ("stopping").
  ~PoolClient();
  PoolClient(const PoolClient&) = delete;
  PoolClient& operator=(const PoolClient&) = delete;

  // The future holds the reply's JSON text (a result, or an error object
  // such as {"status":"error","error":{"code":"timeout",...}}). Returns
  // nullopt, taking nothing, when max_waiting jobs already wait or a job
  // with this id is in hand. `job.id` must be the id in its header frame.
  std::optional<std::future<std::string>> submit(ProducerJob job);

  size_t waiting() const;

 private:
  std::optional<ProducerJob> next();
  void answer(const std::string& id, const std::string& json);
  // Every job in hand and waiting gets an "internal" error; later ones too.
  void stopped(const std::string& why);

  size_t max_waiting_;
  mutable std::mutex mu_;
  bool dead_ = false;
  std::deque<ProducerJob> queue_;  // not yet taken by the producer
  std::unordered_map<std::string, std::promise<std::string>> replies_;  // every job in hand
  UniqueFd wake_, stop_;
  std::thread thread_;
};

}  // namespace frameprint
