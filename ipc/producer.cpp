#include "ipc/producer.h"

#include <unistd.h>

#include <unordered_map>

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>
#include <zmq_addon.hpp>

namespace frameprint {

using Clock = std::chrono::steady_clock;

Producer::Producer(zmq::context_t& ctx, ProducerConfig config) : ctx_(ctx), config_(std::move(config)) {}

namespace {

std::optional<std::string> reply_id(const mdp::Message& body) {
  if (body.empty()) return std::nullopt;
  const auto j = nlohmann::json::parse(mdp::to_string(body.front()), nullptr, false);
  if (!j.is_object() || !j.contains("id")) return std::nullopt;
  return j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump();
}

}  // namespace

bool Producer::run(const std::function<std::optional<ProducerJob>()>& next,
                   const std::function<void(const std::string&, const std::string&)>& on_result,
                   int stop_fd) {
  zmq::socket_t socket(ctx_, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::sndhwm, 0);
  socket.connect(config_.endpoint);

  struct Pending {
    mdp::Message body;
    int attempts = 0;
    Clock::time_point deadline;
  };
  std::unordered_map<std::string, Pending> pending;
  bool more = true;

  auto send = [&](const std::string& id, Pending& p) {
    ++p.attempts;
    p.deadline = Clock::now() + config_.timeout;
    (void)zmq::send_multipart(socket, mdp::client_message(config_.service, mdp::share(p.body)));
    if (p.attempts > 1) spdlog::info("job {}: no reply yet, sending again (attempt {})", id, p.attempts);
  };

  while (more || !pending.empty()) {
    while (more && pending.size() < static_cast<size_t>(config_.window)) {
      std::optional<ProducerJob> job = next();
      if (!job) {
        more = false;
        break;
      }
      auto [it, fresh] = pending.try_emplace(job->id, Pending{std::move(job->body), 0, {}});
      if (fresh) send(it->first, it->second);
    }
    if (pending.empty()) continue;

    auto now = Clock::now();
    auto soonest = now + std::chrono::milliseconds(200);
    for (const auto& [id, p] : pending) soonest = std::min(soonest, p.deadline);
    std::vector<zmq::pollitem_t> items = {{socket.handle(), 0, ZMQ_POLLIN, 0}};
    if (stop_fd >= 0) items.push_back({nullptr, stop_fd, ZMQ_POLLIN, 0});
    zmq::poll(items, std::max(std::chrono::milliseconds(0),
                              std::chrono::duration_cast<std::chrono::milliseconds>(soonest - now)));
    if (stop_fd >= 0 && (items[1].revents & ZMQ_POLLIN)) return false;

    if (items[0].revents & ZMQ_POLLIN) {
      for (;;) {
        mdp::Message frames;
        if (!zmq::recv_multipart(socket, std::back_inserter(frames), zmq::recv_flags::dontwait)) break;
        mdp::ClientRequest reply;
        try {
          reply = mdp::parse_client(std::move(frames));
        } catch (const mdp::ProtocolError& e) {
          spdlog::warn("ignored a malformed reply: {}", e.what());
          continue;
        }
        const auto id = reply_id(reply.body);
        if (!id) {
          spdlog::warn("ignored a reply without a job id");
          continue;
        }
        auto it = pending.find(*id);
        if (it == pending.end()) continue;  // a duplicate of a job already answered
        on_result(*id, mdp::to_string(reply.body.front()));
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
        nlohmann::ordered_json err;
        err["id"] = id;
        err["status"] = "error";
        err["error"] = {{"code", "timeout"},
                        {"message", "no reply from the pool after " + std::to_string(p.attempts) +
                                        " attempts of " + fmt::format("{:g}", std::chrono::duration<double>(config_.timeout).count()) +
                                        " s each"}};
        on_result(id, err.dump());
        pending.erase(id);
      } else {
        send(id, p);
      }
    }
  }
  return true;
}

}  // namespace frameprint
