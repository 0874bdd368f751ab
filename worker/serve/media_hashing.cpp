#include "worker/serve/media_hashing.h"

#include <atomic>
#include <chrono>
#include <random>

#include "ipc/mdp.h"
#include "worker/pool/job_header.h"
#include "worker/serve/lookup_service.h"

namespace frameprint::serve {

namespace {

using nlohmann::ordered_json;

// Job ids unique to this server process.
class JobIds {
 public:
  JobIds() {
    std::random_device rd;
    prefix_ = "serve-" + std::to_string(rd()) + "-";
  }
  std::string next() { return prefix_ + std::to_string(n_.fetch_add(1)); }

 private:
  std::string prefix_;
  std::atomic<uint64_t> n_{0};
};

class LocalHashing : public MediaHashing {
 public:
  LocalHashing(const DeviceChoice& device, LocalHashingConfig config) : config_(std::move(config)) {
    for (int i = 0; i < config_.slots; ++i)
      free_.push_back(std::make_unique<HashSlot>(device, config_.sandbox));
    where_ = std::to_string(config_.slots) + " local slots on " + device.name +
             (config_.sandbox.mode == "on" ? ", decoders confined" : "");
  }

  ordered_json hash(std::span<const uint8_t> bytes, const std::string& name) override {
    std::unique_ptr<HashSlot> slot = take();
    const std::string header =
        make_job_header(ids_.next(), name, std::nullopt, config_.policy.defaults);
    JobOutcome r;
    try {
      r = slot->run(header, bytes, config_.policy);
    } catch (...) {
      give_back(std::move(slot));
      throw;
    }
    give_back(std::move(slot));
    return std::move(r.reply);
  }

  std::string where() const override { return where_; }

 private:
  std::unique_ptr<HashSlot> take() {
    std::unique_lock lock(mu_);
    if (free_.empty() && waiting_ >= config_.waiting)
      throw ApiError(503, "the server is busy hashing; try again later");
    ++waiting_;
    ready_.wait(lock, [&] { return !free_.empty(); });
    --waiting_;
    auto slot = std::move(free_.back());
    free_.pop_back();
    return slot;
  }

  void give_back(std::unique_ptr<HashSlot> slot) {
    {
      std::lock_guard lock(mu_);
      free_.push_back(std::move(slot));
    }
    ready_.notify_one();
  }

  LocalHashingConfig config_;
  std::string where_;
  JobIds ids_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::vector<std::unique_ptr<HashSlot>> free_;
  size_t waiting_ = 0;
};

class PoolHashing : public MediaHashing {
 public:
  explicit PoolHashing(PoolHashingConfig config)
      : config_(std::move(config)), client_(std::move(config_.pool), config_.waiting) {}

  ordered_json hash(std::span<const uint8_t> bytes, const std::string& name) override {
    ProducerJob job;
    job.id = ids_.next();
    job.body.push_back(mdp::frame_of(make_job_header(job.id, name, std::nullopt, config_.options)));
    job.body.emplace_back(bytes.data(), bytes.size());
    auto reply = client_.submit(std::move(job));
    if (!reply) throw ApiError(503, "too many requests wait for the pool; try again later");
    // The producer answers every job within timeout x (retries + 1), with a
    // timeout error at worst.
    const ordered_json j = ordered_json::parse(reply->get(), nullptr, false);
    if (!j.is_object()) throw ApiError(502, "the pool sent a reply that is not a JSON object");
    return j;
  }

  std::string where() const override { return config_.where; }

 private:
  PoolHashingConfig config_;
  PoolClient client_;
  JobIds ids_;
};

}  // namespace

std::unique_ptr<MediaHashing> local_hashing(const DeviceChoice& device, LocalHashingConfig config) {
  return std::make_unique<LocalHashing>(device, std::move(config));
}

std::unique_ptr<MediaHashing> pool_hashing(PoolHashingConfig config) {
  return std::make_unique<PoolHashing>(std::move(config));
}

}  // namespace frameprint::serve
