// frameprint-worker: takes hashing jobs from the broker (Majordomo worker),
// hashes them and replies with the result. N slots = N jobs in flight.
#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>

#include "ipc/common/build_info.h"
#include "ipc/common/guarded_main.h"
#include "ipc/common/logging.h"

extern "C" {
#include <libavutil/log.h>
}

#include "ipc/common/json_text.h"
#include "ipc/common/unique_fd.h"
#include "ipc/jetstream.h"
#include "ipc/mdp_worker.h"
#include "ipc/metrics.h"
#include "kernels/pdq_backend.h"
#include "worker/matching/match_options.h"
#include "worker/media/decoder_memory.h"
#include "worker/media/device.h"
#include "worker/media/library_versions.h"
#include "worker/options/program_options.h"
#include "worker/pool/hash_slot.h"
#include "worker/pool/job_handler.h"
#include "worker/serve/url_fetcher.h"

namespace frameprint {
namespace {

using Clock = std::chrono::steady_clock;

struct WorkerSettings {
  MdpWorkerConfig mdp;
  JobPolicy policy;
  std::string device = "auto";
  std::string metrics;
  double job_timeout_s = 0;  // 0: max_seconds * 2 + 60
  std::string fault;         // testing only: "crash:NAME" or "hang:NAME"
  MatchOptions match;        // --list ...: results leave the worker matched
  options::TransportOptions transport;
  options::NatsOptions nats;
  int max_deliveries = 3;
  SandboxSettings sandbox;
  DeviceChoice backend;
};

// Jobs handed from the I/O thread to the hashing threads.
template <typename J>
class JobQueue {
 public:
  void push(J job) {
    {
      std::lock_guard lock(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }
  std::optional<J> pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !jobs_.empty(); });
    if (jobs_.empty()) return std::nullopt;
    J j = std::move(jobs_.front());
    jobs_.pop_front();
    return j;
  }
  void close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<J> jobs_;
  bool closed_ = false;
};

// However a run ends, release the hashing threads before joining them.
template <typename J>
struct CloseOnExit {
  JobQueue<J>& q;
  ~CloseOnExit() { q.close(); }
};

class WorkerProgram {
 public:
  // The signal fds must exist before any thread (the metrics server's
  // included) starts, so that every thread inherits the blocked mask.
  WorkerProgram(WorkerSettings s, UniqueFd stop_fd, UniqueFd reload_fd)
      : s_(std::move(s)),
        stop_fd_(std::move(stop_fd)),
        reload_fd_(std::move(reload_fd)),
        metrics_(s_.metrics),
        done_(metrics_.counter("frameprint_worker_jobs_done_total",
                               "Jobs answered with a hash result")),
        failed_(metrics_.counter("frameprint_worker_jobs_failed_total",
                                 "Jobs answered with an error result")),
        frames_(metrics_.counter("frameprint_worker_frames_hashed_total", "Frames hashed")),
        bytes_(metrics_.counter("frameprint_worker_bytes_hashed_total", "Media bytes hashed")),
        busy_(metrics_.gauge("frameprint_worker_jobs_in_flight", "Jobs being hashed")),
        latency_(metrics_.histogram("frameprint_worker_job_seconds", "Time to hash one job",
                                    latency_buckets())),
        crashed_(metrics_.counter(
            "frameprint_worker_decoder_crashes_total",
            "Jobs whose confined decoder process died (crash or forbidden system call)")),
        truncated_(
            metrics_.counter("frameprint_worker_replies_truncated_total",
                             "Results cut to --max-reply-bytes (frames dropped, marked partial)")),
        refused_(metrics_.counter(
            "frameprint_worker_jobs_refused_total",
            "Jobs refused by this worker's policy before hashing (bad_request: a malformed header, "
            "options beyond --min-seconds-per-hash or --no-dihedral-jobs; path_not_allowed; "
            "too_large beyond --max-bytes)")),
        connected_(metrics_.gauge(
            "frameprint_worker_broker_slots_connected",
            "Slots whose connection to the broker completed its handshake (0: the broker cannot "
            "be reached or refuses this worker; the log says why)")),
        started_(static_cast<size_t>(s_.mdp.slots)) {
    s_.mdp.on_link = [this](int up, const std::string&) { connected_.Set(up); };
  }

  int run() {
    matcher_.store(load_matcher(s_.match));  // throws: a bad list stops the start
    // With lists, jobs are hashed for matching too (denser frames, variants).
    s_.policy.defaults.for_matching = !s_.match.lists.empty();
    std::jthread watchdog([&](std::stop_token st) { watch(st); });
    std::jthread reloader([&](std::stop_token st) { reload_on_sighup(st, reload_fd_.get()); });
    if (!s_.nats.urls.empty()) return run_nats();
    zmq::context_t ctx;
    MdpWorker mdp(ctx, s_.mdp);
    std::vector<std::jthread> threads;
    CloseOnExit<MdpJob> close_queue{mdp_queue_};
    for (int i = 0; i < s_.mdp.slots; ++i)
      threads.emplace_back([&] {
        HashSlot hashing(s_.backend, s_.sandbox);  // a backend and decoder process per slot
        while (auto job = mdp_queue_.pop()) {
          std::optional<std::span<const uint8_t>> bytes;
          if (job->body.size() >= 2)
            bytes =
                std::span(static_cast<const uint8_t*>(job->body[1].data()), job->body[1].size());
          const std::string header =
              job->body.empty() ? std::string() : mdp::to_string(job->body[0]);
          auto reply = hash_one(hashing, static_cast<size_t>(job->slot), header, bytes);
          mdp::Message out;
          out.push_back(mdp::frame_of(json_text(reply)));
          mdp.complete(job->slot, job->ticket, std::move(out));
        }
      });
    spdlog::info("{}: {} slots on {}, device {}", s_.policy.worker_name, s_.mdp.slots,
                 s_.mdp.endpoint, s_.backend.name);
    mdp.run([&](MdpJob job) { mdp_queue_.push(std::move(job)); }, stop_fd_.get());
    mdp_queue_.close();
    threads.clear();
    spdlog::info("{}: stopped", s_.policy.worker_name);
    return 0;
  }

 private:
  // The jobs of a JetStream work queue (jetstream.h): the same hashing, the
  // result stored before the job is acked, "deliveries" added to it.
  int run_nats() {
    auto settings = options::nats_settings(s_.nats, s_.transport, s_.policy.worker_name);
    settings.on_link = [this](bool up, const std::string&) {
      connected_.Set(up ? s_.mdp.slots : 0);
    };
    jetstream::Connection conn(settings);
    // A result must fit in one message: frames beyond that are cut, as
    // beyond --max-reply-bytes (headers and the reply subject take < 4 KiB).
    if (const int64_t room = conn.max_payload() - 4096;
        room > 4096 && static_cast<uint64_t>(room) < s_.policy.max_reply_bytes) {
      spdlog::info("results capped at {} bytes, the server's max_payload less headers", room);
      s_.policy.max_reply_bytes = static_cast<size_t>(room);
    }
    jetstream::Worker js(conn,
                         {.slots = s_.mdp.slots,
                          .max_deliveries = s_.max_deliveries,
                          .fetch_wait = std::chrono::milliseconds(500),
                          .name = s_.policy.worker_name},
                         metrics_);
    std::vector<std::jthread> threads;
    CloseOnExit<jetstream::Job> close_queue{nats_queue_};
    for (int i = 0; i < s_.mdp.slots; ++i)
      threads.emplace_back([&, i] {
        HashSlot hashing(s_.backend, s_.sandbox);
        while (auto job = nats_queue_.pop()) {
          auto reply = hash_one(hashing, static_cast<size_t>(i), job->header(), job->bytes());
          reply["deliveries"] = job->deliveries();
          js.complete(std::move(*job), json_text(reply));
        }
      });
    spdlog::info("{}: {} slots on NATS {}, device {}", s_.policy.worker_name, s_.mdp.slots,
                 s_.nats.urls, s_.backend.name);
    js.run([&](jetstream::Job job) { nats_queue_.push(std::move(job)); }, stop_fd_.get());
    nats_queue_.close();
    threads.clear();
    spdlog::info("{}: stopped ({} dead-lettered)", s_.policy.worker_name,
                 js.counters().dead_lettered.Value());
    return 0;
  }

  // One job through `hashing` on `slot`, counted, matched and capped: its reply.
  nlohmann::ordered_json hash_one(HashSlot& hashing, size_t slot, std::string_view header,
                                  std::optional<std::span<const uint8_t>> bytes) {
    const auto t0 = Clock::now();
    started_[slot].store(t0.time_since_epoch().count());
    busy_.Increment();
    JobOutcome r = hashing.run(header, bytes, s_.policy, inject_fault(std::string(header)));
    const std::string code =
        r.reply.contains("error") ? r.reply["error"].value("code", std::string()) : "";
    if (code == "decoder_crashed") crashed_.Increment();
    if (r.refused) refused_.Increment();
    if (const auto matcher = matcher_.load()) matcher->annotate(r.reply);
    if (!cap_reply(r.reply, s_.policy.max_reply_bytes)) truncated_.Increment();
    started_[slot].store(0);
    busy_.Decrement();
    (r.ok ? done_ : failed_).Increment();
    frames_.Increment(static_cast<double>(r.frames));
    bytes_.Increment(static_cast<double>(r.bytes));
    latency_.Observe(std::chrono::duration<double>(Clock::now() - t0).count());
    return std::move(r.reply);
  }

  // A job stuck far beyond the decode time limit means a hung library call
  // that cannot be cancelled: exit so the broker requeues it (and, after
  // three such deliveries, answers it as poison) and a supervisor restarts us.
  void watch(std::stop_token st) {
    const double limit =
        s_.job_timeout_s > 0 ? s_.job_timeout_s : s_.policy.defaults.limits.max_seconds * 2 + 60;
    while (!st.stop_requested()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      const auto now = Clock::now().time_since_epoch().count();
      for (const auto& t : started_) {
        const auto since = t.load();
        if (since != 0 && static_cast<double>(now - since) * 1e-9 > limit) {
          spdlog::critical("a job has run for more than {} s (--job-timeout): exiting", limit);
          std::_Exit(3);
        }
      }
    }
  }

  // SIGHUP: load the lists again and swap them in; jobs in flight finish
  // with the lists they started with. A list that fails to load leaves the
  // previous ones in place.
  void reload_on_sighup(std::stop_token st, int fd) {
    while (!st.stop_requested()) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char buf[256];
      (void)!::read(fd, buf, sizeof buf);
      try {
        matcher_.store(load_matcher(s_.match));
        spdlog::info("lists reloaded ({})", s_.match.lists.size());
      } catch (const std::exception& e) {
        spdlog::error("list reload failed, keeping the previous lists: {}", e.what());
      }
    }
  }

  // Testing only. crash:NAME / hang:NAME act in the worker itself;
  // decoder:FAULT:NAME is returned for the confined decoder (crash, hang,
  // network, open=PATH).
  std::string inject_fault(const std::string& header) {
    if (s_.fault.empty()) return {};
    const auto colon = s_.fault.find(':');
    const auto last = s_.fault.rfind(':');
    const std::string kind = s_.fault.substr(0, colon);
    const std::string name = colon == std::string::npos ? "" : s_.fault.substr(last + 1);
    const auto j = nlohmann::json::parse(header, nullptr, false);
    if (!j.is_object() || j.value("name", std::string()) != name) return {};
    spdlog::warn("fault injection: {} on {}", s_.fault.substr(0, last), name);
    if (kind == "crash") ::kill(::getpid(), SIGKILL);  // like a segfault, without a core file
    if (kind == "hang") std::this_thread::sleep_for(std::chrono::hours(24));
    if (kind == "decoder" && last > colon) {
      std::string fault = s_.fault.substr(colon + 1, last - colon - 1);
      if (fault.rfind("open=", 0) == 0) fault = "open:" + fault.substr(5);
      return fault;
    }
    return {};
  }

  WorkerSettings s_;
  UniqueFd stop_fd_, reload_fd_;
  MetricsEndpoint metrics_;
  prometheus::Counter& done_;
  prometheus::Counter& failed_;
  prometheus::Counter& frames_;
  prometheus::Counter& bytes_;
  prometheus::Gauge& busy_;
  prometheus::Histogram& latency_;
  prometheus::Counter& crashed_;
  prometheus::Counter& truncated_;
  prometheus::Counter& refused_;
  prometheus::Gauge& connected_;
  JobQueue<MdpJob> mdp_queue_;
  JobQueue<jetstream::Job> nats_queue_;
  std::vector<std::atomic<int64_t>> started_;  // per slot: clock ticks when its job began, 0 idle
  std::atomic<std::shared_ptr<const Matcher>> matcher_;
};

// A URL job's media, fetched by the rules of serve's url= (url_fetcher.h),
// its failures as the job's error codes.
std::function<std::vector<uint8_t>(const std::string&, uint64_t)> url_job_fetcher(
    serve::UrlPolicy policy) {
  return [policy = std::move(policy)](const std::string& url, uint64_t max_bytes) {
    serve::UrlPolicy p = policy;
    p.max_bytes = std::min(p.max_bytes, max_bytes);
    try {
      return serve::fetch_url(url, p).bytes;
    } catch (const serve::FetchError& e) {
      const ErrorCode code = e.status() == 400   ? ErrorCode::kUrlNotAllowed
                             : e.status() == 413 ? ErrorCode::kTooLarge
                                                 : ErrorCode::kFetchFailed;
      throw MediaError(code, e.what());
    }
  };
}

std::string default_name() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(::getpid());
}

}  // namespace
}  // namespace frameprint

namespace {
int run_main(int argc, char** argv) {
  using namespace frameprint;
  keep_decoder_memory_for_reuse();
  // A confined decoder process (sandbox.h) started by a worker.
  if (const auto status = run_sandbox_child_if_asked(argc, argv, "frameprint-worker"))
    return *status;
  WorkerSettings s;
  s.policy.defaults.seconds_per_hash = 1.0;
  std::vector<std::string> roots;
  int heartbeat_ms = static_cast<int>(s.mdp.heartbeat.count());
  bool verbose = false;
  CLI::App app{"frameprint-worker: hashes jobs from a frameprint-broker"};
  app.set_version_flag("--version",
                       [] { return version_text("frameprint-worker", media_library_versions()); });
  app.add_option("--connect", s.mdp.endpoint, "Broker backend endpoint")->capture_default_str();
  app.add_option("--slots", s.mdp.slots, "Jobs in flight (one broker connection each)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  options::add_device_option(app, s.device);
  options::add_transport_options(app, s.transport);
  options::add_nats_options(
      app, s.nats,
      "Take jobs from NATS JetStream (comma-separated server URLs) instead of "
      "a broker; see docs/scale.md");
  app.add_option("--max-deliveries", s.max_deliveries,
                 "NATS: a job delivered more often than this without a result (its workers "
                 "crashed or hung) is answered `poison` and dead-lettered")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--allow-root", roots, "Directory that path jobs may read from (repeatable)")
      ->allow_extra_args(false);
  bool allow_url_fetch = false;
  serve::UrlFetchOptions url_fetch;
  app.add_flag("--allow-url-fetch", allow_url_fetch,
               "Take URL jobs: fetch a job's \"url\" (http/https; loopback and private "
               "addresses only for --allow-url-host hosts) within --max-bytes")
      ->group("URL jobs");
  serve::add_url_fetch_options(app, url_fetch, "a URL job");
  for (const char* name : {"--allow-url-host", "--only-allowed-url-hosts", "--url-timeout"})
    app.get_option(name)->group("URL jobs");
  app.add_option("--max-message-bytes", s.mdp.max_message_bytes,
                 "Largest message taken from the broker (a larger one drops the connection)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-reply-bytes", s.policy.max_reply_bytes,
                 "Largest result sent back; frames beyond it are cut and the result marked partial")
      ->check(CLI::Range(size_t{4096}, size_t{1} << 31))
      ->capture_default_str();
  app.add_option("--min-seconds-per-hash", s.policy.min_seconds_per_hash,
                 "Refuse jobs asking for denser sampling than this (0: any)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_flag("!--no-dihedral-jobs", s.policy.allow_dihedral,
               "Refuse jobs that ask for dihedral hashes");
  app.add_option("--max-bytes", s.policy.max_bytes, "Largest file a job may carry or name")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--metrics", s.metrics, "Serve Prometheus metrics on HOST:PORT");
  app.add_option("--name", s.policy.worker_name, "Name put in replies (default HOST:PID)");
  app.add_option("--heartbeat-ms", heartbeat_ms,
                 "Heartbeat interval; the broker is dead after 3 missed")
      ->check(CLI::Range(10, 600000))
      ->capture_default_str();
  app.add_option(
      "--job-timeout", s.job_timeout_s,
      "Exit when one job runs longer than this (a hung decoder); default 2 x --max-seconds + 60");
  options::add_hashing_options(app, s.policy.defaults);
  options::add_match_options(app, s.match);
  add_sandbox_options(app, s.sandbox);
  app.add_option("--fault-injection", s.fault,
                 "Testing only: crash:NAME, hang:NAME or decoder:FAULT:NAME")
      ->group("");
  app.add_flag("-v,--verbose", verbose, "Log more");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  setup_logging("frameprint-worker", verbose, true);
  av_log_set_level(verbose ? AV_LOG_WARNING : AV_LOG_QUIET);
  s.mdp.heartbeat = std::chrono::milliseconds(heartbeat_ms);
  if (s.policy.worker_name.empty()) s.policy.worker_name = default_name();

  try {
    s.backend = choose_device(s.device);
    if (!s.backend.notice.empty()) spdlog::info("{}", s.backend.notice);
    s.match.cuda_device = s.backend.cuda_device;  // lists are searched where we hash
    resolve_sandbox(s.sandbox, s.backend, s.policy.max_reply_bytes);
    s.policy.allow_roots = canonical_roots(roots);
    std::optional<serve::CurlGlobal> curl;
    if (allow_url_fetch) {
      // The fetch counts towards a job's time: it must end well before the
      // watchdog takes the job for a hung one.
      const double job_limit =
          s.job_timeout_s > 0 ? s.job_timeout_s : s.policy.defaults.limits.max_seconds * 2 + 60;
      if (url_fetch.timeout_s + s.policy.defaults.limits.max_seconds >= job_limit)
        throw std::invalid_argument(
            "--url-timeout plus --max-seconds must stay below the job time-out (" +
            std::to_string(static_cast<int>(job_limit)) + " s, --job-timeout)");
      curl.emplace();
      s.policy.fetch_url =
          url_job_fetcher(serve::url_policy(url_fetch, s.policy.max_bytes, "frameprint-worker"));
    }
    if (s.nats.urls.empty()) s.mdp.keys = options::transport_keys(s.transport, s.mdp.endpoint);
    raise_fd_limit();
    UniqueFd stop_fd = stop_signal_fd();
    UniqueFd reload_fd = signal_fd({SIGHUP});
    return WorkerProgram(std::move(s), std::move(stop_fd), std::move(reload_fd)).run();
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
}
}  // namespace

int main(int argc, char** argv) { return frameprint::guarded_main(argc, argv, run_main); }
