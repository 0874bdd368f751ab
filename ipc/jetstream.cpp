#include "ipc/jetstream.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <unordered_map>

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include "ipc/common/log_limiter.h"
#include "ipc/curve.h"

namespace frameprint::jetstream {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int64_t kNanos = 1'000'000'000;
// How long a worker keeps trying to store a result before handing its job back.
constexpr auto kStoreRetry = std::chrono::seconds(30);
// An asynchronous publish not acked within this is reported as timed out
// and sent again (the stream de-duplicates it by its message id): a publish
// lost with a server that died costs this much, not more.
constexpr int64_t kPublishAckWaitMs = 4000;
// A publish whose ack has not come back after this long is sent again (a
// backstop for the library's own time-out, kPublishAckWaitMs).
constexpr auto kAckLost = std::chrono::seconds(15);
// A producer looks up the result of a job stored this long ago, and again
// as often, in case its delivery was lost (Producer::run).
constexpr auto kProbeEvery = std::chrono::seconds(10);

// RAII for the library's objects: each is freed by its own function.
template <auto Free>
struct FreeWith {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using MsgPtr = std::unique_ptr<natsMsg, FreeWith<natsMsg_Destroy>>;
using SubPtr = std::unique_ptr<natsSubscription, FreeWith<natsSubscription_Destroy>>;
using StreamInfoPtr = std::unique_ptr<jsStreamInfo, FreeWith<jsStreamInfo_Destroy>>;
using ConsumerInfoPtr = std::unique_ptr<jsConsumerInfo, FreeWith<jsConsumerInfo_Destroy>>;
using MetaPtr = std::unique_ptr<jsMsgMetaData, FreeWith<jsMsgMetaData_Destroy>>;
using PubAckPtr = std::unique_ptr<jsPubAck, FreeWith<jsPubAck_Destroy>>;
struct MsgList {
  natsMsgList list{};
  ~MsgList() { natsMsgList_Destroy(&list); }
};

std::string status_text(natsStatus s, jsErrCode code = static_cast<jsErrCode>(0)) {
  std::string t = natsStatus_GetText(s);
  const char* last = nats_GetLastError(nullptr);
  if (last != nullptr && *last != '\0' && t.find(last) == std::string::npos)
    t += std::string(": ") + last;
  if (code != 0) t += " (JetStream error " + std::to_string(static_cast<int>(code)) + ")";
  return t;
}

std::string read_secret(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(std::string("cannot read the ") + what + " file " + path);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  if (s.empty())
    throw std::runtime_error(std::string("the ") + what + " file " + path + " is empty");
  return s;
}

// "nats://host:port" -> "host" (brackets of IPv6 removed).
std::string url_host(std::string_view url) {
  if (const auto p = url.find("://"); p != std::string_view::npos) url.remove_prefix(p + 3);
  if (const auto at = url.rfind('@'); at != std::string_view::npos) url.remove_prefix(at + 1);
  if (!url.empty() && url.front() == '[') {
    const auto end = url.find(']');
    return std::string(url.substr(1, end == std::string_view::npos ? url.size() : end - 1));
  }
  return std::string(url.substr(0, url.find(':')));
}

const char* header(natsMsg* m, std::string_view key) {
  const char* v = nullptr;
  if (natsMsgHeader_Get(m, std::string(key).c_str(), &v) != NATS_OK) return nullptr;
  return v;
}

// How many leading bytes of a job's data are its JSON header
// (Frameprint-Header-Bytes); all of it when the header is missing or wrong.
size_t header_length(natsMsg* m) {
  const auto size = static_cast<size_t>(natsMsg_GetDataLength(m));
  const char* v = header(m, kHeaderBytesHeader);
  if (v == nullptr) return size;
  size_t n = 0;
  const auto [end, ec] = std::from_chars(v, v + std::strlen(v), n);
  return ec == std::errc() && *end == '\0' && n <= size ? n : size;
}

// Calls `request` (a JetStream API call) again for up to 10 s while the
// answer is that nobody answers: a stream or consumer whose leader just
// died answers once the cluster has elected another.
template <typename Request>
natsStatus until_answered(jsErrCode& code, Request request) {
  const auto until = Clock::now() + 10s;
  for (;;) {
    code = static_cast<jsErrCode>(0);
    const natsStatus s = request();
    if (!(s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS || code == 10008) || Clock::now() >= until)
      return s;
    std::this_thread::sleep_for(250ms);
  }
}

// Each job's result has a subject of its own under its producer's, so that
// the result of a job sent again (a duplicate) can be fetched directly.
std::string results_subject(const std::string& producer) {
  return "frameprint.results." + producer;
}
std::string result_subject(const std::string& producer, const std::string& job_id) {
  return results_subject(producer) + "." + job_id;
}
std::string results_consumer(const std::string& producer) { return "results_" + producer; }

// Error text of a result for `id` (a string or number in the job's header).
std::string error_result(const nlohmann::json& id, const std::string& code,
                         const std::string& message, uint64_t deliveries) {
  nlohmann::ordered_json j;
  j["id"] = id;
  j["status"] = "error";
  j["error"] = {{"code", code}, {"message", message}};
  j["deliveries"] = deliveries;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The job id in a job header, or null.
nlohmann::json header_id(std::string_view header) {
  const auto j = nlohmann::json::parse(header, nullptr, false);
  if (j.is_object() && j.contains("id") && (j["id"].is_string() || j["id"].is_number_integer()))
    return j["id"];
  return nullptr;
}

}  // namespace

std::vector<std::string> split_urls(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view one = list.substr(0, comma);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    if (!one.empty()) out.emplace_back(one);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

std::string name_digest(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (const unsigned char ch : s) h = (h ^ ch) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string producer_name(std::string_view role, std::string_view key) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::string name(role);
  name += '-';
  name += name_digest(std::string(host) + ":" + std::string(key)).substr(0, 12);
  return name;
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
  });
}

// ------------------------------------------------------------- connection

namespace {
void on_disconnected(natsConnection* nc, void* closure) {
  auto* s = static_cast<ConnectSettings*>(closure);
  if (natsConnection_IsClosed(nc)) return;  // our own close
  spdlog::warn("NATS: disconnected; reconnecting to any of {} server(s)", s->urls.size());
  if (s->on_link) s->on_link(false, "disconnected from the NATS server");
}
void on_reconnected(natsConnection* nc, void* closure) {
  auto* s = static_cast<ConnectSettings*>(closure);
  char url[256] = {};
  natsConnection_GetConnectedUrl(nc, url, sizeof url);
  spdlog::info("NATS: reconnected to {}", url);
  if (s->on_link) s->on_link(true, "");
}
void on_async_error(natsConnection*, natsSubscription*, natsStatus err, void*) {
  static_cast<void>(err);
  spdlog::debug("NATS: {}", natsStatus_GetText(err));
}
}  // namespace

Connection::Connection(ConnectSettings settings) : settings_(std::move(settings)) {
  if (settings_.urls.empty()) throw std::invalid_argument("--nats needs at least one server URL");
  const bool has_auth =
      !settings_.creds_file.empty() || !settings_.nkey_seed_file.empty() || !settings_.user.empty();
  const bool tls = !settings_.tls_ca.empty();
  for (const auto& u : settings_.urls) {
    if (u.rfind("nats://", 0) != 0 && u.rfind("tls://", 0) != 0)
      throw std::invalid_argument("NATS URL " + u + " must start with nats:// or tls://");
    if (!(has_auth && (tls || u.rfind("tls://", 0) == 0)) && !settings_.insecure &&
        !curve::is_loopback_host(url_host(u)))
      throw std::invalid_argument(
          "NATS server " + u +
          " is not on loopback: without TLS (--nats-tls-ca) and credentials (--nats-creds, "
          "--nats-nkey or --nats-user) jobs would cross the network in plaintext and "
          "unauthenticated; add them, or --insecure to do it anyway");
  }
  if (settings_.insecure)
    spdlog::warn("--insecure: NATS connections may be plaintext or unauthenticated");
  if (!settings_.user.empty() && settings_.password_file.empty())
    throw std::invalid_argument("--nats-user needs --nats-password-file");
  if (!settings_.tls_cert.empty() != !settings_.tls_key.empty())
    throw std::invalid_argument("--nats-tls-cert and --nats-tls-key go together");

  if (natsOptions_Create(&opts_) != NATS_OK) throw std::bad_alloc();
  std::vector<const char*> urls;
  for (const auto& u : settings_.urls) urls.push_back(u.c_str());
  auto check = [](natsStatus s, const char* what) {
    if (s != NATS_OK) throw std::invalid_argument(std::string(what) + ": " + status_text(s));
  };
  try {
    check(natsOptions_SetServers(opts_, urls.data(), static_cast<int>(urls.size())), "--nats");
    if (!settings_.name.empty()) natsOptions_SetName(opts_, settings_.name.c_str());
    natsOptions_SetMaxReconnect(opts_, -1);  // for ever, across every known server
    natsOptions_SetReconnectWait(opts_, 250);
    natsOptions_SetReconnectBufSize(opts_, 32 << 20);
    natsOptions_SetPingInterval(opts_, 5000);
    natsOptions_SetMaxPingsOut(opts_, 3);
    natsOptions_SetTimeout(opts_, 2000);
    natsOptions_SetDisconnectedCB(opts_, on_disconnected, &settings_);
    natsOptions_SetReconnectedCB(opts_, on_reconnected, &settings_);
    natsOptions_SetErrorHandler(opts_, on_async_error, nullptr);
    if (!settings_.inbox_prefix.empty())
      check(natsOptions_SetCustomInboxPrefix(opts_, settings_.inbox_prefix.c_str()),
            "inbox prefix");
    if (!settings_.creds_file.empty())
      check(natsOptions_SetUserCredentialsFromFiles(opts_, settings_.creds_file.c_str(), nullptr),
            "--nats-creds");
    if (!settings_.nkey_seed_file.empty()) {
      read_secret(settings_.nkey_seed_file, "NKey seed");  // a clear error when unreadable
      check(natsOptions_SetNKeyFromSeed(opts_, nullptr, settings_.nkey_seed_file.c_str()),
            "--nats-nkey");
    }
    if (!settings_.user.empty())
      check(natsOptions_SetUserInfo(opts_, settings_.user.c_str(),
                                    read_secret(settings_.password_file, "NATS password").c_str()),
            "--nats-user");
    if (tls) {
      check(natsOptions_SetSecure(opts_, true), "TLS");
      check(natsOptions_LoadCATrustedCertificates(opts_, settings_.tls_ca.c_str()),
            "--nats-tls-ca");
      if (!settings_.tls_cert.empty())
        check(natsOptions_LoadCertificatesChain(opts_, settings_.tls_cert.c_str(),
                                                settings_.tls_key.c_str()),
              "--nats-tls-cert");
    }
  } catch (...) {
    natsOptions_Destroy(opts_);
    throw;
  }

  // Connect, retrying until the deadline: a refusal ends at once.
  const auto deadline = Clock::now() + settings_.connect_timeout;
  LogLimiter log(30s);
  std::string last;
  for (;;) {
    const natsStatus s = natsConnection_Connect(&nc_, opts_);
    if (s == NATS_OK) break;
    last = status_text(s);
    nc_ = nullptr;
    if (s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED || s == NATS_SSL_ERROR ||
        s == NATS_SECURE_CONNECTION_REQUIRED || s == NATS_SECURE_CONNECTION_WANTED) {
      natsOptions_Destroy(opts_);
      throw NatsError("the NATS server refused this client: " + last +
                          " (check --nats-creds, --nats-nkey, --nats-user, --nats-tls-*)",
                      true);
    }
    uint64_t held = 0;
    if (log.allow(Clock::now(), held))
      spdlog::warn("NATS: cannot reach {}: {}; retrying", settings_.urls.front(), last);
    if (settings_.connect_timeout.count() > 0 && Clock::now() >= deadline) {
      natsOptions_Destroy(opts_);
      throw NatsError("cannot reach any NATS server (" + settings_.urls.front() +
                      (settings_.urls.size() > 1 ? ", ..." : "") + "): " + last);
    }
    std::this_thread::sleep_for(250ms);
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 5000;
  if (natsConnection_JetStream(&js_, nc_, &jo) != NATS_OK) {
    natsConnection_Destroy(nc_);
    natsOptions_Destroy(opts_);
    throw NatsError("cannot open a JetStream context");
  }
  if (settings_.on_link) settings_.on_link(true, "");
}

Connection::~Connection() {
  if (js_ != nullptr) jsCtx_Destroy(js_);
  if (nc_ != nullptr) {
    natsConnection_FlushTimeout(nc_, 2000);
    natsConnection_Close(nc_);
    natsConnection_Destroy(nc_);
  }
  if (opts_ != nullptr) natsOptions_Destroy(opts_);
}

bool Connection::up() const { return natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED; }

int64_t Connection::max_payload() const { return natsConnection_GetMaxPayload(nc_); }

// ------------------------------------------------------------------ admin

namespace {

// Creates or updates a stream; retries while the cluster has no leader yet.
std::string put_stream(Connection& c, jsStreamConfig& cfg, std::chrono::milliseconds wait) {
  const auto deadline = Clock::now() + wait;
  for (;;) {
    jsStreamInfo* raw = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&raw, c.js(), cfg.Name, nullptr, &code);
    StreamInfoPtr existing(raw);
    raw = nullptr;
    std::string done;
    if (s == NATS_OK) {
      done = "updated";
      s = js_UpdateStream(&raw, c.js(), &cfg, nullptr, &code);
    } else if (code == JSStreamNotFoundErr) {
      done = "created";
      code = static_cast<jsErrCode>(0);
      s = js_AddStream(&raw, c.js(), &cfg, nullptr, &code);
    }
    StreamInfoPtr info(raw);
    if (s == NATS_OK) return done;
    const bool transient = s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS || code == 10008 ||
                           code == 10074 || code == 10023;  // unavailable, no leader, insufficient
    if (!transient || Clock::now() >= deadline)
      throw NatsError(std::string("cannot create or update stream ") + cfg.Name + ": " +
                      status_text(s, code));
    std::this_thread::sleep_for(500ms);
  }
}

void put_consumer(Connection& c, const char* stream, jsConsumerConfig& cfg,
                  std::chrono::milliseconds wait) {
  const auto deadline = Clock::now() + wait;
  for (;;) {
    jsConsumerInfo* raw = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    const natsStatus s = js_AddConsumer(&raw, c.js(), stream, &cfg, nullptr, &code);
    ConsumerInfoPtr info(raw);
    if (s == NATS_OK) return;
    const bool transient = s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS || code == 10008;
    if (!transient || Clock::now() >= deadline)
      throw NatsError(std::string("cannot create consumer ") + cfg.Durable + " on " + stream +
                      ": " + status_text(s, code));
    std::this_thread::sleep_for(500ms);
  }
}

}  // namespace

nlohmann::ordered_json init_queue(Connection& c, const QueueConfig& q) {
  nlohmann::ordered_json out;
  const std::string jobs(kJobsStream), results(kResultsStream), dead(kDeadStream);
  const char* jobs_subjects[] = {"frameprint.jobs.>"};
  const char* results_subjects[] = {"frameprint.results.>"};
  const char* dead_subjects[] = {"frameprint.dead.>"};
  const int64_t dup = static_cast<int64_t>(q.duplicates.count()) * kNanos;

  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  sc.Name = jobs.c_str();
  sc.Description = "frameprint jobs: one message per job, removed when a worker acks it";
  sc.Subjects = jobs_subjects;
  sc.SubjectsLen = 1;
  sc.Retention = js_WorkQueuePolicy;
  sc.Storage = js_FileStorage;
  sc.Discard = js_DiscardNew;  // a full queue refuses new jobs, never drops queued ones
  sc.MaxBytes = q.max_bytes;
  sc.MaxMsgs = q.max_msgs;
  sc.MaxMsgSize = q.max_job_bytes;
  sc.Replicas = q.replicas;
  sc.Duplicates = dup;
  out["streams"][jobs] = put_stream(c, sc, q.wait);

  jsStreamConfig_Init(&sc);
  sc.Name = results.c_str();
  sc.Description = "frameprint results, one per job id, read by each producer's consumer";
  sc.AllowDirect = true;  // a resumed producer reads a result by its job's subject
  sc.Subjects = results_subjects;
  sc.SubjectsLen = 1;
  sc.Retention = js_LimitsPolicy;
  sc.Storage = js_FileStorage;
  sc.Discard = js_DiscardOld;
  sc.MaxAge = static_cast<int64_t>(q.results_max_age.count()) * kNanos;
  sc.MaxBytes = q.results_max_bytes;
  sc.Replicas = q.replicas;
  sc.Duplicates = dup;
  out["streams"][results] = put_stream(c, sc, q.wait);

  jsStreamConfig_Init(&sc);
  sc.Name = dead.c_str();
  sc.Description = "frameprint jobs that no worker could finish (header Frameprint-Dead-Reason)";
  sc.Subjects = dead_subjects;
  sc.SubjectsLen = 1;
  sc.Retention = js_LimitsPolicy;
  sc.Storage = js_FileStorage;
  sc.MaxAge = static_cast<int64_t>(q.dead_max_age.count()) * kNanos;
  sc.MaxBytes = q.max_bytes;
  sc.Replicas = q.replicas;
  sc.Duplicates = dup;
  out["streams"][dead] = put_stream(c, sc, q.wait);

  const std::string workers(kWorkersConsumer);
  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = workers.c_str();
  cc.Description = "frameprint workers: each job to one worker, acked after its result is stored";
  cc.AckPolicy = js_AckExplicit;
  cc.DeliverPolicy = js_DeliverAll;
  cc.AckWait = static_cast<int64_t>(q.ack_wait.count()) * 1'000'000;
  cc.MaxDeliver = -1;  // workers dead-letter a job themselves after --max-deliveries
  cc.MaxAckPending = q.max_ack_pending;
  cc.MaxWaiting = 4096;
  put_consumer(c, jobs.c_str(), cc, q.wait);
  out["consumers"].push_back(workers);
  const int64_t max_payload = natsConnection_GetMaxPayload(c.nc());
  if (max_payload < q.max_job_bytes + 1024)
    out["warnings"].push_back(
        "the server's max_payload is " + std::to_string(max_payload) +
        " bytes: jobs larger than that are refused as too_large; set max_payload to at least " +
        std::to_string(q.max_job_bytes + 1024) + " in the servers' configuration");
  for (const auto& p : q.producers) {
    if (!valid_name(p))
      throw std::invalid_argument("producer name " + p + " must be 1-64 of [A-Za-z0-9_-]");
    ensure_results_consumer(c, p, q.ack_wait);
    out["consumers"].push_back(results_consumer(p));
  }
  return out;
}

void ensure_results_consumer(Connection& c, const std::string& producer,
                             std::chrono::milliseconds ack_wait) {
  const std::string durable = results_consumer(producer);
  const std::string filter = results_subject(producer) + ".*";
  {  // made ahead by `queue init --producer` where producers may not make it
    jsConsumerInfo* raw = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    const natsStatus s = js_GetConsumerInfo(&raw, c.js(), std::string(kResultsStream).c_str(),
                                            durable.c_str(), nullptr, &code);
    ConsumerInfoPtr info(raw);
    if (s == NATS_OK) return;
    if (code != JSConsumerNotFoundErr)
      throw NatsError("cannot read consumer " + durable + " on " + std::string(kResultsStream) +
                      ": " + status_text(s, code) +
                      (code == JSStreamNotFoundErr
                           ? " (run frameprint queue init)"
                           : " (is this user allowed this producer name?)"));
  }
  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = durable.c_str();
  cc.Description = "one producer's results";
  cc.FilterSubject = filter.c_str();
  // One ack per fetched batch, for its last result, acks the batch: a
  // replicated ack per result would cost the cluster as much as the result.
  cc.AckPolicy = js_AckAll;
  cc.DeliverPolicy = js_DeliverAll;
  cc.AckWait = static_cast<int64_t>(ack_wait.count()) * 1'000'000;
  cc.MaxDeliver = -1;
  put_consumer(c, std::string(kResultsStream).c_str(), cc, 15s);
}

nlohmann::ordered_json queue_status(Connection& c) {
  nlohmann::ordered_json out;
  auto stream = [&](std::string_view name) -> nlohmann::ordered_json {
    jsStreamInfo* raw = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    const natsStatus s = until_answered(code, [&] {
      return js_GetStreamInfo(&raw, c.js(), std::string(name).c_str(), nullptr, &code);
    });
    StreamInfoPtr si(raw);
    if (s != NATS_OK)
      throw NatsError("cannot read stream " + std::string(name) + ": " + status_text(s, code) +
                      (code == JSStreamNotFoundErr ? " (run frameprint queue init)" : ""));
    nlohmann::ordered_json j;
    j["messages"] = si->State.Msgs;
    j["bytes"] = si->State.Bytes;
    j["max_messages"] = si->Config->MaxMsgs;
    j["max_bytes"] = si->Config->MaxBytes;
    j["replicas"] = si->Config->Replicas;
    if (si->Cluster != nullptr) {
      j["leader"] = si->Cluster->Leader != nullptr ? si->Cluster->Leader : "";
      int current = si->Cluster->Leader != nullptr ? 1 : 0;
      for (int i = 0; i < si->Cluster->ReplicasLen; ++i)
        if (si->Cluster->Replicas[i]->Current && !si->Cluster->Replicas[i]->Offline) ++current;
      j["replicas_current"] = current;
    }
    return j;
  };
  out["jobs"] = stream(kJobsStream);
  jsConsumerInfo* raw = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus s = until_answered(code, [&] {
    return js_GetConsumerInfo(&raw, c.js(), std::string(kJobsStream).c_str(),
                              std::string(kWorkersConsumer).c_str(), nullptr, &code);
  });
  ConsumerInfoPtr ci(raw);
  if (s != NATS_OK) throw NatsError("cannot read the workers' consumer: " + status_text(s, code));
  out["depth"] = out["jobs"]["messages"];
  out["pending"] = ci->NumPending;          // not yet handed to a worker
  out["in_progress"] = ci->NumAckPending;   // in a worker's hands
  out["redelivered"] = ci->NumRedelivered;  // handed out again, not yet acked
  out["workers_waiting"] = ci->NumWaiting;  // fetch requests waiting for jobs
  out["results"] = stream(kResultsStream);
  const auto dead = stream(kDeadStream);
  out["dead_lettered"] = dead["messages"];
  out["dead"] = dead;
  return out;
}

// ----------------------------------------------------------------- worker

Job::Job(Job&& o) noexcept
    : ticket_(std::exchange(o.ticket_, 0)),
      msg_(std::exchange(o.msg_, nullptr)),
      header_(o.header_),
      bytes_(o.bytes_),
      deliveries_(o.deliveries_) {}
Job& Job::operator=(Job&& o) noexcept {
  if (this != &o) {
    natsMsg_Destroy(msg_);
    ticket_ = std::exchange(o.ticket_, 0);
    msg_ = std::exchange(o.msg_, nullptr);
    header_ = o.header_;
    bytes_ = o.bytes_;
    deliveries_ = o.deliveries_;
  }
  return *this;
}
// A job dropped without complete() is redelivered after AckWait.
Job::~Job() { natsMsg_Destroy(msg_); }

struct Worker::InHand {
  uint64_t ticket;
  natsMsg* msg;  // owned by the Job; valid while this entry exists
  Clock::time_point last_progress;
};

struct Worker::Storing {
  uint64_t ticket = 0;
  natsMsg* job = nullptr;  // owned here until settled
  std::string reply, msg_id, json;
  natsMsg* sent = nullptr;  // the result message while the library holds it
  Clock::time_point sent_at, retry_at, give_up;
  int attempts = 0;
  Storing() = default;
  Storing(const Storing&) = delete;
  Storing& operator=(const Storing&) = delete;
  ~Storing() { natsMsg_Destroy(job); }  // unsettled: redelivered after AckWait
};

WorkerCounters::WorkerCounters(MetricsEndpoint& m)
    : dead_lettered(m.counter("frameprint_worker_nats_dead_lettered_total",
                              "Jobs sent to FRAMEPRINT_DEAD: poison (delivered more than "
                              "--max-deliveries times) and malformed")),
      malformed(m.counter("frameprint_worker_nats_malformed_total",
                          "Jobs without a valid Frameprint-Reply under their own producer "
                          "(dead-lettered, not answered)")),
      redelivered(m.counter("frameprint_worker_nats_redelivered_total",
                            "Jobs fetched on their second delivery or later")),
      publish_failures(m.counter("frameprint_worker_nats_result_publish_failures_total",
                                 "Result publishes refused by the stream or not acked in 4 s "
                                 "(each is sent again)")),
      handed_back(m.counter("frameprint_worker_nats_jobs_handed_back_total",
                            "Jobs naked because their result could not be stored for 30 s")),
      unstored(m.gauge("frameprint_worker_nats_results_unstored",
                       "Results sent and not yet acked by the stream (their jobs not yet acked)")) {
}

Worker::Worker(Connection& c, WorkerConfig config, MetricsEndpoint& metrics)
    : c_(c), config_(std::move(config)), counters_(metrics) {}
Worker::~Worker() = default;

bool Worker::publish_result(const std::string& reply, const std::string& msg_id,
                            const std::string& json) {
  natsMsg* raw = nullptr;
  if (natsMsg_Create(&raw, reply.c_str(), nullptr, json.data(), static_cast<int>(json.size())) !=
      NATS_OK)
    return false;
  MsgPtr m(raw);
  if (!msg_id.empty()) natsMsgHeader_Set(m.get(), "Nats-Msg-Id", msg_id.c_str());
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 5000;
  jsPubAck* ack = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus s = js_PublishMsg(&ack, c_.js(), m.get(), &po, &code);
  PubAckPtr owned(ack);
  if (s != NATS_OK) {
    counters_.publish_failures.Increment();
    spdlog::warn("NATS: cannot store a result on {}: {}", reply, status_text(s, code));
    return false;
  }
  return true;
}

void Worker::dead_letter(natsMsg* msg, const std::string& reason, uint64_t deliveries,
                         bool answer) {
  const char* reply = header(msg, kReplyHeader);
  const char* id = header(msg, "Nats-Msg-Id");
  const std::string subject = natsMsg_GetSubject(msg);
  const std::string producer = subject.substr(std::min(subject.size(), sizeof "frameprint.jobs"));
  natsMsg* raw = nullptr;
  const std::string dead_subject = "frameprint.dead." + (producer.empty() ? "unknown" : producer);
  natsMsg_Create(&raw, dead_subject.c_str(), nullptr, natsMsg_GetData(msg),
                 natsMsg_GetDataLength(msg));
  MsgPtr d(raw);
  if (!d) return;
  for (const char* key : {kReplyHeader.data(), kHeaderBytesHeader.data(), "Nats-Msg-Id"})
    if (const char* v = header(msg, key)) natsMsgHeader_Set(d.get(), key, v);
  natsMsgHeader_Set(d.get(), std::string(kDeadReasonHeader).c_str(), reason.c_str());
  natsMsgHeader_Set(d.get(), "Frameprint-Deliveries", std::to_string(deliveries).c_str());
  if (!config_.name.empty()) natsMsgHeader_Set(d.get(), "Frameprint-Worker", config_.name.c_str());
  jsPubAck* ack = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus s = js_PublishMsg(&ack, c_.js(), d.get(), nullptr, &code);
  PubAckPtr owned(ack);
  if (s != NATS_OK) {
    spdlog::warn("NATS: cannot dead-letter a job: {}; it will come back", status_text(s, code));
    return;  // not acked: redelivered, and dead-lettered again then
  }
  counters_.dead_lettered.Increment();
  // The producer learns of it as a `poison` result (when it can be told).
  if (answer && reply != nullptr) {
    const auto job_id = header_id(std::string_view(natsMsg_GetData(msg), header_length(msg)));
    if (!publish_result(reply, id != nullptr ? id : "",
                        error_result(job_id, "poison", reason, deliveries)))
      return;
  }
  natsMsg_Ack(msg, nullptr);
}

void Worker::keep_alive() {
  const auto now = Clock::now();
  std::lock_guard lock(mu_);
  for (auto& h : in_hand_)
    if (now - h->last_progress >= progress_every_) {
      natsMsg_InProgress(h->msg, nullptr);
      h->last_progress = now;
    }
}

void Worker::run(const std::function<void(Job)>& on_job, int stop_fd) {
  const std::string jobs(kJobsStream), workers(kWorkersConsumer);
  {
    jsConsumerInfo* raw = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    const natsStatus s = until_answered(code, [&] {
      return js_GetConsumerInfo(&raw, c_.js(), jobs.c_str(), workers.c_str(), nullptr, &code);
    });
    ConsumerInfoPtr ci(raw);
    if (s != NATS_OK)
      throw NatsError("cannot find the workers' consumer on " + jobs + ": " + status_text(s, code) +
                      " (run frameprint queue init)");
    // In-progress acks three times per AckWait keep a long job ours.
    progress_every_ = std::max<std::chrono::milliseconds>(
        std::chrono::milliseconds(ci->Config->AckWait / 1'000'000 / 3), 100ms);
  }
  natsSubscription* raw = nullptr;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = jobs.c_str();
  so.Consumer = workers.c_str();
  so.ManualAck = true;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s =
      js_PullSubscribe(&raw, c_.js(), "frameprint.jobs.>", workers.c_str(), nullptr, &so, &code);
  if (s != NATS_OK)
    throw NatsError("cannot bind to the workers' consumer: " + status_text(s, code));
  SubPtr sub(raw);
  // Results go out asynchronously; on_stored settles their jobs.
  {
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.AckHandler = &Worker::on_stored;
    jo.PublishAsync.AckHandlerClosure = this;
    if (natsConnection_JetStream(&store_js_, c_.nc(), &jo) != NATS_OK)
      throw NatsError("cannot open a JetStream context for results");
  }
  struct CloseStore {
    Worker& w;
    ~CloseStore() {  // every job is settled by now, or run() is unwinding
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MaxWait = 2000;
      js_PublishAsyncComplete(w.store_js_, &po);
      jsCtx* js = nullptr;
      {
        std::lock_guard lock(w.mu_);  // complete() may still run when run() unwinds
        js = std::exchange(w.store_js_, nullptr);
      }
      jsCtx_Destroy(js);
    }
  } close_store{*this};
  LogLimiter fetch_log(30s);
  bool stopping = false;
  // Jobs being hashed (busy_) are bounded by the slots; results on their way
  // to the stream, whose jobs are not acked yet, by unstored_cap.
  const size_t unstored_cap = static_cast<size_t>(std::max(32, 4 * config_.slots));
  const auto free_slots = [&] {  // under mu_
    return storing_.size() >= unstored_cap ? 0 : config_.slots - busy_.load();
  };
  const auto in_hand = [&] {
    std::lock_guard lock(mu_);
    return busy_.load() + static_cast<int>(storing_.size());
  };
  while (!stopping || in_hand() > 0) {
    if (stop_fd >= 0 && !stopping) {
      pollfd p{stop_fd, POLLIN, 0};
      if (::poll(&p, 1, 0) > 0) {
        stopping = true;
        spdlog::info("stopping: finishing {} job(s) in hand", in_hand());
      }
    }
    keep_alive();
    retry_results();
    int free = 0;
    {
      std::lock_guard lock(mu_);
      free = free_slots();
    }
    if (stopping || free <= 0) {  // until a slot frees (a result stored), or a tick
      std::unique_lock lock(mu_);
      const bool retrying = std::any_of(storing_.begin(), storing_.end(),
                                        [](const auto& r) { return r->sent == nullptr; });
      slot_freed_.wait_for(lock, stopping || retrying ? 20ms : progress_every_ / 2, [&] {
        if (stopping) return busy_.load() == 0 && storing_.empty();
        return free_slots() > 0 || std::any_of(storing_.begin(), storing_.end(), [](const auto& r) {
                 return r->sent == nullptr;  // a result to send again
               });
      });
      continue;
    }
    // One fetch for several jobs: each fetch is a request the servers
    // serve, so with most slots busy, wait a moment for more to free.
    int batch = free;
    if (free < (config_.slots + 1) / 2 && busy_.load() > 0) {
      std::unique_lock lock(mu_);
      slot_freed_.wait_for(lock, 5ms, [&] { return free_slots() >= (config_.slots + 1) / 2; });
      batch = free_slots();
    }
    if (batch <= 0) continue;
    MsgList got;
    code = static_cast<jsErrCode>(0);
    s = natsSubscription_Fetch(&got.list, sub.get(), batch,
                               static_cast<int64_t>(config_.fetch_wait.count()), &code);
    if (s == NATS_TIMEOUT) continue;
    if (s != NATS_OK) {
      uint64_t held = 0;
      if (fetch_log.allow(Clock::now(), held))
        spdlog::warn("NATS: cannot fetch jobs: {}", status_text(s, code));
      std::this_thread::sleep_for(250ms);
      continue;
    }
    for (int i = 0; i < got.list.Count; ++i) {
      natsMsg* m = std::exchange(got.list.Msgs[i], nullptr);
      jsMsgMetaData* meta_raw = nullptr;
      natsMsg_GetMetaData(&meta_raw, m);
      MetaPtr meta(meta_raw);
      const uint64_t deliveries = meta ? meta->NumDelivered : 1;
      if (deliveries > 1) counters_.redelivered.Increment();
      const char* reply = header(m, kReplyHeader);
      // A job's result goes only under its own producer's subject: a job
      // from frameprint.jobs.P answers on frameprint.results.P.JOB, so that
      // no producer can have workers write into another's results.
      const std::string_view subject(natsMsg_GetSubject(m));
      const std::string expected =
          "frameprint.results." +
          std::string(subject.substr(std::min(subject.size(), sizeof "frameprint.jobs"))) + ".";
      if (reply == nullptr || !std::string_view(reply).starts_with(expected) ||
          std::string_view(reply).size() == expected.size() ||
          std::string_view(reply).substr(expected.size()).find_first_of("*>. \t") !=
              std::string_view::npos) {
        counters_.malformed.Increment();
        spdlog::warn("a job without a valid {} header: dead-lettered", kReplyHeader);
        dead_letter(m, "malformed: no Frameprint-Reply under the job's own producer", deliveries,
                    false);
        natsMsg_Destroy(m);
        continue;
      }
      if (deliveries > static_cast<uint64_t>(config_.max_deliveries)) {
        spdlog::warn("a job was delivered {} times without a result: dead-lettered as poison",
                     deliveries);
        dead_letter(m,
                    "the job was delivered " + std::to_string(deliveries - 1) +
                        " times and no worker finished it (each crashed or hung on it)",
                    deliveries);
        natsMsg_Destroy(m);
        continue;
      }
      Job job;
      job.msg_ = m;
      job.deliveries_ = deliveries;
      const char* data = natsMsg_GetData(m);
      const auto size = static_cast<size_t>(natsMsg_GetDataLength(m));
      const size_t hb = header_length(m);
      job.header_ = std::string_view(data, hb);
      if (hb < size) job.bytes_ = std::span(reinterpret_cast<const uint8_t*>(data) + hb, size - hb);
      {
        std::lock_guard lock(mu_);
        job.ticket_ = next_ticket_++;
        in_hand_.push_back(std::make_unique<InHand>(InHand{job.ticket_, m, Clock::now()}));
      }
      ++busy_;
      on_job(std::move(job));
    }
  }
}

void Worker::complete(Job job, std::string result_json) {
  const char* reply = header(job.msg_, kReplyHeader);
  const char* id = header(job.msg_, "Nats-Msg-Id");
  auto s = std::make_unique<Storing>();
  s->ticket = job.ticket_;
  s->job = std::exchange(job.msg_, nullptr);
  s->reply = reply != nullptr ? reply : "";
  s->msg_id = id != nullptr ? id : "";
  s->json = std::move(result_json);
  s->give_up = Clock::now() + kStoreRetry;
  std::lock_guard lock(mu_);
  // A result that cannot be stored (a stream without its leader while the
  // cluster elects one, a full stream) is not the job's fault: it is tried
  // again by retry_results() until kStoreRetry, the job kept ours by the
  // in-progress acks, before the job is handed back.
  if (!send_result(*s)) s->retry_at = Clock::now() + 100ms;
  storing_.push_back(std::move(s));
  counters_.unstored.Set(static_cast<double>(storing_.size()));
  --busy_;  // the slot is free for the next job; the job is acked once its result is stored
  slot_freed_.notify_one();
}

bool Worker::send_result(Storing& s) {
  if (store_js_ == nullptr) return false;  // run() has ended
  natsMsg* raw = nullptr;
  if (natsMsg_Create(&raw, s.reply.c_str(), nullptr, s.json.data(),
                     static_cast<int>(s.json.size())) != NATS_OK)
    return false;
  MsgPtr m(raw);
  if (!s.msg_id.empty()) natsMsgHeader_Set(m.get(), "Nats-Msg-Id", s.msg_id.c_str());
  natsMsg* sent = m.get();
  natsMsg* handed = m.release();
  // The handler may run on the library's thread before this returns; it
  // finds the entry by `sent` only once mu_ (held here) is released.
  // An ack that never comes (the publish went to a server that died) is
  // reported to on_stored as a time-out after this wait, and sent again.
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = kPublishAckWaitMs;
  const natsStatus st = js_PublishMsgAsync(store_js_, &handed, &po);
  if (st != NATS_OK) {
    natsMsg_Destroy(handed);  // still ours when not taken
    counters_.publish_failures.Increment();
    return false;
  }
  s.sent = sent;
  s.sent_at = Clock::now();
  return true;
}

void Worker::settle(Storing& s, bool stored) {
  std::erase_if(in_hand_, [&](const auto& h) { return h->ticket == s.ticket; });
  if (stored) natsMsg_Ack(s.job, nullptr);
  else natsMsg_NakWithDelay(s.job, 1000, nullptr);
  natsMsg_Destroy(std::exchange(s.job, nullptr));
}

void Worker::on_stored(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
  auto* w = static_cast<Worker*>(closure);
  MsgPtr owned(msg);
  std::unique_lock lock(w->mu_);
  const auto it = std::find_if(w->storing_.begin(), w->storing_.end(),
                               [&](const auto& s) { return s->sent == msg; });
  if (it == w->storing_.end()) return;  // taken back by retry_results()
  Storing& s = **it;
  s.sent = nullptr;
  if (pa != nullptr) {
    w->settle(s, true);
    w->storing_.erase(it);
    w->counters_.unstored.Set(static_cast<double>(w->storing_.size()));
    lock.unlock();
    w->slot_freed_.notify_one();
    return;
  }
  w->counters_.publish_failures.Increment();
  spdlog::warn("NATS: cannot store a result on {}: {}", s.reply,
               pae != nullptr ? status_text(pae->Err, pae->ErrCode) +
                                    (pae->ErrText != nullptr ? std::string(": ") + pae->ErrText
                                                             : std::string())
                              : std::string("refused"));
  s.retry_at = Clock::now() +
               std::min<std::chrono::milliseconds>(100ms * (1 << std::min(s.attempts++, 4)), 2s);
  lock.unlock();
  w->slot_freed_.notify_one();  // run() retries it after a short wait, not a long one
}

// On the run() loop: results refused or not acknowledged in time go out
// again (the stream de-duplicates by message id); past kStoreRetry their
// jobs are handed back.
void Worker::retry_results() {
  const auto now = Clock::now();
  std::lock_guard lock(mu_);
  bool freed = false;
  for (auto it = storing_.begin(); it != storing_.end();) {
    Storing& s = **it;
    // The library reports a missing ack after kPublishAckWaitMs; should it
    // never report (its connection closed for good), count it failed here.
    // A late report no longer finds the entry and is dropped.
    if (s.sent != nullptr && now - s.sent_at > kAckLost) {
      s.sent = nullptr;
      s.retry_at = now;
    }
    if (s.sent == nullptr && now >= s.retry_at) {
      if (now >= s.give_up) {
        spdlog::warn("NATS: a result could not be stored for {} s: its job is handed back",
                     std::chrono::duration_cast<std::chrono::seconds>(kStoreRetry).count());
        settle(s, false);
        counters_.handed_back.Increment();
        it = storing_.erase(it);
        counters_.unstored.Set(static_cast<double>(storing_.size()));
        freed = true;
        continue;
      }
      if (!send_result(s))
        s.retry_at =
            now + std::min<std::chrono::milliseconds>(100ms * (1 << std::min(s.attempts++, 4)), 2s);
    }
    ++it;
  }
  if (freed) slot_freed_.notify_one();
}

// --------------------------------------------------------------- producer

Producer::Producer(Connection& c, ProducerSettings settings)
    : c_(c), settings_(std::move(settings)) {
  if (!valid_name(settings_.name))
    throw std::invalid_argument("the producer name \"" + settings_.name +
                                "\" must be 1-64 of [A-Za-z0-9_-]");
}

namespace {

// Publish outcomes, reported on the library's thread.
struct PublishOutcomes {
  std::mutex mu;
  struct Outcome {
    std::string msg_id, error;  // error: "" when stored
    bool duplicate = false;     // stored before, under the same id
  };
  std::vector<Outcome> done;
};

void on_pub_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
  auto* o = static_cast<PublishOutcomes*>(closure);
  const char* id = header(msg, "Nats-Msg-Id");
  std::string err;
  if (pa == nullptr) {
    err = pae != nullptr ? status_text(pae->Err, pae->ErrCode) : "no acknowledgement";
    if (pae != nullptr && pae->ErrText != nullptr) err += std::string(": ") + pae->ErrText;
    if (err.empty()) err = "refused";
  }
  {
    std::lock_guard lock(o->mu);
    o->done.push_back({id != nullptr ? id : "", std::move(err), pa != nullptr && pa->Duplicate});
  }
  natsMsg_Destroy(msg);
}

}  // namespace

bool Producer::run(
    const std::function<std::optional<ProducerJob>()>& next,
    const std::function<void(const std::string& id, const std::string& json)>& on_result,
    int stop_fd, int wake_fd) {
  const bool streaming = wake_fd >= 0;
  const std::string name = settings_.name;
  const std::string reply = results_subject(name);
  const std::string job_subject = "frameprint.jobs." + name;
  ensure_results_consumer(c_, name, settings_.ack_wait);

  // Asynchronous publishes with acks (bounded by the window), reported to `outcomes`.
  PublishOutcomes outcomes;
  jsCtx* js = nullptr;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 5000;
  jo.PublishAsync.MaxPending = settings_.window;
  jo.PublishAsync.AckHandler = on_pub_ack;
  jo.PublishAsync.AckHandlerClosure = &outcomes;
  if (natsConnection_JetStream(&js, c_.nc(), &jo) != NATS_OK)
    throw NatsError("cannot open a JetStream context");
  struct JsDeleter {
    jsCtx* js;
    ~JsDeleter() {
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MaxWait = 2000;
      js_PublishAsyncComplete(js, &po);
      jsCtx_Destroy(js);
    }
  } js_owner{js};

  const std::string results(kResultsStream), durable = results_consumer(name);
  natsSubscription* raw = nullptr;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = results.c_str();
  so.Consumer = durable.c_str();
  so.ManualAck = true;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s =
      js_PullSubscribe(&raw, c_.js(), (reply + ".*").c_str(), durable.c_str(), nullptr, &so, &code);
  if (s != NATS_OK)
    throw NatsError("cannot read this producer's results (" + durable +
                    "): " + status_text(s, code));
  SubPtr sub(raw);

  struct Pending {
    ProducerJob job;
    Clock::time_point first_publish{}, stored{};
    bool in_flight = false;  // published, ack not yet in
    Clock::time_point sent_at{};
    bool is_stored = false;
    int attempts = 0;
    Clock::time_point retry_at{};
    Clock::time_point next_probe{};  // stored: when to look for its result directly
  };
  std::map<std::string, Pending> pending;                  // by job id
  std::unordered_map<std::string, std::string> by_msg_id;  // msg id -> job id
  bool exhausted = false;
  LogLimiter refused_log(5s);

  auto publish = [&](Pending& p) {
    std::string data;
    const std::string head = p.job.body.empty() ? std::string() : mdp::to_string(p.job.body[0]);
    data.reserve(head.size() + (p.job.body.size() > 1 ? p.job.body[1].size() : 0));
    data += head;
    if (p.job.body.size() > 1) data.append(p.job.body[1].data<char>(), p.job.body[1].size());
    natsMsg* m = nullptr;
    if (natsMsg_Create(&m, job_subject.c_str(), nullptr, data.data(),
                       static_cast<int>(data.size())) != NATS_OK)
      throw std::bad_alloc();
    const std::string msg_id = name + "." + p.job.id;
    natsMsgHeader_Set(m, "Nats-Msg-Id", msg_id.c_str());
    natsMsgHeader_Set(m, std::string(kReplyHeader).c_str(), result_subject(name, p.job.id).c_str());
    natsMsgHeader_Set(m, std::string(kHeaderBytesHeader).c_str(),
                      std::to_string(head.size()).c_str());
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = kPublishAckWaitMs;
    const natsStatus ps = js_PublishMsgAsync(js, &m, &po);
    natsMsg_Destroy(m);  // no-op when the library took it
    if (p.attempts++ == 0) p.first_publish = Clock::now();
    if (ps != NATS_OK) {  // not even queued (disconnected, stalled): again shortly
      p.retry_at = Clock::now() + 250ms;
      return;
    }
    p.in_flight = true;
    p.sent_at = Clock::now();
    by_msg_id[msg_id] = p.job.id;
  };

  // A job's stored result, read directly by its subject (nullopt: none yet).
  const auto stored_result = [&](const std::string& job_id) -> std::optional<std::string> {
    natsMsg* raw_result = nullptr;
    const std::string subject = result_subject(name, job_id);
    jsDirectGetMsgOptions dg;
    jsDirectGetMsgOptions_Init(&dg);
    dg.LastBySubject = subject.c_str();  // permitted per producer: docs/scale.md
    if (js_DirectGetMsg(&raw_result, c_.js(), results.c_str(), nullptr, &dg) != NATS_OK)
      return std::nullopt;
    MsgPtr r(raw_result);
    return std::string(natsMsg_GetData(r.get()),
                       static_cast<size_t>(natsMsg_GetDataLength(r.get())));
  };
  // Answers a stored job from its stored result when there is one; the
  // caller then drops it from `pending`.
  const auto answered_from_store = [&](const std::string& job_id) {
    auto stored = stored_result(job_id);
    if (!stored) return false;
    on_result(job_id, *stored);
    by_msg_id.erase(name + "." + job_id);
    return true;
  };

  for (;;) {
    if (stop_fd >= 0) {
      pollfd pf{stop_fd, POLLIN, 0};
      if (::poll(&pf, 1, 0) > 0) return false;
    }
    // New jobs while the window has room.
    while (!exhausted && static_cast<int>(pending.size()) < settings_.window) {
      auto job = next();
      if (!job) {
        exhausted = !streaming;
        break;
      }
      int64_t size = 0;
      for (const auto& f : job->body) size += static_cast<int64_t>(f.size());
      // The server's max_payload bounds every message (headers included).
      const int64_t server_max = natsConnection_GetMaxPayload(c_.nc()) - 1024;
      if (size > server_max && size <= settings_.max_job_bytes) {
        on_result(job->id, error_reply(job->id, "too_large",
                                       "the job has " + std::to_string(size) +
                                           " bytes and the NATS server takes messages of at "
                                           "most " +
                                           std::to_string(server_max + 1024) +
                                           " (its max_payload: see docs/scale.md); send it "
                                           "with --by-path"));
        continue;
      }
      if (size > settings_.max_job_bytes) {
        on_result(job->id,
                  error_reply(job->id, "too_large",
                              "the job has " + std::to_string(size) +
                                  " bytes, more than the queue's limit of " +
                                  std::to_string(settings_.max_job_bytes) +
                                  " for one job (--max-job-bytes); send it with --by-path"));
        continue;
      }
      const std::string id = job->id;
      if (!valid_name(id))
        throw std::invalid_argument("job id " + id + " must be 1-64 of [A-Za-z0-9_-] on NATS");
      auto& p = pending[id];
      p.job = std::move(*job);
      publish(p);
    }
    if (exhausted && pending.empty()) return true;

    // Publish acks: stored, or refused (a full stream) and tried again.
    std::vector<PublishOutcomes::Outcome> acks;
    {
      std::lock_guard lock(outcomes.mu);
      acks.swap(outcomes.done);
    }
    const auto now = Clock::now();
    for (auto& [msg_id, err, duplicate] : acks) {
      const auto it = by_msg_id.find(msg_id);
      if (it == by_msg_id.end()) continue;
      const auto p = pending.find(it->second);
      if (p == pending.end()) {
        by_msg_id.erase(it);
        continue;
      }
      p->second.in_flight = false;
      if (err.empty()) {
        if (!p->second.is_stored) p->second.stored = now;
        p->second.is_stored = true;
        // Sent before under this id (a resumed run): its result may be
        // stored already, and read by an earlier run that never wrote it.
        p->second.next_probe = now + kProbeEvery;
        // Else still queued or in a worker's hands: its result will come.
        if (duplicate && answered_from_store(p->first)) pending.erase(p);
        continue;
      }
      uint64_t held = 0;
      if (refused_log.allow(now, held))
        spdlog::warn("NATS: a job was not stored ({}); sending again", err);
      if (err.find("10054") != std::string::npos) {  // over the stream's message size
        on_result(p->first, error_reply(p->first, "too_large",
                                        "the queue refused the job as larger than its "
                                        "largest message: " +
                                            err));
        by_msg_id.erase(it);
        pending.erase(p);
        continue;
      }
      const auto backoff = std::min<std::chrono::milliseconds>(
          std::chrono::milliseconds(100 << std::min(p->second.attempts, 6)), 5s);
      p->second.retry_at = now + backoff;
    }
    // Resends, and jobs past their time.
    for (auto it = pending.begin(); it != pending.end();) {
      Pending& p = it->second;
      if (!p.is_stored && !p.in_flight && now - p.first_publish > settings_.publish_timeout) {
        on_result(it->first,
                  error_reply(it->first, "overloaded",
                              "the queue did not take the job within " +
                                  std::to_string(settings_.publish_timeout.count() / 1000) +
                                  " s (full, or no server reachable); run again"));
        by_msg_id.erase(name + "." + it->first);
        it = pending.erase(it);
        continue;
      }
      if (p.is_stored && now - p.stored > settings_.timeout) {
        on_result(it->first, error_reply(it->first, "timeout",
                                         "no result within " +
                                             std::to_string(settings_.timeout.count() / 1000) +
                                             " s of the job being queued; run again to resume"));
        by_msg_id.erase(name + "." + it->first);
        it = pending.erase(it);
        continue;
      }
      // An ack that never comes (the publish went to a server that died
      // and the library reported nothing): send it again; the queue takes
      // it once.
      if (p.in_flight && now - p.sent_at > kAckLost) {
        p.in_flight = false;
        p.retry_at = now;
      }
      if (!p.is_stored && !p.in_flight && now >= p.retry_at) publish(p);
      // The results consumer acks a whole batch (AckAll): a delivery lost
      // with a server that died is acked by the next batch and never comes
      // again. So a stored job quiet for a while is looked up directly.
      if (p.is_stored && now >= p.next_probe) {
        p.next_probe = now + kProbeEvery;
        if (answered_from_store(it->first)) {
          it = pending.erase(it);
          continue;
        }
      }
      ++it;
    }

    // Results.
    if (streaming && pending.empty()) {  // nothing to wait for: sleep until a job comes
      pollfd pf[2] = {{wake_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
      ::poll(pf, stop_fd >= 0 ? 2 : 1, 1000);
      continue;
    }
    MsgList got;
    code = static_cast<jsErrCode>(0);
    // A stream's new jobs wait for this fetch to return: keep it short there.
    s = natsSubscription_Fetch(&got.list, sub.get(), 256, streaming ? 20 : 100, &code);
    if (s != NATS_OK && s != NATS_TIMEOUT) {
      std::this_thread::sleep_for(100ms);
      continue;
    }
    for (int i = 0; i < got.list.Count; ++i) {
      natsMsg* m = got.list.Msgs[i];
      const std::string json(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m)));
      const auto id = header_id(json);
      const std::string key = id.is_string() ? id.get<std::string>()
                              : id.is_null() ? std::string()
                                             : id.dump();
      if (const auto p = pending.find(key); p != pending.end()) {
        on_result(key, json);
        by_msg_id.erase(name + "." + key);
        pending.erase(p);
      }
    }
    // Written (on_result returned) before acked: a crash before this line
    // gets the batch again.
    if (got.list.Count > 0) natsMsg_Ack(got.list.Msgs[got.list.Count - 1], nullptr);
  }
}

}  // namespace frameprint::jetstream
