#include "ipc/producer.h"
#include "ipc/common/json_text.h"
#include "ipc/common/log_limiter.h"

#include <unistd.h>

#include <random>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>
#include <zmq_addon.hpp>

namespace frameprint {

using Clock = std::chrono::steady_clock;

std::string error_reply(const std::string& id, const std::string& code,
                        const std::string& message) {
  nlohmann::ordered_json j;
  j["id"] = id;
  j["status"] = "error";
  j["error"] = {{"code", code}, {"message", message}};
  return json_text(j);
}

Producer::Producer(zmq::context_t& ctx, ProducerConfig config)
    : ctx_(ctx), config_(std::move(config)) {}

namespace {

std::optional<std::string> reply_id(const mdp::Message& body) {
  if (body.empty()) return std::nullopt;
  const auto j = nlohmann::json::parse(mdp::to_string(body.front()), nullptr, false);
  const nlohmann::json* id = job_id(j);
  if (!id) return std::nullopt;
  return id->is_string() ? id->get<std::string>() : id->dump();
}

bool overloaded(const std::string& reply) {
  const auto j = nlohmann::json::parse(reply, nullptr, false);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return false;
  const auto& code = j["error"]["code"];
  return code.is_string() && code.get<std::string>() == "overloaded";
}

}  // namespace

bool Producer::run(const std::function<std::optional<ProducerJob>()>& next,
                   const std::function<void(const std::string&, const std::string&)>& on_result,
                   int stop_fd, int wake_fd) {
  zmq::socket_t socket(ctx_, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::sndhwm, 0);
  std::random_device rd;
  const std::string routing_id =
      "frameprint-submit-" + std::to_string(rd()) + "-" + std::to_string(rd());
  socket.set(zmq::sockopt::routing_id, routing_id);
  curve::apply(socket, config_.keys);
  ConnectionWatch link(ctx_, socket, routing_id);
  socket.connect(config_.endpoint);
  const auto started = Clock::now();
  LogLimiter link_log(std::chrono::seconds(30));
  bool was_up = false;
  // What the monitor says: tells on_link, logs, and before the first
  // handshake may end the run (LinkError).
  auto watch_link = [&] {
    if (!link.update()) return;
    if (link.up() != was_up) {
      was_up = link.up();
      if (config_.on_link) config_.on_link(link.up(), link.why());
    }
    if (link.up() || link.problem() == LinkProblem::kNone) return;
    if (!link.ever_up() && config_.connect_timeout.count() > 0 && link.lasting())
      throw LinkError(link.problem(), link.why());
    if (!link.ever_up() && config_.connect_timeout.count() > 0) return;  // said once, at the end
    uint64_t held_back = 0;
    if (link_log.allow(Clock::now(), held_back))
      spdlog::warn("broker {}: {}; still trying", config_.endpoint, link.why());
  };

  struct Pending {
    mdp::Message body;
    uint64_t bytes = 0;
    int attempts = 0;
    int refusals = 0;  // "overloaded" answers so far
    Clock::time_point deadline;
    Clock::time_point first_sent{};
  };
  std::unordered_map<std::string, Pending> pending;
  uint64_t pending_bytes = 0;
  bool more = true;

  // However the pool answers, a job gets at most this long in all.
  const auto give_up_after = config_.timeout * (config_.retries + 1);
  // With CURVE the broker sends a reply only to an identity its key has
  // spoken from since the connection was made (docs/protocol.md): after a
  // reconnect, replies wait until this client says something. So while
  // jobs are out it says something (a service query) every few seconds.
  constexpr auto kSpeakEvery = std::chrono::seconds(5);
  const bool keyed = config_.keys.enabled();
  auto last_spoke = Clock::now();
  auto send = [&](const std::string& id, Pending& p) {
    if (p.first_sent == Clock::time_point{}) p.first_sent = Clock::now();
    ++p.attempts;
    p.deadline = Clock::now() + config_.timeout;
    last_spoke = Clock::now();
    (void)zmq::send_multipart(socket, mdp::client_message(config_.service, mdp::share(p.body)));
    if (p.attempts > 1)
      spdlog::info("job {}: no reply yet, sending again (attempt {})", id, p.attempts);
  };

  const bool streaming = wake_fd >= 0;
  while (streaming || more || !pending.empty()) {
    more = more || streaming;  // a stream may have more at any time
    while (more && pending.size() < static_cast<size_t>(config_.window) &&
           (pending.empty() || pending_bytes < config_.window_bytes)) {
      std::optional<ProducerJob> job = next();
      if (!job) {
        more = false;
        break;
      }
      uint64_t bytes = 0;
      for (const auto& f : job->body) bytes += f.size();
      auto [it, fresh] =
          pending.try_emplace(job->id, Pending{std::move(job->body), bytes, 0, 0, {}});
      if (fresh) {
        pending_bytes += bytes;
        send(it->first, it->second);
      }
    }
    if (pending.empty() && !streaming) continue;

    auto now = Clock::now();
    if (keyed && !pending.empty() && now - last_spoke >= kSpeakEvery) {
      mdp::Message ask;
      ask.push_back(mdp::frame_of(config_.service));
      (void)zmq::send_multipart(socket,
                                mdp::client_message(mdp::kServiceDiscovery, std::move(ask)));
      last_spoke = now;
    }
    auto soonest = now + std::chrono::milliseconds(200);
    for (const auto& [id, p] : pending) soonest = std::min(soonest, p.deadline);
    std::vector<zmq::pollitem_t> items = {{socket.handle(), 0, ZMQ_POLLIN, 0},
                                          {link.events().handle(), 0, ZMQ_POLLIN, 0}};
    const size_t stop_item = items.size();
    if (stop_fd >= 0) items.push_back({nullptr, stop_fd, ZMQ_POLLIN, 0});
    // While the window is full, new jobs wait in the caller's queue.
    const bool room = pending.size() < static_cast<size_t>(config_.window);
    if (streaming && room) items.push_back({nullptr, wake_fd, ZMQ_POLLIN, 0});
    zmq::poll(items,
              std::max(std::chrono::milliseconds(0),
                       std::chrono::duration_cast<std::chrono::milliseconds>(soonest - now)));
    if (stop_fd >= 0 && (items[stop_item].revents & ZMQ_POLLIN)) return false;
    if (items[1].revents & ZMQ_POLLIN) watch_link();
    if (!link.ever_up() && config_.connect_timeout.count() > 0 &&
        Clock::now() - started >= config_.connect_timeout) {
      const std::string waited =
          fmt::format("{:g} s", std::chrono::duration<double>(config_.connect_timeout).count());
      throw LinkError(
          link.problem() == LinkProblem::kNone ? LinkProblem::kUnreachable : link.problem(),
          link.why().empty()
              ? "no handshake with a broker at " + config_.endpoint + " completed within " +
                    waited + " (no answer to the connection, or none to the handshake)"
              : link.why() + " (for " + waited + ")");
    }

    if (items[0].revents & ZMQ_POLLIN) {
      for (;;) {
        mdp::Message frames;
        if (!zmq::recv_multipart(socket, std::back_inserter(frames), zmq::recv_flags::dontwait))
          break;
        mdp::ClientRequest reply;
        try {
          reply = mdp::parse_client(std::move(frames));
        } catch (const mdp::ProtocolError& e) {
          spdlog::warn("ignored a malformed reply: {}", e.what());
          continue;
        }
        if (reply.service.rfind("mmi.", 0) == 0) continue;  // the answer to a service query
        const auto id = reply_id(reply.body);
        if (!id) {
          spdlog::warn("ignored a reply without a job id");
          continue;
        }
        auto it = pending.find(*id);
        if (it == pending.end()) continue;  // a duplicate of a job already answered
        const std::string text = mdp::to_string(reply.body.front());
        if (overloaded(text) && Clock::now() - it->second.first_sent < give_up_after) {
          // Back-pressure: try again later, without spending a retry (but
          // within the job's whole time: then the refusal is its result).
          Pending& p = it->second;
          const auto wait = std::chrono::milliseconds(
              std::min<int64_t>(int64_t{250} << std::min(p.refusals, 7), 30000));
          ++p.refusals;
          --p.attempts;
          p.deadline = Clock::now() + wait;
          continue;
        }
        on_result(*id, text);
        pending_bytes -= it->second.bytes;
        pending.erase(it);
      }
    }

    now = Clock::now();
    std::vector<std::string> expired;
    for (const auto& [id, p] : pending)
      if (p.deadline <= now) expired.push_back(id);
    for (const auto& id : expired) {
      Pending& p = pending.at(id);
      if (p.attempts > config_.retries) {
        on_result(
            id,
            error_reply(
                id, "timeout",
                "no reply from the pool after " + std::to_string(p.attempts) + " attempts of " +
                    fmt::format("{:g}", std::chrono::duration<double>(config_.timeout).count()) +
                    " s each"));
        pending_bytes -= p.bytes;
        pending.erase(id);
      } else {
        send(id, p);
      }
    }
  }
  return true;
}

}  // namespace frameprint
