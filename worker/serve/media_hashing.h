// Where `frameprint serve` hashes the media it is sent or fetches: here,
// in a few hashing slots (worker/pool/hash_slot.h: confined decoder
// processes on the CPU backend), or in the pool, through the broker or
// NATS JetStream (ipc/pool_client.h). Either way a request becomes a pool job (the job
// header, job_header.h, and the bytes), so the worker's policy applies
// alike, and the answer is the result object a worker replies with.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ipc/pool_client.h"
#include "worker/media/device.h"
#include "worker/pool/hash_slot.h"
#include "worker/pool/job_handler.h"

namespace frameprint::serve {

class MediaHashing {
 public:
  virtual ~MediaHashing() = default;
  // The result object of hashing `bytes` under the name `name` (errors are
  // results too). Throws ApiError 503 when more requests wait than the
  // server takes (the client should try again later).
  virtual nlohmann::ordered_json hash(std::span<const uint8_t> bytes, const std::string& name) = 0;
  virtual std::string where() const = 0;  // for the log and /status
};

struct LocalHashingConfig {
  int slots = 2;        // files hashed at once
  size_t waiting = 16;  // requests that may wait for a slot; beyond: 503
  JobPolicy policy;     // defaults = the server's hashing options
  SandboxSettings sandbox;
};
std::unique_ptr<MediaHashing> local_hashing(const DeviceChoice& device, LocalHashingConfig config);

struct PoolHashingConfig {
  PoolClient::Runner pool;  // PoolClient::broker(...) or PoolClient::jetstream(...)
  std::string where;        // "the pool at ...", for the log and /status
  size_t waiting = 64;      // jobs that may wait for a place in the window; beyond: 503
  HashOptions options;      // asked of the workers (their own policy still applies)
};
std::unique_ptr<MediaHashing> pool_hashing(PoolHashingConfig config);

}  // namespace frameprint::serve
