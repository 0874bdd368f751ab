#include "ipc/connection_watch.h"

#include <cstring>
#include <iterator>
#include <random>
#include <vector>

#include <spdlog/fmt/fmt.h>
#include <zmq_addon.hpp>

namespace frameprint {

namespace {

constexpr int kEvents = ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED |
                        ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                        ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

std::string protocol_error(uint32_t code) {
  switch (code) {
    case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
      return "one side uses CURVE and the other does not (check --curve-key and --broker-key "
             "against the broker's)";
    case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
      return "the CURVE handshake could not be decrypted (is --broker-key the broker's?)";
    default: return fmt::format("ZMTP protocol error 0x{:x}", code);
  }
}

}  // namespace

ConnectionWatch::ConnectionWatch(zmq::context_t& ctx, zmq::socket_t& socket,
                                 const std::string& name)
    : watched_(socket), monitor_(ctx, zmq::socket_type::pair) {
  // Random, so that a monitor address is never one libzmq has not yet
  // released from an earlier watch.
  std::random_device rd;
  const std::string address =
      "inproc://frameprint-watch-" + name + "-" + fmt::format("{:08x}{:08x}", rd(), rd());
  if (zmq_socket_monitor(socket.handle(), address.c_str(), kEvents) != 0) throw zmq::error_t();
  monitor_.set(zmq::sockopt::linger, 0);
  monitor_.connect(address);
}

ConnectionWatch::~ConnectionWatch() { (void)zmq_socket_monitor(watched_.handle(), nullptr, 0); }

std::optional<MonitorEvent> next_monitor_event(zmq::socket_t& monitor) {
  for (;;) {
    std::vector<zmq::message_t> frames;
    zmq::recv_result_t got;
    try {
      got = zmq::recv_multipart(monitor, std::back_inserter(frames), zmq::recv_flags::dontwait);
    } catch (const zmq::error_t&) {
      return std::nullopt;
    }
    if (!got) return std::nullopt;
    if (frames.size() < 2 || frames[0].size() < 6) continue;
    MonitorEvent e;
    std::memcpy(&e.id, frames[0].data(), 2);
    std::memcpy(&e.value, static_cast<const char*>(frames[0].data()) + 2, 4);
    e.endpoint = frames[1].to_string();
    return e;
  }
}

bool ConnectionWatch::update() {
  bool changed = false;
  while (const auto event = next_monitor_event(monitor_)) {
    const uint16_t id = event->id;
    const uint32_t value = event->value;
    const std::string& endpoint = event->endpoint;
    changed = true;
    switch (id) {
      case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        up_ = ever_up_ = true;
        closed_in_handshake_ = 0;
        protocol_error_ = false;
        problem_ = LinkProblem::kNone;
        why_.clear();
        break;
      case ZMQ_EVENT_DISCONNECTED: up_ = false; break;
      case ZMQ_EVENT_CONNECT_RETRIED:
        up_ = false;
        ++failures_;
        // A connection that was made and then failed its handshake stays
        // that problem: the retry is its consequence, not a new cause.
        if (problem_ == LinkProblem::kNone || problem_ == LinkProblem::kUnreachable) {
          problem_ = LinkProblem::kUnreachable;
          why_ = "nothing accepts connections at " + endpoint;
        }
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        up_ = false;
        ++failures_;
        problem_ = LinkProblem::kKeyRefused;
        why_ = fmt::format(
            "{} refused our CURVE key (ZAP status {}): its public key is not on the "
            "broker's allow-list",
            endpoint, value);
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        up_ = false;
        ++failures_;
        problem_ = LinkProblem::kHandshakeFailed;
        protocol_error_ = true;
        why_ = "the handshake with " + endpoint + " failed: " + protocol_error(value);
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        up_ = false;
        ++failures_;
        ++closed_in_handshake_;
        problem_ = LinkProblem::kHandshakeFailed;
        why_ = "the handshake with " + endpoint +
               " failed: the peer closed the connection during it (one side speaks CURVE and the "
               "other does not, or --broker-key is not the broker's public key)";
        break;
      default: changed = false;
    }
  }
  return changed;
}

bool ConnectionWatch::lasting() const {
  switch (problem_) {
    case LinkProblem::kKeyRefused: return true;
    case LinkProblem::kHandshakeFailed: return protocol_error_ || closed_in_handshake_ >= 3;
    default: return false;
  }
}

}  // namespace frameprint
