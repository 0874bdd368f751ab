// Fuzz target: the Majordomo codec (ipc/mdp.h) on any split of the input
// into frames. Whatever parses must rebuild, through the builders, into
// exactly the frames it came from: the parsers lose nothing and accept
// nothing the builders would not write.
#include "tests/fuzz/frames.h"
#include "tests/fuzz/fuzz_targets.h"

namespace frameprint::fuzz {

namespace {

void client_side(const mdp::Message& frames) {
  mdp::ClientRequest req;
  try {
    req = mdp::parse_client(mdp::share(frames));
  } catch (const mdp::ProtocolError&) {
    return;
  }
  FUZZ_CHECK(!req.service.empty());
  FUZZ_CHECK(same_frames(mdp::client_message(req.service, std::move(req.body)), frames));
}

void worker_side(const mdp::Message& frames) {
  mdp::WorkerMessage msg;
  try {
    msg = mdp::parse_worker(mdp::share(frames));
  } catch (const mdp::ProtocolError&) {
    return;
  }
  mdp::Message rebuilt;
  switch (msg.command) {
    case mdp::Command::kReady: rebuilt = mdp::worker_ready(msg.service); break;
    case mdp::Command::kRequest:
      rebuilt = mdp::worker_request(msg.client, std::move(msg.body));
      break;
    case mdp::Command::kReply: rebuilt = mdp::worker_reply(msg.client, std::move(msg.body)); break;
    case mdp::Command::kHeartbeat:
    case mdp::Command::kDisconnect: rebuilt = mdp::worker_command(msg.command); break;
  }
  FUZZ_CHECK(same_frames(rebuilt, frames));
}

// What a ROUTER socket hands over: the peer's identity, then the message.
void routed(const mdp::Message& frames) {
  mdp::Message copy = mdp::share(frames);
  std::string identity;
  try {
    identity = mdp::pop_identity(copy);
  } catch (const mdp::ProtocolError&) {
    FUZZ_CHECK(frames.empty());
    return;
  }
  FUZZ_CHECK(mdp::printable_identity(identity).size() == 2 * std::min<size_t>(identity.size(), 16));
  client_side(copy);
  worker_side(copy);
  FUZZ_CHECK(same_frames(mdp::with_identity(identity, std::move(copy)), frames));
}

}  // namespace

void mdp(Input input) {
  ByteReader in(input);
  const mdp::Message frames = read_frames(in, 64);
  client_side(frames);
  worker_side(frames);
  routed(frames);
}

}  // namespace frameprint::fuzz

FRAMEPRINT_FUZZ_ENTRY(frameprint::fuzz::mdp)
