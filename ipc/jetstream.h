// The pool on NATS JetStream (issue 23): the second transport beside the
// Majordomo broker. Jobs and results are the same objects as on the MDP
// path (a JSON header, the media bytes, a JSON result); only the carriage
// differs.
//
//   FRAMEPRINT_JOBS     frameprint.jobs.PRODUCER      work queue, file storage,
//                                                     DiscardNew at its caps
//   FRAMEPRINT_RESULTS  frameprint.results.PRODUCER   limits + age, deduplicated
//                                                     by the job's message id
//   FRAMEPRINT_DEAD     frameprint.dead.PRODUCER      jobs no worker could finish
//
// A job message: headers Nats-Msg-Id (PRODUCER.JOB_ID: a resend is not a
// second job), Frameprint-Reply (its producer's results subject) and
// Frameprint-Header-Bytes (N); data: the N-byte JSON header, then the media
// bytes (none for a path job). Workers share one durable pull consumer,
// "workers"; each producer reads its results through its own durable
// consumer, "results_PRODUCER", filtered to its own subject.
//
// JetStream's MaxDeliver is left unlimited on "workers": a worker counts a
// job's deliveries itself and, on the delivery after --max-deliveries
// (a job whose workers all died or hung), publishes a `poison` result and
// the job to FRAMEPRINT_DEAD and acks it, without hashing it. So no job
// stays in the queue past its last attempt, with no advisory to follow.
//
// Knows nothing of media: the worker's handler turns a job into its result.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ipc/metrics.h"
#include "ipc/producer.h"

struct __natsConnection;
struct __natsOptions;
struct __jsCtx;
struct __natsMsg;
struct jsPubAck;
struct jsPubAckErr;

namespace frameprint::jetstream {

inline constexpr std::string_view kJobsStream = "FRAMEPRINT_JOBS";
inline constexpr std::string_view kResultsStream = "FRAMEPRINT_RESULTS";
inline constexpr std::string_view kDeadStream = "FRAMEPRINT_DEAD";
inline constexpr std::string_view kWorkersConsumer = "workers";
inline constexpr std::string_view kReplyHeader = "Frameprint-Reply";
inline constexpr std::string_view kHeaderBytesHeader = "Frameprint-Header-Bytes";
inline constexpr std::string_view kDeadReasonHeader = "Frameprint-Dead-Reason";

// How to reach the servers, and as whom.
struct ConnectSettings {
  std::vector<std::string> urls;  // nats://HOST:PORT or tls://HOST:PORT
  std::string name;               // the connection's name in the server's monitoring
  std::string creds_file;         // a .creds file (JWT + NKey seed)
  std::string nkey_seed_file;     // a file holding an NKey seed (SU...)
  std::string user, password_file;
  std::string tls_ca, tls_cert, tls_key;
  bool insecure = false;     // plaintext, no credentials, to a non-loopback server
  std::string inbox_prefix;  // replies to this client's requests (permissions)
  std::chrono::milliseconds connect_timeout{10000};  // 0: keep trying
  // Called from the client library's thread on disconnect/reconnect.
  std::function<void(bool up, const std::string& why)> on_link;
};

// Splits "nats://a:4222,nats://b:4222" into URLs.
std::vector<std::string> split_urls(std::string_view list);

// A name usable in subjects and consumer names: [A-Za-z0-9_-], 1..64.
bool valid_name(std::string_view name);

// 16 hex digits of a 64-bit FNV-1a of `s`: stable, valid names and job ids.
std::string name_digest(std::string_view s);
// ROLE-DIGEST, from this host's name and `key`: the same on this host for
// the same key (a resumed producer finds its results consumer again).
std::string producer_name(std::string_view role, std::string_view key);

// The servers cannot be reached, or refused these credentials: nothing was done.
class NatsError : public std::runtime_error {
 public:
  explicit NatsError(const std::string& what, bool refused = false)
      : std::runtime_error(what), refused_(refused) {}
  bool refused() const { return refused_; }

 private:
  bool refused_;
};

// One connection and its JetStream context. Reconnects by itself to any
// server it knows (those given and those the cluster announces).
class Connection {
 public:
  // Throws NatsError (unreachable past connect_timeout, refused at once),
  // std::invalid_argument for settings that cannot work.
  explicit Connection(ConnectSettings settings);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  __natsConnection* nc() const { return nc_; }
  __jsCtx* js() const { return js_; }
  bool up() const;
  // The largest message the server takes (its max_payload), in bytes.
  int64_t max_payload() const;
  const ConnectSettings& settings() const { return settings_; }

 private:
  ConnectSettings settings_;
  __natsOptions* opts_ = nullptr;
  __natsConnection* nc_ = nullptr;
  __jsCtx* js_ = nullptr;
};

// The streams and the workers' consumer, created or updated in place.
struct QueueConfig {
  int replicas = 1;
  int64_t max_bytes = int64_t{8} << 30;       // jobs stream: bytes queued at most
  int64_t max_msgs = 1'000'000;               // jobs stream: jobs queued at most
  int32_t max_job_bytes = (8 << 20) + 65536;  // one job message, header included
  std::chrono::seconds results_max_age{7 * 24 * 3600};
  int64_t results_max_bytes = int64_t{8} << 30;
  std::chrono::seconds dead_max_age{30 * 24 * 3600};
  std::chrono::seconds duplicates{2 * 3600};  // publish de-duplication window
  std::chrono::milliseconds ack_wait{30000};  // a job in hand without news is redelivered
  int64_t max_ack_pending = 10000;            // jobs in workers' hands at once
  std::vector<std::string> producers;         // results consumers made ahead (locked-down setups)
  std::chrono::milliseconds wait{15000};      // for a cluster still electing its leaders
};
// Returns {"streams": {...}, "consumers": [...]} saying what was created or updated.
// Throws NatsError.
nlohmann::ordered_json init_queue(Connection& c, const QueueConfig& config);

// Depth, pending, redelivered, dead-lettered: the numbers an operator watches.
nlohmann::ordered_json queue_status(Connection& c);

// A producer's results consumer, made when missing (with permission to).
void ensure_results_consumer(Connection& c, const std::string& producer,
                             std::chrono::milliseconds ack_wait);

// ------------------------------------------------------------------ worker

struct WorkerConfig {
  int slots = 1;
  int max_deliveries = 3;  // a job delivered more often than this is poison
  std::chrono::milliseconds fetch_wait{500};
  std::string name;  // put in dead letters
};

// One job as a worker sees it. Move-only; complete() settles it.
class Job {
 public:
  Job() = default;
  Job(Job&&) noexcept;
  Job& operator=(Job&&) noexcept;
  ~Job();
  std::string_view header() const { return header_; }
  std::optional<std::span<const uint8_t>> bytes() const { return bytes_; }
  uint64_t deliveries() const { return deliveries_; }

 private:
  friend class Worker;
  uint64_t ticket_ = 0;
  __natsMsg* msg_ = nullptr;
  std::string_view header_;
  std::optional<std::span<const uint8_t>> bytes_;
  uint64_t deliveries_ = 0;
};

// On the worker's /metrics (frameprint_worker_nats_*).
struct WorkerCounters {
  explicit WorkerCounters(MetricsEndpoint& m);
  prometheus::Counter& dead_lettered;     // poison and malformed jobs sent to FRAMEPRINT_DEAD
  prometheus::Counter& malformed;         // of those, jobs without a valid reply subject
  prometheus::Counter& redelivered;       // jobs fetched on their second delivery or later
  prometheus::Counter& publish_failures;  // result publishes refused or not acked in time
  prometheus::Counter& handed_back;       // jobs naked after their result could not be stored
  prometheus::Gauge& unstored;            // results sent, not yet acked by the stream
};

class Worker {
 public:
  Worker(Connection& c, WorkerConfig config, MetricsEndpoint& metrics);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Fetches at most the free slots' worth of jobs and hands each to
  // `on_job` (which must hand it off quickly), keeps the jobs in hand alive
  // with in-progress acks, and dead-letters poison. When `stop_fd` is
  // readable: stops fetching, waits for the jobs in hand, returns.
  // Throws NatsError when the workers' consumer does not exist.
  void run(const std::function<void(Job)>& on_job, int stop_fd);

  // Thread-safe, returns at once: publishes the result to the job's
  // producer asynchronously; the job is acked when the stream acks the
  // result (on the client library's thread), and only then does its slot
  // free. A result the stream refuses is sent again with back-off for up
  // to 30 s (the job kept ours by in-progress acks), then the job is naked
  // with a delay so that it is tried again.
  void complete(Job job, std::string result_json);

  const WorkerCounters& counters() const { return counters_; }

 private:
  struct InHand;
  struct Storing;  // a result sent and not yet acked by the stream
  static void on_stored(__jsCtx*, __natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure);
  // Under mu_: (re)sends a result; false when it could not even be sent.
  bool send_result(Storing& s);
  // Under mu_: the job is done (acked) or handed back (naked).
  void settle(Storing& s, bool stored);
  void retry_results();
  bool publish_result(const std::string& reply, const std::string& msg_id, const std::string& json);
  // To FRAMEPRINT_DEAD, then acked; with `answer`, a `poison` result goes to
  // the job's (checked) reply subject first.
  void dead_letter(__natsMsg* msg, const std::string& reason, uint64_t deliveries,
                   bool answer = true);
  void keep_alive();

  Connection& c_;
  WorkerConfig config_;
  std::chrono::milliseconds progress_every_{10000};
  std::mutex mu_;
  std::condition_variable slot_freed_;
  std::vector<std::unique_ptr<InHand>> in_hand_;
  std::vector<std::unique_ptr<Storing>> storing_;
  __jsCtx* store_js_ = nullptr;  // asynchronous result publishes; alive during run()
  uint64_t next_ticket_ = 1;
  std::atomic<int> busy_{0};
  WorkerCounters counters_;
};

// ---------------------------------------------------------------- producer

struct ProducerSettings {
  std::string name;  // its subjects and results consumer: stable to resume
  int window = 64;   // jobs published and not yet answered
  // No result this long after the job was stored: a `timeout` result (run
  // again to resume); the queue itself keeps retrying the job meanwhile.
  std::chrono::milliseconds timeout{600000};
  // A job refused by the stream (full: DiscardNew) or not acked in time is
  // published again with back-off; past this long, `overloaded`.
  std::chrono::milliseconds publish_timeout{120000};
  int64_t max_job_bytes = (8 << 20) + 65536;  // larger jobs: `too_large`, not sent
  std::chrono::milliseconds ack_wait{30000};  // of a results consumer it makes
};

class Producer {
 public:
  Producer(Connection& c, ProducerSettings settings);

  // As frameprint::Producer::run (producer.h): pulls jobs from `next`
  // (nullopt: none left), calls `on_result` once per job id with its result
  // (a result for an id it did not send this run is acked and dropped).
  // Returns true when every job has its result, false when `stop_fd`
  // became readable. With `wake_fd` >= 0 it serves a stream (PoolClient,
  // `serve --nats`): nullopt means "nothing yet", `next` is asked again when
  // `wake_fd` (an eventfd the caller drains) becomes readable or a result
  // comes in, and only `stop_fd` ends the run.
  bool run(const std::function<std::optional<ProducerJob>()>& next,
           const std::function<void(const std::string& id, const std::string& json)>& on_result,
           int stop_fd = -1, int wake_fd = -1);

 private:
  Connection& c_;
  ProducerSettings settings_;
};

}  // namespace frameprint::jetstream
