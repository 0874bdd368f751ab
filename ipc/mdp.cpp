#include "ipc/mdp.h"

#include <utility>

namespace frameprint::mdp {

std::string to_string(const zmq::message_t& frame) {
  return std::string(static_cast<const char*>(frame.data()), frame.size());
}

zmq::message_t frame_of(std::string_view bytes) {
  return zmq::message_t(bytes.data(), bytes.size());
}

namespace {

void expect_header(const Message& f, std::string_view protocol) {
  if (f.size() < 2) throw ProtocolError("too few frames for a Majordomo message");
  if (f[0].size() != 0) throw ProtocolError("missing empty delimiter frame");
  if (to_string(f[1]) != protocol)
    throw ProtocolError("unknown protocol header (expected " + std::string(protocol) + ")");
}

Message tail(Message& f, size_t from) {
  Message out;
  out.reserve(f.size() > from ? f.size() - from : 0);
  for (size_t i = from; i < f.size(); ++i) out.push_back(std::move(f[i]));
  return out;
}

}  // namespace

ClientRequest parse_client(Message f) {
  expect_header(f, kClientProtocol);
  if (f.size() < 3) throw ProtocolError("client message without a service name");
  ClientRequest r;
  r.service = to_string(f[2]);
  if (r.service.empty()) throw ProtocolError("empty service name");
  r.body = tail(f, 3);
  return r;
}

WorkerMessage parse_worker(Message f) {
  expect_header(f, kWorkerProtocol);
  if (f.size() < 3 || f[2].size() != 1) throw ProtocolError("worker message without a command");
  WorkerMessage m;
  const auto cmd = *static_cast<const uint8_t*>(f[2].data());
  switch (cmd) {
    case 0x01:
      m.command = Command::kReady;
      if (f.size() != 4 || f[3].size() == 0)
        throw ProtocolError("READY must carry one service name");
      m.service = to_string(f[3]);
      break;
    case 0x02:
    case 0x03:
      m.command = static_cast<Command>(cmd);
      if (f.size() < 5 || f[4].size() != 0)
        throw ProtocolError("REQUEST/REPLY must carry a client address and an empty frame");
      m.client = to_string(f[3]);
      m.body = tail(f, 5);
      break;
    case 0x04:
    case 0x05:
      m.command = static_cast<Command>(cmd);
      if (f.size() != 3) throw ProtocolError("HEARTBEAT/DISCONNECT carry no frames");
      break;
    default: throw ProtocolError("unknown worker command " + std::to_string(cmd));
  }
  return m;
}

namespace {
Message head(std::string_view protocol) {
  Message m;
  m.emplace_back();
  m.push_back(frame_of(protocol));
  return m;
}
zmq::message_t command_frame(Command c) {
  const auto byte = static_cast<uint8_t>(c);
  return zmq::message_t(&byte, 1);
}
void append(Message& m, Message body) {
  for (auto& f : body) m.push_back(std::move(f));
}
}  // namespace

Message client_message(std::string_view service, Message body) {
  Message m = head(kClientProtocol);
  m.push_back(frame_of(service));
  append(m, std::move(body));
  return m;
}

Message worker_command(Command command) {
  Message m = head(kWorkerProtocol);
  m.push_back(command_frame(command));
  return m;
}

Message worker_ready(std::string_view service) {
  Message m = worker_command(Command::kReady);
  m.push_back(frame_of(service));
  return m;
}

static Message addressed(Command c, std::string_view client, Message body) {
  Message m = worker_command(c);
  m.push_back(frame_of(client));
  m.emplace_back();
  append(m, std::move(body));
  return m;
}

Message worker_request(std::string_view client, Message body) {
  return addressed(Command::kRequest, client, std::move(body));
}

Message worker_reply(std::string_view client, Message body) {
  return addressed(Command::kReply, client, std::move(body));
}

std::string printable_identity(std::string_view identity) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : identity.substr(0, 16)) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

Message share(const Message& frames) {
  Message out;
  out.reserve(frames.size());
  for (const auto& f : frames) {
    zmq::message_t c;
    c.copy(const_cast<zmq::message_t&>(f));  // zmq_msg_copy only adds a reference
    out.push_back(std::move(c));
  }
  return out;
}

std::string pop_identity(Message& frames) {
  if (frames.empty()) throw ProtocolError("empty message");
  std::string id = to_string(frames.front());
  frames.erase(frames.begin());
  return id;
}

Message with_identity(std::string_view identity, Message frames) {
  Message m;
  m.reserve(frames.size() + 1);
  m.push_back(frame_of(identity));
  append(m, std::move(frames));
  return m;
}

}  // namespace frameprint::mdp
