#include "ipc/broker_client.h"

#include <sys/eventfd.h>

#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <system_error>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "ipc/common/json_text.h"

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

void drain(const UniqueFd& fd) {
  uint64_t n = 0;
  (void)!::read(fd.get(), &n, sizeof n);
}

}  // namespace

BrokerClient::BrokerClient(ProducerConfig config, size_t max_waiting)
    : config_(std::move(config)),
      max_waiting_(max_waiting),
      wake_(make_eventfd()),
      stop_(make_eventfd()) {
  thread_ = std::thread([this] {
    try {
      Producer producer(ctx_, config_);
      producer.run([this] { return next(); },
                   [this](const std::string& id, const std::string& json) { answer(id, json); },
                   stop_.get(), wake_.get());
    } catch (const std::exception& e) {
      spdlog::critical("broker client stopped: {}", e.what());
    }
  });
}

BrokerClient::~BrokerClient() {
  signal(stop_);
  thread_.join();
  std::lock_guard lock(mu_);
  for (auto& [id, reply] : replies_)
    reply.set_value(error_reply(id, "internal", "the server stopped before the pool answered"));
}

std::optional<std::future<std::string>> BrokerClient::submit(ProducerJob job) {
  std::future<std::string> reply;
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= max_waiting_ || replies_.count(job.id)) return std::nullopt;
    reply = replies_[job.id].get_future();
    queue_.push_back(std::move(job));
  }
  signal(wake_);
  return reply;
}

size_t BrokerClient::waiting() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

std::optional<ProducerJob> BrokerClient::next() {
  drain(wake_);
  std::lock_guard lock(mu_);
  if (queue_.empty()) return std::nullopt;
  ProducerJob job = std::move(queue_.front());
  queue_.pop_front();
  return job;
}

void BrokerClient::answer(const std::string& id, const std::string& json) {
  std::lock_guard lock(mu_);
  auto it = replies_.find(id);
  if (it == replies_.end()) return;
  it->second.set_value(json);
  replies_.erase(it);
}

}  // namespace frameprint
