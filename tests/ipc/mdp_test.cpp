#include "ipc/mdp.h"

#include <gtest/gtest.h>

namespace frameprint::mdp {
namespace {

Message frames(const std::vector<std::string>& parts) {
  Message m;
  for (const auto& p : parts) m.push_back(frame_of(p));
  return m;
}

std::vector<std::string> texts(const Message& m) {
  std::vector<std::string> out;
  for (const auto& f : m) out.push_back(to_string(f));
  return out;
}

TEST(Mdp, BuildsTheFramesRfc7Specifies) {
  EXPECT_EQ(texts(client_message("echo", frames({"a", "b"}))),
            (std::vector<std::string>{"", "MDPC01", "echo", "a", "b"}));
  EXPECT_EQ(texts(worker_ready("echo")), (std::vector<std::string>{"", "MDPW01", "\x01", "echo"}));
  EXPECT_EQ(texts(worker_request("C", frames({"x"}))),
            (std::vector<std::string>{"", "MDPW01", "\x02", "C", "", "x"}));
  EXPECT_EQ(texts(worker_reply("C", frames({"y"}))),
            (std::vector<std::string>{"", "MDPW01", "\x03", "C", "", "y"}));
  EXPECT_EQ(texts(worker_command(Command::kHeartbeat)),
            (std::vector<std::string>{"", "MDPW01", "\x04"}));
  EXPECT_EQ(texts(worker_command(Command::kDisconnect)),
            (std::vector<std::string>{"", "MDPW01", "\x05"}));
}

TEST(Mdp, ParsesWhatItBuilds) {
  const ClientRequest c = parse_client(client_message("svc", frames({"h", "bytes"})));
  EXPECT_EQ(c.service, "svc");
  EXPECT_EQ(texts(c.body), (std::vector<std::string>{"h", "bytes"}));
  const WorkerMessage r = parse_worker(worker_reply("client-7", frames({"out"})));
  EXPECT_EQ(r.command, Command::kReply);
  EXPECT_EQ(r.client, "client-7");
  EXPECT_EQ(texts(r.body), (std::vector<std::string>{"out"}));
  EXPECT_EQ(parse_worker(worker_ready("svc")).service, "svc");
}

TEST(Mdp, RejectsMalformedMessages) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"MDPC01", "svc"},      // no empty delimiter
      {"", "MDPC02", "svc"},  // wrong protocol
      {"", "MDPC01"},         // no service
      {"", "MDPC01", ""},     // empty service
  };
  for (const auto& m : bad) EXPECT_THROW(parse_client(frames(m)), ProtocolError);
  const std::vector<std::vector<std::string>> bad_worker = {
      {"", "MDPW01"},                    // no command
      {"", "MDPW01", "\x09"},            // unknown command
      {"", "MDPW01", "\x01"},            // READY without service
      {"", "MDPW01", "\x03", "C"},       // REPLY without empty frame
      {"", "MDPW01", "\x03", "C", "x"},  // ... non-empty where empty belongs
      {"", "MDPW01", "\x04", "extra"},   // HEARTBEAT with a body
      {"", "MDPW01", "ab"},              // two-byte command
      {"", "MDPC01", "\x04"},            // client protocol on the worker side
  };
  for (const auto& m : bad_worker) EXPECT_THROW(parse_worker(frames(m)), ProtocolError);
}

TEST(Mdp, IdentityFramesAndSharing) {
  Message m = with_identity("peer", frames({"a"}));
  EXPECT_EQ(pop_identity(m), "peer");
  EXPECT_EQ(texts(m), (std::vector<std::string>{"a"}));
  Message empty;
  EXPECT_THROW(pop_identity(empty), ProtocolError);
  // Large frames live in a shared, reference-counted buffer (frames up to
  // 33 bytes are stored inline by ZeroMQ and always copied).
  const Message original = frames({std::string(4096, 'p')});
  const Message copy = share(original);
  EXPECT_EQ(copy[0].data(), original[0].data());  // same buffer, not copied
  EXPECT_EQ(printable_identity(std::string("\x00\x01\xff", 3)), "0001ff");
}

}  // namespace
}  // namespace frameprint::mdp
