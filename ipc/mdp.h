// Majordomo Protocol 0.1 (ZeroMQ RFC 7) frames, as pure functions: parse
// and build messages without touching sockets, so the codec is unit-tested
// on its own and the broker is a state machine driven by these values.
//
// Wire shapes (each [] is one frame):
//   client -> broker  [empty][MDPC01][service][body...]
//   broker -> client  [empty][MDPC01][service][body...]
//   worker -> broker  [empty][MDPW01][command][...]
//     READY 0x01 [service]; REPLY 0x03 [client][empty][body...];
//     HEARTBEAT 0x04; DISCONNECT 0x05
//   broker -> worker  [empty][MDPW01][command][...]
//     REQUEST 0x02 [client][empty][body...]; HEARTBEAT 0x04; DISCONNECT 0x05
// On a ROUTER socket every message is preceded by the peer's identity frame.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

namespace frameprint::mdp {

inline constexpr std::string_view kClientProtocol = "MDPC01";
inline constexpr std::string_view kWorkerProtocol = "MDPW01";
inline constexpr std::string_view kHashService = "frameprint.hash";
inline constexpr std::string_view kServiceDiscovery = "mmi.service";

enum class Command : uint8_t {
  kReady = 0x01,
  kRequest = 0x02,
  kReply = 0x03,
  kHeartbeat = 0x04,
  kDisconnect = 0x05,
};

using Message = std::vector<zmq::message_t>;

// A message that does not follow the protocol; the text says how.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string to_string(const zmq::message_t& frame);
zmq::message_t frame_of(std::string_view bytes);

// What a client sent (the routing identity, if any, already removed).
struct ClientRequest {
  std::string service;
  Message body;
};
// What a broker or worker sent over the worker protocol.
struct WorkerMessage {
  Command command = Command::kHeartbeat;
  std::string service;  // READY
  std::string client;   // REQUEST / REPLY: the client's routing identity
  Message body;         // REQUEST / REPLY
};

// Each parser takes the frames after any routing identity; throws
// ProtocolError for anything malformed.
ClientRequest parse_client(Message frames);
WorkerMessage parse_worker(Message frames);

// Builders (without routing identity; ROUTER senders prepend it).
Message client_message(std::string_view service, Message body);
Message worker_command(Command command);
Message worker_ready(std::string_view service);
Message worker_request(std::string_view client, Message body);
Message worker_reply(std::string_view client, Message body);

// A routing identity as short hex, for logs.
std::string printable_identity(std::string_view identity);

// A copy sharing the frames' buffers (reference-counted, no byte copy).
Message share(const Message& frames);

// Pops the routing identity frame a ROUTER socket prepends.
std::string pop_identity(Message& frames);
// Prepends a routing identity frame.
Message with_identity(std::string_view identity, Message frames);

}  // namespace frameprint::mdp
