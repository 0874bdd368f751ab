// A long-lived client of the broker for a program that takes requests on
// many threads (`frameprint serve --broker`): one connection and one
// producer thread (producer.h, in its streaming mode) shared by all of
// them. submit() hands a job over and returns a future for its reply; the
// producer's window, resends and deadlines apply to every job.
#pragma once

#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include <zmq.hpp>

#include "ipc/common/unique_fd.h"
#include "ipc/producer.h"

namespace frameprint {

class BrokerClient {
 public:
  // At most `max_waiting` jobs wait for a place in the window.
  BrokerClient(ProducerConfig config, size_t max_waiting);
  // Stops the producer thread; jobs still unanswered get an "internal"
  // error reply ("stopping").
  ~BrokerClient();
  BrokerClient(const BrokerClient&) = delete;
  BrokerClient& operator=(const BrokerClient&) = delete;

  // The future holds the reply's JSON text (a result, or an error object
  // such as {"status":"error","error":{"code":"timeout",...}}). Returns
  // nullopt, taking nothing, when max_waiting jobs already wait or a job
  // with this id is in hand. `job.id` must be the id in its header frame.
  std::optional<std::future<std::string>> submit(ProducerJob job);

  size_t waiting() const;

 private:
  std::optional<ProducerJob> next();
  void answer(const std::string& id, const std::string& json);

  zmq::context_t ctx_;
  ProducerConfig config_;
  size_t max_waiting_;
  mutable std::mutex mu_;
  std::deque<ProducerJob> queue_;  // not yet taken by the producer
  std::unordered_map<std::string, std::promise<std::string>> replies_;  // every job in hand
  UniqueFd wake_, stop_;
  std::thread thread_;
};

}  // namespace frameprint
