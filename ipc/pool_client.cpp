#include "ipc/pool_client.h"

#include <poll.h>
#include <sys/eventfd.h>

#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <system_error>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "ipc/common/json_text.h"
#include "ipc/common/log_limiter.h"

namespace frameprint {

namespace {

UniqueFd make_eventfd() {
  UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd) throw std::system_error(errno, std::generic_category(), "eventfd");
  return fd;
}

void signal(const UniqueFd& fd) {
  const uint64_t one = 1;
  // A full counter (impossible in practice) still leaves the fd readable.
  (void)!::write(fd.get(), &one, sizeof one);
}

void drain_fd(int fd) {
  uint64_t n = 0;
  (void)!::read(fd, &n, sizeof n);
}

}  // namespace

PoolClient::Runner PoolClient::broker(ProducerConfig config) {
  return [config = std::move(config)](const Next& next, const Answer& answer, int stop_fd,
                                      int wake_fd) {
    zmq::context_t ctx;
    Producer producer(ctx, config);
    producer.run(next, answer, stop_fd, wake_fd);
  };
}

PoolClient::Runner PoolClient::jetstream(jetstream::ConnectSettings connect,
                                         jetstream::ProducerSettings settings) {
  return [connect = std::move(connect), settings = std::move(settings)](
             const Next& next, const Answer& answer, int stop_fd, int wake_fd) {
    LogLimiter log(std::chrono::seconds(60));
    for (;;) {
      std::string why;
      try {
        jetstream::Connection c(connect);
        jetstream::Producer producer(c, settings);
        producer.run(next, answer, stop_fd, wake_fd);
        return;
      } catch (const jetstream::NatsError& e) {
        why = e.what();
      }
      uint64_t held = 0;
      if (log.allow(std::chrono::steady_clock::now(), held))
        spdlog::error("NATS: {} (trying again; jobs are answered `overloaded` meanwhile)", why);
      // Nothing waits for a queue that cannot be reached.
      const auto refuse_waiting = [&] {
        drain_fd(wake_fd);
        while (auto job = next())
          answer(job->id,
                 error_reply(job->id, "overloaded", "the queue cannot be reached: " + why));
      };
      refuse_waiting();
      pollfd p[2] = {{stop_fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
      for (const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
           std::chrono::steady_clock::now() < until;) {
        if (::poll(p, 2, 200) > 0) {
          if (p[0].revents != 0) return;
          refuse_waiting();
        }
      }
    }
  };
}

PoolClient::PoolClient(Runner run, size_t max_waiting)
    : max_waiting_(max_waiting), wake_(make_eventfd()), stop_(make_eventfd()) {
  thread_ = std::thread([this, run = std::move(run)] {
    try {
      run([this] { return next(); },
          [this](const std::string& id, const std::string& json) { answer(id, json); }, stop_.get(),
          wake_.get());
    } catch (const std::exception& e) {
      spdlog::critical("the pool client stopped: {}", e.what());
      stopped(std::string("the pool client stopped: ") + e.what());
    }
  });
}

PoolClient::~PoolClient() {
  signal(stop_);
  thread_.join();
  stopped("the server stopped before the pool answered");
}

void PoolClient::stopped(const std::string& why) {
  std::lock_guard lock(mu_);
  dead_ = true;
  for (auto& [id, reply] : replies_) reply.set_value(error_reply(id, "internal", why));
  replies_.clear();
  queue_.clear();
}

std::optional<std::future<std::string>> PoolClient::submit(ProducerJob job) {
  std::future<std::string> reply;
  {
    std::lock_guard lock(mu_);
    if (dead_) {
      std::promise<std::string> p;
      p.set_value(error_reply(job.id, "internal", "the pool client has stopped (see the log)"));
      return p.get_future();
    }
    if (queue_.size() >= max_waiting_ || replies_.count(job.id)) return std::nullopt;
    reply = replies_[job.id].get_future();
    queue_.push_back(std::move(job));
  }
  signal(wake_);
  return reply;
}

size_t PoolClient::waiting() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

std::optional<ProducerJob> PoolClient::next() {
  drain_fd(wake_.get());
  std::lock_guard lock(mu_);
  if (queue_.empty()) return std::nullopt;
  ProducerJob job = std::move(queue_.front());
  queue_.pop_front();
  return job;
}

void PoolClient::answer(const std::string& id, const std::string& json) {
  std::lock_guard lock(mu_);
  auto it = replies_.find(id);
  if (it == replies_.end()) return;
  it->second.set_value(json);
  replies_.erase(it);
}

}  // namespace frameprint
