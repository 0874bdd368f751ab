#include "ipc/mdp_worker.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>

#include <spdlog/spdlog.h>
#include <zmq_addon.hpp>

namespace frameprint {

using Clock = std::chrono::steady_clock;

struct MdpWorker::Slot {
  int index = 0;
  std::unique_ptr<zmq::socket_t> socket;   // null while waiting to reconnect
  std::unique_ptr<ConnectionWatch> watch;  // its monitor (reset before the socket)
  Clock::time_point broker_expiry{}, next_heartbeat{}, reconnect_at{};
  std::chrono::milliseconds backoff{};
  std::optional<uint64_t> ticket;  // the job in hand
  std::string client;              // its client address
  bool closed = false;             // disconnected for good (stopping)
};

MdpWorker::MdpWorker(zmq::context_t& ctx, MdpWorkerConfig config)
    : ctx_(ctx), config_(std::move(config)), wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!wake_) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  if (config_.slots < 1) throw std::invalid_argument("MdpWorker: at least one slot");
  for (int i = 0; i < config_.slots; ++i) {
    auto s = std::make_unique<Slot>();
    s->index = i;
    s->backoff = config_.reconnect_min;
    slots_.push_back(std::move(s));
  }
}

MdpWorker::~MdpWorker() = default;

void MdpWorker::connect(Slot& s) {
  s.watch.reset();
  s.socket = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
  s.socket->set(zmq::sockopt::linger, 0);
  s.socket->set(zmq::sockopt::maxmsgsize, config_.max_message_bytes);
  curve::apply(*s.socket, config_.keys);
  s.watch = std::make_unique<ConnectionWatch>(
      ctx_, *s.socket,
      "worker-" + std::to_string(reinterpret_cast<uintptr_t>(this)) + "-" +
          std::to_string(++watches_));
  s.socket->connect(config_.endpoint);
  (void)zmq::send_multipart(*s.socket, mdp::worker_ready(config_.service),
                            zmq::send_flags::dontwait);
  const auto now = Clock::now();
  s.broker_expiry = now + config_.heartbeat * config_.liveness;
  s.next_heartbeat = now + config_.heartbeat;
}

void MdpWorker::complete(int slot, uint64_t ticket, mdp::Message reply_body) {
  {
    std::lock_guard lock(mu_);
    done_.push_back({slot, ticket, std::move(reply_body)});
  }
  const uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
}

void MdpWorker::drain_completions() {
  uint64_t count;
  (void)!::read(wake_.get(), &count, sizeof count);
  std::deque<Completion> done;
  {
    std::lock_guard lock(mu_);
    done.swap(done_);
  }
  for (auto& c : done) {
    if (c.slot < 0 || c.slot >= static_cast<int>(slots_.size())) continue;
    Slot& s = *slots_[static_cast<size_t>(c.slot)];
    if (s.ticket != c.ticket) continue;  // not the job in hand
    s.ticket.reset();
    if (s.socket) {
      (void)zmq::send_multipart(*s.socket, mdp::worker_reply(s.client, std::move(c.body)),
                                zmq::send_flags::dontwait);
    } else {
      // The broker went away while this job ran: nobody holds it any more
      // (the producer resends after its timeout). Register again.
      spdlog::warn("slot {}: broker connection was lost during the job; result dropped", s.index);
      s.reconnect_at = Clock::now();
    }
    if (stopping_ && s.socket) {
      (void)zmq::send_multipart(*s.socket, mdp::worker_command(mdp::Command::kDisconnect),
                                zmq::send_flags::dontwait);
      // Give the reply (which can be megabytes) time to leave before closing.
      s.socket->set(zmq::sockopt::linger,
                    static_cast<int>((config_.heartbeat * config_.liveness).count()));
      s.watch.reset();
      s.socket.reset();
      s.closed = true;
    } else if (stopping_) {
      s.closed = true;
    }
  }
}

void MdpWorker::handle(Slot& s, mdp::Message frames, const std::function<void(MdpJob)>& on_job) {
  mdp::WorkerMessage m;
  try {
    m = mdp::parse_worker(std::move(frames));
  } catch (const mdp::ProtocolError& e) {
    spdlog::warn("slot {}: ignored a malformed message from the broker: {}", s.index, e.what());
    return;
  }
  s.broker_expiry = Clock::now() + config_.heartbeat * config_.liveness;
  s.backoff = config_.reconnect_min;
  switch (m.command) {
    case mdp::Command::kRequest:
      if (s.ticket || stopping_) {
        spdlog::warn(
            "slot {}: request while busy or stopping; ignored (it returns to the queue when this "
            "connection is dropped)",
            s.index);
        return;
      }
      s.ticket = next_ticket_++;
      s.client = std::move(m.client);
      on_job(MdpJob{s.index, *s.ticket, std::move(m.body)});
      return;
    case mdp::Command::kHeartbeat: return;
    case mdp::Command::kDisconnect:
      // The broker does not know this connection (it restarted): register
      // again now, or once the job in hand is done.
      spdlog::info("slot {}: broker asked to reconnect", s.index);
      s.watch.reset();
      s.socket.reset();
      s.reconnect_at = Clock::now();
      return;
    default: spdlog::warn("slot {}: unexpected command from the broker", s.index);
  }
}

// What the slots' monitors say: problems logged (at once, then at most
// every 30 s), and on_link told when the number of slots up changes.
void MdpWorker::watch_links() {
  int up = 0;
  std::string why;
  for (auto& s : slots_) {
    if (!s->watch) continue;
    s->watch->update();
    if (s->watch->up()) ++up;
    else if (!s->watch->why().empty()) why = s->watch->why();
  }
  if (!why.empty() && up == 0) {
    uint64_t held_back = 0;
    if (link_log_.allow(Clock::now(), held_back))
      spdlog::warn("broker {}: {}; still trying", config_.endpoint, why);
  }
  if (up != slots_up_) {
    slots_up_ = up;
    if (config_.on_link) config_.on_link(up, up > 0 ? std::string() : why);
  }
}

void MdpWorker::run(const std::function<void(MdpJob)>& on_job, int stop_fd) {
  for (auto& s : slots_) connect(*s);
  for (;;) {
    if (stopping_ &&
        std::all_of(slots_.begin(), slots_.end(), [](const auto& s) { return s->closed; }))
      return;

    std::vector<zmq::pollitem_t> items;
    std::vector<Slot*> polled;
    for (auto& s : slots_)
      if (s->socket) {
        items.push_back({s->socket->handle(), 0, ZMQ_POLLIN, 0});
        polled.push_back(s.get());
      }
    for (auto& s : slots_)
      if (s->watch) items.push_back({s->watch->events().handle(), 0, ZMQ_POLLIN, 0});
    const size_t wake_at = items.size();
    items.push_back({nullptr, wake_.get(), ZMQ_POLLIN, 0});
    const bool watch_stop = !stopping_ && stop_fd >= 0;
    if (watch_stop) items.push_back({nullptr, stop_fd, ZMQ_POLLIN, 0});

    auto now = Clock::now();
    auto next = now + config_.heartbeat;
    for (auto& s : slots_) {
      if (s->closed) continue;
      if (s->socket) next = std::min({next, s->next_heartbeat, s->broker_expiry});
      else if (!s->ticket) next = std::min(next, s->reconnect_at);
    }
    const auto wait = std::max(std::chrono::milliseconds(0),
                               std::chrono::duration_cast<std::chrono::milliseconds>(next - now));
    zmq::poll(items, wait);

    if (watch_stop && (items.back().revents & ZMQ_POLLIN)) {
      char buf[256];
      (void)!::read(stop_fd, buf, sizeof buf);
      stopping_ = true;
      spdlog::info("stopping: finishing jobs in hand, then disconnecting");
      for (auto& s : slots_) {
        if (s->ticket) continue;
        if (s->socket)
          (void)zmq::send_multipart(*s->socket, mdp::worker_command(mdp::Command::kDisconnect),
                                    zmq::send_flags::dontwait);
        s->watch.reset();
        s->socket.reset();
        s->closed = true;
      }
    }
    if (items[wake_at].revents & ZMQ_POLLIN) drain_completions();
    watch_links();
    for (size_t i = 0; i < polled.size(); ++i) {
      if (!(items[i].revents & ZMQ_POLLIN)) continue;
      Slot& s = *polled[i];
      for (int n = 0; n < 64 && s.socket; ++n) {
        mdp::Message frames;
        zmq::recv_result_t r;
        try {
          r = zmq::recv_multipart(*s.socket, std::back_inserter(frames), zmq::recv_flags::dontwait);
        } catch (const zmq::error_t& e) {
          spdlog::warn("slot {}: receive failed: {}", s.index, e.what());
          break;
        }
        if (!r) break;
        handle(s, std::move(frames), on_job);
      }
    }

    now = Clock::now();
    for (auto& sp : slots_) {
      Slot& s = *sp;
      if (s.closed) continue;
      if (!s.socket) {
        if (!s.ticket && !stopping_ && now >= s.reconnect_at) connect(s);
        continue;
      }
      if (now > s.broker_expiry) {
        spdlog::warn("slot {}: no word from the broker for {} heartbeats; reconnecting in {} ms",
                     s.index, config_.liveness, s.backoff.count());
        s.watch.reset();
        s.socket.reset();
        s.reconnect_at = now + s.backoff;
        s.backoff = std::min(s.backoff * 2, config_.reconnect_max);
        continue;
      }
      if (now >= s.next_heartbeat) {
        (void)zmq::send_multipart(*s.socket, mdp::worker_command(mdp::Command::kHeartbeat),
                                  zmq::send_flags::dontwait);
        s.next_heartbeat = now + config_.heartbeat;
      }
    }
  }
}

}  // namespace frameprint
