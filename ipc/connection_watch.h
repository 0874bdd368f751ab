// What a connecting socket's way to its peer looks like, from libzmq's
// socket monitor: whether a handshake has succeeded, and if not, why (no
// one accepts connections at the address; the peer refused this client's
// CURVE key; the handshake failed: one side speaks CURVE and the other
// does not, or the server key is wrong). A program that connects can then
// say so at once instead of waiting silently while libzmq reconnects.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <zmq.hpp>

namespace frameprint {

enum class LinkProblem {
  kNone,             // up, or nothing to say yet
  kUnreachable,      // the TCP connection is refused or never made
  kKeyRefused,       // the peer's ZAP handler refused this client's key
  kHandshakeFailed,  // security mechanisms differ, or the server key is wrong
};

// One event from a socket monitor (libzmq's two frames: the event number
// and its value, then the endpoint), or nullopt when none is waiting.
struct MonitorEvent {
  uint16_t id = 0;
  uint32_t value = 0;  // a descriptor, an error or a ZAP status, by event
  std::string endpoint;
};
std::optional<MonitorEvent> next_monitor_event(zmq::socket_t& monitor);

class ConnectionWatch {
 public:
  // Watches `socket` (before it connects, so that no event is missed).
  // `name` goes into the monitor's inproc address, with a random part.
  ConnectionWatch(zmq::context_t& ctx, zmq::socket_t& socket, const std::string& name);
  ~ConnectionWatch();
  ConnectionWatch(const ConnectionWatch&) = delete;
  ConnectionWatch& operator=(const ConnectionWatch&) = delete;

  // Reads the events so far; true when anything changed.
  bool update();

  bool up() const { return up_; }  // a handshake succeeded and has not ended
  bool ever_up() const { return ever_up_; }
  LinkProblem problem() const { return problem_; }  // the last, while not up
  // The last problem in words, for a person ("" when none).
  const std::string& why() const { return why_; }
  uint64_t failures() const { return failures_; }  // connects and handshakes that failed
  // Whether the problem is known to last: a refused key or a protocol
  // error at once; a peer that closes during the handshake (which a broker
  // restarting can also do) only after three times in a row.
  bool lasting() const;

  zmq::socket_t& events() { return monitor_; }  // readable when update() has work

 private:
  zmq::socket_t& watched_;
  zmq::socket_t monitor_;
  bool up_ = false;
  bool ever_up_ = false;
  LinkProblem problem_ = LinkProblem::kNone;
  std::string why_;
  uint64_t failures_ = 0;
  int closed_in_handshake_ = 0;  // in a row, since the last success
  bool protocol_error_ = false;
};

}  // namespace frameprint
