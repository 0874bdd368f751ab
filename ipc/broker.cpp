#include "ipc/broker.h"
#include "ipc/common/json_text.h"

#include <algorithm>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace frameprint {

using mdp::Message;

namespace {

// Bytes a queued request is charged: its body plus bookkeeping, so that even
// empty requests count against --max-queue-bytes.
constexpr uint64_t kRequestOverhead = 256;

uint64_t size_of(const Message& body) {
  uint64_t n = kRequestOverhead;
  for (const auto& f : body) n += f.size();
  return n;
}

}  // namespace

Broker::Broker(BrokerConfig config, Clock::time_point now)
    : config_(config), started_(now), next_heartbeat_(now + config.heartbeat), now_(now) {}

void Broker::queued_add(const Request& r) {
  ++stats_.queued;
  stats_.queued_bytes += r.bytes;
  ClientUse& c = clients_[r.owner];
  ++c.queued;
  c.bytes += r.bytes;
}

void Broker::queued_remove(const Request& r) {
  --stats_.queued;
  stats_.queued_bytes -= r.bytes;
  auto it = clients_.find(r.owner);
  if (it == clients_.end()) return;
  --it->second.queued;
  it->second.bytes -= r.bytes;
  if (it->second.queued == 0) clients_.erase(it);
}

bool Broker::has_workers(const std::string& service) const {
  const auto it = idle_.find(service);
  if (it != idle_.end() && !it->second.empty()) return true;
  return std::any_of(workers_.begin(), workers_.end(),
                     [&](const auto& w) { return w.second.service == service; });
}

bool Broker::past_grace(const std::string& service) const {
  const auto it = last_worker_.find(service);
  const Clock::time_point since = it == last_worker_.end() ? started_ : it->second;
  return now_ - since > config_.no_worker_grace;
}

namespace {

// The id a job header (or a reply) carries, as JSON text ("" when there is
// none: not every Majordomo client sends our JSON header).
std::string header_id(const Message& body) {
  if (body.empty()) return {};
  const auto header = nlohmann::json::parse(mdp::to_string(body.front()), nullptr, false);
  const nlohmann::json* id = job_id(header);
  return id ? id->dump() : std::string();
}

}  // namespace

bool Broker::forged_reply(const Request& r, const Message& body) const {
  if (r.job_id.empty()) return false;
  return header_id(body) != r.job_id;
}

std::vector<Broker::Outgoing> Broker::take_outgoing() { return std::exchange(out_, {}); }
std::vector<double> Broker::take_latencies() { return std::exchange(latencies_, {}); }

void Broker::send_backend(const std::string& identity, Message frames) {
  out_.push_back({Side::kBackend, mdp::with_identity(identity, std::move(frames))});
}
void Broker::send_frontend(const std::string& identity, Message frames) {
  out_.push_back({Side::kFrontend, mdp::with_identity(identity, std::move(frames))});
}

void Broker::refresh(Worker& w, Clock::time_point now) {
  w.expiry = now + config_.heartbeat * config_.liveness;
  w.last_heard = now;
}

void Broker::on_frontend(Message frames, Clock::time_point now, std::string_view key,
                         uint64_t connection) {
  now_ = now;
  std::string client;
  mdp::ClientRequest req;
  try {
    client = mdp::pop_identity(frames);
    req = mdp::parse_client(std::move(frames));
  } catch (const mdp::ProtocolError& e) {
    ++stats_.malformed;
    uint64_t held_back = 0;
    if (malformed_log_.allow(now, held_back))
      spdlog::warn("broker: dropped a malformed client message: {} ({} more since the last line)",
                   e.what(), held_back);
    return;
  }
  if (!key.empty()) heard_client(client, std::string(key), connection);
  if (req.service.rfind("mmi.", 0) == 0) {
    handle_service_discovery(client, req);
    return;
  }
  const uint64_t bytes = size_of(req.body);
  if (!has_workers(req.service) && past_grace(req.service)) {
    ++stats_.no_workers;
    reply_error(client, req.service, req.body, "no_workers",
                "no worker serves " + req.service + " (none for " +
                    std::to_string(config_.no_worker_grace.count()) + " s); try again later");
    return;
  }
  if (stats_.queued >= config_.max_queue || stats_.queued_bytes + bytes > config_.max_queue_bytes) {
    ++stats_.overloaded;
    reply_error(client, req.service, req.body, "overloaded",
                "the broker's queue is full (" + std::to_string(stats_.queued) +
                    " requests waiting); try again later");
    return;
  }
  std::string owner = key.empty() ? client : "key:" + std::string(key);
  if (const auto c = clients_.find(owner);
      c != clients_.end() && (c->second.queued >= config_.max_client_queue ||
                              c->second.bytes + bytes > config_.max_client_queue_bytes)) {
    ++stats_.overloaded;
    reply_error(client, req.service, req.body, "overloaded",
                "this client already has " + std::to_string(c->second.queued) + " requests (" +
                    std::to_string(c->second.bytes) +
                    " bytes) waiting, its share of the queue; try again later");
    return;
  }
  auto& queue = waiting_[req.service];
  const uint64_t id = next_request_++;
  std::string job_id = header_id(req.body);
  const Request& r =
      requests_
          .emplace(id, Request{client, std::move(owner), req.service, std::move(req.body), bytes, 0,
                               now, std::move(job_id), std::string(key)})
          .first->second;
  queue.push_back(id);
  ++stats_.received;
  queued_add(r);
  dispatch(req.service);
}

void Broker::handle_service_discovery(const std::string& client, mdp::ClientRequest& req) {
  // RFC 8: mmi.service answers 200 when workers for the named service are
  // registered, 404 when not; other mmi.* requests get 501.
  std::string code = "501";
  if (req.service == mdp::kServiceDiscovery) {
    const std::string wanted = req.body.empty() ? "" : mdp::to_string(req.body.front());
    const bool any = std::any_of(workers_.begin(), workers_.end(),
                                 [&](const auto& w) { return w.second.service == wanted; });
    code = any ? "200" : "404";
  }
  Message body;
  body.push_back(mdp::frame_of(code));
  send_frontend(client, mdp::client_message(req.service, std::move(body)));
}

namespace {

// An error with the shape of a hashing result, with the job's id and name
// when its header frame is readable JSON.
Message error_body(const Message& body, std::string_view code, const std::string& message) {
  nlohmann::ordered_json j;
  if (!body.empty()) {
    const auto header = nlohmann::json::parse(mdp::to_string(body.front()), nullptr, false);
    if (header.is_object()) {
      if (header.contains("name") && header["name"].is_string()) j["path"] = header["name"];
      if (const nlohmann::json* id = job_id(header)) j["id"] = *id;
    }
  }
  j["status"] = "error";
  j["error"] = {{"code", code}, {"message", message}};
  Message reply;
  reply.push_back(mdp::frame_of(json_text(j)));
  return reply;
}

}  // namespace

void Broker::reply_error(const std::string& client, const std::string& service, const Message& body,
                         std::string_view code, const std::string& message) {
  send_frontend(client, mdp::client_message(service, error_body(body, code, message)));
}

void Broker::heard_client(const std::string& client, const std::string& key, uint64_t connection) {
  auto [h, fresh] = holders_.try_emplace(client, Holder{key, connection});
  const bool other_holder = !fresh && h->second.key != key;
  h->second = Holder{key, connection};
  auto held = held_.find(client);
  if (held == held_.end()) {
    if (other_holder) ++stats_.takeovers;  // nothing of the previous key's was waiting
    return;
  }
  // Replies waiting for this identity: the ones of this key go out now; a
  // key that speaks where another's replies wait is taking the identity over.
  size_t others = 0;
  for (auto it = held->second.begin(); it != held->second.end();) {
    if (it->key != key) {
      ++others;
      ++it;
      continue;
    }
    send_frontend(client, mdp::client_message(it->service, std::move(it->body)));
    --stats_.withheld_now;
    it = held->second.erase(it);
  }
  if (others > 0 || other_holder) {
    ++stats_.takeovers;
    uint64_t held_back = 0;
    if (takeover_log_.allow(now_, held_back))
      spdlog::warn(
          "broker: client identity {} is now used by another CURVE key; {} replies for the key "
          "that submitted them withheld ({} more such lines held back)",
          mdp::printable_identity(client), others, held_back);
  }
  if (held->second.empty()) held_.erase(held);
}

void Broker::on_client_gone(uint64_t connection) {
  std::erase_if(holders_, [&](const auto& h) { return h.second.connection == connection; });
}

void Broker::answer(const Request& r, Message body) {
  if (r.key.empty()) {  // without CURVE a client is its routing identity
    send_frontend(r.client, mdp::client_message(r.service, std::move(body)));
    return;
  }
  const auto h = holders_.find(r.client);
  if (h != holders_.end() && h->second.key == r.key) {
    send_frontend(r.client, mdp::client_message(r.service, std::move(body)));
    return;
  }
  if (stats_.withheld_now >= config_.max_queue) {
    ++stats_.undelivered;
    return;
  }
  ++stats_.withheld;
  ++stats_.withheld_now;
  held_[r.client].push_back(Held{r.key, r.service, std::move(body), now_ + config_.request_ttl});
}

void Broker::expire_held(Clock::time_point now) {
  for (auto it = held_.begin(); it != held_.end();) {
    auto& q = it->second;
    const size_t before = q.size();
    std::erase_if(q, [&](const Held& h) { return h.until < now; });
    stats_.undelivered += before - q.size();
    stats_.withheld_now -= before - q.size();
    it = q.empty() ? held_.erase(it) : std::next(it);
  }
}

void Broker::on_backend(Message frames, Clock::time_point now) {
  now_ = now;
  std::string identity;
  mdp::WorkerMessage msg;
  try {
    identity = mdp::pop_identity(frames);
    msg = mdp::parse_worker(std::move(frames));
  } catch (const mdp::ProtocolError& e) {
    ++stats_.malformed;
    uint64_t held_back = 0;
    if (malformed_log_.allow(now, held_back))
      spdlog::warn("broker: dropped a malformed worker message: {} ({} more since the last line)",
                   e.what(), held_back);
    return;
  }
  auto it = workers_.find(identity);
  const bool known = it != workers_.end();
  switch (msg.command) {
    case mdp::Command::kReady:
      if (known || msg.service.rfind("mmi.", 0) == 0) {
        // A second READY, or a worker for a reserved service: a protocol error.
        ++stats_.malformed;
        if (known) remove_worker(identity, true);
        else send_backend(identity, mdp::worker_command(mdp::Command::kDisconnect));
        return;
      }
      if (workers_.size() >= config_.max_workers) {
        ++stats_.workers_refused;
        send_backend(identity, mdp::worker_command(mdp::Command::kDisconnect));
        return;
      }
      it = workers_.emplace(identity, Worker{msg.service, {}, {}, std::nullopt, {}}).first;
      last_worker_[msg.service] = now;
      refresh(it->second, now);
      idle_[msg.service].push_back(identity);
      stats_.workers = workers_.size();
      spdlog::info("broker: worker {} ready for {}", mdp::printable_identity(identity),
                   msg.service);
      dispatch(msg.service);
      return;
    case mdp::Command::kReply: {
      // Replies are routed by the request the broker gave the worker, never
      // by the address the worker names: a reply from a worker the broker
      // does not know, or that holds no request, is dropped.
      if (!known || !it->second.job) {
        ++stats_.malformed;
        if (known) remove_worker(identity, true);
        else send_backend(identity, mdp::worker_command(mdp::Command::kDisconnect));
        return;
      }
      Worker& w = it->second;
      refresh(w, now);
      const Request& r = requests_.at(*w.job);
      if (forged_reply(r, msg.body)) {
        // Not the answer to the request this worker holds: never passed on.
        ++stats_.forged;
        spdlog::warn(
            "broker: worker {} replied with another job's id: dropped, its request requeued",
            mdp::printable_identity(identity));
        remove_worker(identity, true);
        return;
      }
      latencies_.push_back(std::chrono::duration<double>(now - r.received).count());
      answer(r, std::move(msg.body));
      finish_request(*w.job);
      w.job.reset();
      --stats_.in_flight;
      ++stats_.replied;
      idle_[w.service].push_back(identity);
      dispatch(w.service);
      return;
    }
    case mdp::Command::kHeartbeat:
      if (!known) {
        send_backend(identity, mdp::worker_command(mdp::Command::kDisconnect));
        return;
      }
      refresh(it->second, now);
      // An idle worker passed over as quiet may take waiting work now.
      if (!it->second.job) dispatch(it->second.service);
      return;
    case mdp::Command::kDisconnect:
      if (known) remove_worker(identity, false);
      return;
    case mdp::Command::kRequest:
      ++stats_.malformed;
      if (known) remove_worker(identity, true);
      return;
  }
}

void Broker::finish_request(uint64_t id) { requests_.erase(id); }

void Broker::dispatch(const std::string& service) {
  auto wq = waiting_.find(service);
  auto iq = idle_.find(service);
  if (wq == waiting_.end() || iq == idle_.end()) return;
  // Only to workers heard from lately: one that has gone quiet for two
  // heartbeats is probably dead (a crashed process's other connections look
  // idle until they expire) and would waste a delivery.
  const auto fresh = now_ - 2 * config_.heartbeat;
  auto& idle = iq->second;
  for (auto w = idle.begin(); w != idle.end() && !wq->second.empty();) {
    Worker& worker = workers_.at(*w);
    if (worker.last_heard < fresh) {
      ++w;
      continue;
    }
    const std::string identity = *w;
    w = idle.erase(w);
    const uint64_t id = wq->second.front();
    wq->second.pop_front();
    Request& r = requests_.at(id);
    ++r.deliveries;
    queued_remove(r);
    ++stats_.in_flight;
    worker.job = id;
    worker.job_since = now_;
    // Not the client's routing identity: workers have no use for it, and a
    // worker that knew it could hand it to someone to take over.
    std::string token(1, 'r');
    token += std::to_string(id);
    send_backend(identity, mdp::worker_request(token, mdp::share(r.body)));
  }
  if (wq->second.empty()) waiting_.erase(wq);  // no entries left behind per service name
}

std::optional<uint64_t> Broker::detach_worker(const std::string& identity, std::string& service) {
  auto it = workers_.find(identity);
  if (it == workers_.end()) return std::nullopt;
  service = it->second.service;
  const std::optional<uint64_t> job = it->second.job;
  auto& idle = idle_[service];
  idle.erase(std::remove(idle.begin(), idle.end(), identity), idle.end());
  workers_.erase(it);
  stats_.workers = workers_.size();
  if (job) --stats_.in_flight;
  return job;
}

void Broker::requeue(uint64_t job, const std::string& service) {
  Request& r = requests_.at(job);
  if (r.deliveries >= config_.max_deliveries) {
    ++stats_.poisoned;
    spdlog::warn("broker: request delivered {} times without a reply: answering poison",
                 r.deliveries);
    answer(r, error_body(r.body, "poison",
                         "delivered " + std::to_string(r.deliveries) +
                             " times and every worker holding it died or left without replying; "
                             "not retried"));
    finish_request(job);
    return;
  }
  ++stats_.requeued;
  queued_add(r);
  waiting_[service].push_front(job);
}

void Broker::drop_worker(const std::string& identity) {
  if (workers_.count(identity)) remove_worker(identity, true);
}

void Broker::remove_worker(const std::string& identity, bool send_disconnect) {
  std::string service;
  const bool known = workers_.count(identity) > 0;
  const std::optional<uint64_t> job = detach_worker(identity, service);
  if (!known) return;
  if (send_disconnect) send_backend(identity, mdp::worker_command(mdp::Command::kDisconnect));
  if (job) requeue(*job, service);
  dispatch(service);
}

// Requests that waited too long, and requests for services that have had
// no worker for the grace period, are answered now.
void Broker::expire_and_refuse(Clock::time_point now) {
  for (auto wq = waiting_.begin(); wq != waiting_.end();) {
    const bool orphaned = !has_workers(wq->first) && past_grace(wq->first);
    auto& queue = wq->second;
    for (auto q = queue.begin(); q != queue.end();) {
      Request& r = requests_.at(*q);
      const bool expired = now - r.received > config_.request_ttl;
      if (!expired && !orphaned) {
        ++q;
        continue;
      }
      queued_remove(r);
      if (expired) {
        ++stats_.expired;
        answer(r, error_body(r.body, "expired",
                             "waited " + std::to_string(config_.request_ttl.count()) +
                                 " s in the broker's queue without a free worker; not tried"));
      } else {
        ++stats_.no_workers;
        answer(r,
               error_body(r.body, "no_workers",
                          "no worker has served " + r.service + " for " +
                              std::to_string(config_.no_worker_grace.count()) + " s; not tried"));
      }
      finish_request(*q);
      q = queue.erase(q);
    }
    wq = queue.empty() ? waiting_.erase(wq) : std::next(wq);
  }
}

// A worker that holds a request far longer than any job may take is stuck
// (or hostile): drop it, so the request goes to another.
void Broker::drop_stuck_workers(Clock::time_point now) {
  std::vector<std::string> stuck;
  for (const auto& [id, w] : workers_)
    if (w.job && now - w.job_since > config_.job_timeout) stuck.push_back(id);
  for (const auto& id : stuck) {
    ++stats_.job_timeouts;
    spdlog::warn(
        "broker: worker {} held a request for more than {} s: dropped, the request requeued",
        mdp::printable_identity(id), config_.job_timeout.count());
    remove_worker(id, true);
  }
}

void Broker::on_tick(Clock::time_point now) {
  now_ = now;
  drop_stuck_workers(now);
  expire_and_refuse(now);
  expire_held(now);
  std::vector<std::string> dead;
  for (const auto& [id, w] : workers_)
    if (w.expiry < now) dead.push_back(id);
  // Take every dead worker out first, so none of them is handed a request
  // that another dead one held.
  std::vector<std::pair<uint64_t, std::string>> orphans;
  std::set<std::string> services;
  for (const auto& id : dead) {
    spdlog::warn("broker: worker {} missed {} heartbeats: removed", mdp::printable_identity(id),
                 config_.liveness);
    std::string service;
    if (const auto job = detach_worker(id, service)) orphans.emplace_back(*job, service);
    services.insert(service);
  }
  for (auto it = orphans.rbegin(); it != orphans.rend(); ++it) requeue(it->first, it->second);
  for (const auto& service : services) dispatch(service);
  if (now >= next_heartbeat_) {
    for (const auto& [id, w] : workers_)
      send_backend(id, mdp::worker_command(mdp::Command::kHeartbeat));
    next_heartbeat_ = now + config_.heartbeat;
  }
}

}  // namespace frameprint
