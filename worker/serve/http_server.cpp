#include "worker/serve/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "worker/serve/lingering_close.h"

namespace frameprint::serve {

namespace {

using Clock = std::chrono::steady_clock;

// Work threads for what must not run on an event loop. A full queue
// refuses (the caller answers 503) rather than waiting; at shutdown the
// jobs not yet started are told so and the running ones finish.
class WorkPool {
 public:
  using Job = std::function<void(bool cancelled)>;

  WorkPool(size_t threads, size_t max_waiting) : max_waiting_(max_waiting) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
  }
  ~WorkPool() { shutdown(); }

  bool try_submit(Job job) {
    {
      std::lock_guard lock(mu_);
      if (shutdown_ || jobs_.size() >= max_waiting_) return false;
      jobs_.push_back(std::move(job));
    }
    ready_.notify_one();
    return true;
  }

  void shutdown() {
    std::deque<Job> left;
    {
      std::lock_guard lock(mu_);
      if (shutdown_) return;
      shutdown_ = true;
      left.swap(jobs_);
    }
    ready_.notify_all();
    for (Job& job : left) job(true);
    for (auto& t : threads_) t.join();
  }

 private:
  void work() {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mu_);
        ready_.wait(lock, [&] { return !jobs_.empty() || shutdown_; });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job(false);
    }
  }

  size_t max_waiting_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<Job> jobs_;
  std::vector<std::thread> threads_;
  bool shutdown_ = false;
};

// Bytes of request bodies held in memory at once, all connections together.
class BodyBudget {
 public:
  explicit BodyBudget(uint64_t cap) : cap_(cap) {}
  bool take(uint64_t n) {
    uint64_t used = used_.load();
    do {
      if (n > cap_ - used) return false;
    } while (!used_.compare_exchange_weak(used, used + n));
    return true;
  }
  void give(uint64_t n) { used_.fetch_sub(n); }

 private:
  const uint64_t cap_;
  std::atomic<uint64_t> used_{0};
};

// One request on its way through the server (libmicrohttpd's con_cls).
struct Exchange {
  HttpRequest request;
  bool heavy = false;
  bool working = false;  // handed to a work thread; the connection is suspended
  bool linger = false;   // answered before its body was read: drain it before the close
  uint64_t held = 0;     // bytes of the body budget held
  Clock::time_point deadline;
  std::mutex mu;
  std::optional<HttpAnswer> answer;  // from the work thread
};

MHD_Result collect(void* cls, MHD_ValueKind, const char* key, const char* value) {
  static_cast<Fields*>(cls)->emplace_back(key ? key : "", value ? value : "");
  return MHD_YES;
}

std::string client_address(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (!info || !info->client_addr) return "?";
  char text[INET6_ADDRSTRLEN] = "?";
  const sockaddr* sa = info->client_addr;
  if (sa->sa_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, text, sizeof text);
  else if (sa->sa_family == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, text, sizeof text);
  return text;
}

MHD_Result respond(MHD_Connection* connection, const HttpAnswer& a) {
  MHD_Response* r = MHD_create_response_from_buffer(a.body.size(), const_cast<char*>(a.body.data()),
                                                    MHD_RESPMEM_MUST_COPY);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a.content_type.c_str());
  for (const auto& [k, v] : a.headers) MHD_add_response_header(r, k.c_str(), v.c_str());
  const MHD_Result ok = MHD_queue_response(connection, static_cast<unsigned>(a.status), r);
  MHD_destroy_response(r);
  return ok;
}

void log_library(void*, const char* format, va_list ap) {
  char line[512];
  std::vsnprintf(line, sizeof line, format, ap);
  std::string_view text(line);
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  spdlog::debug("http: {}", text);
}

}  // namespace

struct HttpServer::Impl {
  Impl(const HttpSettings& s, ServeDeps deps)
      : settings(s),
        api(deps, ApiLimits{s.max_body_bytes, s.max_compare_frames, 16}),
        budget(s.max_bodies_bytes
                   ? s.max_bodies_bytes
                   : s.max_body_bytes * static_cast<uint64_t>(std::max(1, s.threads))),
        pool(static_cast<size_t>(std::max(1, s.threads)), s.max_waiting) {}

  ~Impl() {
    pool.shutdown();  // every suspended connection is resumed before the daemon goes
    if (daemon) MHD_stop_daemon(daemon);
  }

  // A client that broke a limit mid-body: the connection is closed (an
  // answer cannot be queued while a body is being read).
  MHD_Result cut_off(const Exchange& ex, const char* why) {
    uint64_t held_back = 0;
    std::lock_guard lock(log_mu);
    if (cut_log.allow(Clock::now(), held_back))
      spdlog::warn("closed {} {} from {} after {} bytes: {}{}", ex.request.method, ex.request.path,
                   ex.request.remote, ex.request.body.size(), why,
                   held_back ? fmt::format(" ({} more not logged)", held_back) : "");
    return MHD_NO;
  }

  // An answer queued before the body is read: the library discards the
  // request and closes the connection after the answer, which is then
  // closed lingering (lingering_close.h) so that the client reads it.
  MHD_Result refuse_early(MHD_Connection* connection, Exchange& ex, HttpAnswer a) {
    // Said, so that the close does not rest on the library's version.
    a.headers.emplace_back("Connection", "close");
    // Only a request that may still be sending a body needs draining.
    const std::string* length = ex.request.header("Content-Length");
    ex.linger = (length && *length != "0") || ex.request.header("Transfer-Encoding");
    return respond(connection, a);
  }

  MHD_Result on_request(MHD_Connection* connection, const char* url, const char* method,
                        const char* upload, size_t* upload_size, void** con_cls) {
    auto* ex = static_cast<Exchange*>(*con_cls);
    if (!ex) {  // the head is complete: decide on it before any body is read
      ex = new Exchange;
      *con_cls = ex;
      HttpRequest& req = ex->request;
      req.method = method ? method : "";
      req.path = url ? url : "";
      MHD_get_connection_values(connection, MHD_HEADER_KIND, collect, &req.headers);
      MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, collect, &req.query);
      req.remote = client_address(connection);
      const Admission a = api.admit(req);
      if (a.refusal) return refuse_early(connection, *ex, *a.refusal);
      ex->heavy = a.heavy;
      ex->deadline = Clock::now() + settings.request_timeout;
      if (const uint64_t n = a.body_length; n > 0) {  // within --max-bytes: admit() checked
        if (!budget.take(n))
          return refuse_early(
              connection, *ex,
              api.error(503, "too many uploads are being received; try again later", "busy"));
        ex->held = n;
        req.body.reserve(n);
      }
      return MHD_YES;
    }

    if (*upload_size > 0) {  // a piece of the body
      const size_t n = *upload_size;
      std::string& body = ex->request.body;
      if (Clock::now() > ex->deadline) return cut_off(*ex, "the request took too long");
      if (n > settings.max_body_bytes - body.size())
        return cut_off(*ex, "the body passed --max-bytes");
      if (body.size() + n > ex->held) {  // chunked: held in steps as it arrives
        const uint64_t want = std::min<uint64_t>(
            settings.max_body_bytes, std::max<uint64_t>(body.size() + n, ex->held * 2 + 65536));
        if (!budget.take(want - ex->held))
          return cut_off(*ex, "too many uploads are being received");
        ex->held = want;
      }
      body.append(upload, n);
      *upload_size = 0;
      return MHD_YES;
    }

    if (ex->working) {  // resumed: the work thread has answered
      std::lock_guard lock(ex->mu);
      return ex->answer ? respond(connection, *ex->answer) : MHD_YES;
    }
    if (!ex->heavy) return respond(connection, api.answer(ex->request));
    ex->working = true;
    MHD_suspend_connection(connection);
    const bool queued = pool.try_submit([this, ex, connection](bool cancelled) {
      HttpAnswer a =
          cancelled ? api.error(503, "the server is stopping", "busy") : api.answer(ex->request);
      {
        std::lock_guard lock(ex->mu);
        ex->answer = std::move(a);
      }
      MHD_resume_connection(connection);
    });
    if (!queued) {
      {
        std::lock_guard lock(ex->mu);
        ex->answer = api.error(503, "too many requests are waiting; try again later", "busy");
      }
      MHD_resume_connection(connection);
    }
    return MHD_YES;
  }

  void on_completed(MHD_Connection* connection, void** con_cls) {
    auto* ex = static_cast<Exchange*>(*con_cls);
    if (!ex) return;
    if (ex->linger) {  // the library closes its descriptor; the socket lives on in ours
      const MHD_ConnectionInfo* info =
          MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
      if (info && info->connect_fd >= 0)
        lingerer.add(UniqueFd(::fcntl(info->connect_fd, F_DUPFD_CLOEXEC, 0)));
    }
    budget.give(ex->held);
    delete ex;
    *con_cls = nullptr;
  }

  HttpSettings settings;
  HttpApi api;
  BodyBudget budget;
  WorkPool pool;
  LingeringCloser lingerer;
  MHD_Daemon* daemon = nullptr;

  std::mutex log_mu;
  LogLimiter cut_log;
  std::mutex run_mu;
  std::condition_variable run_cv;
  bool stopping = false;
};

namespace {

MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url, const char* method,
                      const char*, const char* upload, size_t* upload_size, void** con_cls) {
  auto* impl = static_cast<HttpServer::Impl*>(cls);
  try {
    return impl->on_request(connection, url, method, upload, upload_size, con_cls);
  } catch (const std::exception& e) {  // out of memory, in effect: drop this connection
    spdlog::error("HTTP request handling failed: {}", e.what());
    return MHD_NO;
  }
}

void on_completed(void* cls, MHD_Connection* connection, void** con_cls,
                  MHD_RequestTerminationCode) {
  static_cast<HttpServer::Impl*>(cls)->on_completed(connection, con_cls);
}

}  // namespace

HttpServer::HttpServer(const HttpSettings& settings, ServeDeps deps)
    : impl_(std::make_unique<Impl>(settings, deps)) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(settings.port);
  if (::getaddrinfo(settings.host.c_str(), service.c_str(), &hints, &found) != 0 || !found)
    throw std::runtime_error("cannot listen on " + settings.host + ":" + service +
                             ": the address does not resolve");
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(found, ::freeaddrinfo);

  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const unsigned loops = settings.loop_threads > 0 ? static_cast<unsigned>(settings.loop_threads)
                                                   : std::min(4u, cores);
  unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
  if (found->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
  impl_->daemon = MHD_start_daemon(
      flags, 0, nullptr, nullptr, &on_request, impl_.get(),  //
      MHD_OPTION_SOCK_ADDR, found->ai_addr,                  //
      MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,                //
      MHD_OPTION_LISTEN_BACKLOG_SIZE, 511u,                  //
      MHD_OPTION_THREAD_POOL_SIZE, loops,                    //
      MHD_OPTION_CONNECTION_LIMIT, std::max(settings.max_connections, loops),
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, settings.max_connections_per_ip,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, settings.connection_memory,  //
      MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned>(settings.idle_timeout.count()),
      MHD_OPTION_NOTIFY_COMPLETED, &on_completed, impl_.get(),  //
      MHD_OPTION_EXTERNAL_LOGGER, &log_library, nullptr,        //
      MHD_OPTION_END);
  if (!impl_->daemon) throw std::runtime_error("cannot listen on " + settings.host + ":" + service);
  const MHD_DaemonInfo* info = MHD_get_daemon_info(impl_->daemon, MHD_DAEMON_INFO_BIND_PORT);
  port_ = info && info->port ? info->port : settings.port;
}

HttpServer::~HttpServer() = default;

bool HttpServer::run() {
  std::unique_lock lock(impl_->run_mu);
  impl_->run_cv.wait(lock, [&] { return impl_->stopping; });
  return true;
}

void HttpServer::stop() {
  {
    std::lock_guard lock(impl_->run_mu);
    impl_->stopping = true;
  }
  impl_->run_cv.notify_all();
}

}  // namespace frameprint::serve
