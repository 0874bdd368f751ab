// The lingering close on socket pairs: what is sent to a lingering socket
// is taken and discarded until the peer closes, falls quiet or runs out of
// time; sockets past the limit are closed at once.
#include "worker/serve/lingering_close.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <string>
#include <thread>

#include "tests/support/child_process.h"

namespace frameprint::serve {
namespace {

using namespace std::chrono_literals;

struct Pair {
  Pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    server = UniqueFd(fds[0]);
    client = UniqueFd(fds[1]);
  }
  // Whether the client can still send (it cannot once the server's end is closed).
  bool client_sends() {
    const std::string piece(4096, 'x');
    return ::send(client.get(), piece.data(), piece.size(), MSG_NOSIGNAL | MSG_DONTWAIT) > 0;
  }
  UniqueFd server, client;
};

TEST(LingeringClose, DrainsUntilThePeerClosesAndSaysTheEndAtOnce) {
  LingeringCloser closer;
  Pair p;
  ASSERT_TRUE(closer.add(std::move(p.server)));
  char c;
  EXPECT_EQ(::recv(p.client.get(), &c, 1, 0), 0) << "not shut for writing";
  for (int i = 0; i < 50; ++i) {  // 1 MB, twice what the socket buffers hold
    ASSERT_TRUE(testing::eventually([&] { return p.client_sends(); }, 2s)) << "piece " << i;
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(closer.lingering(), 1u);
  p.client.reset();
  EXPECT_TRUE(testing::eventually([&] { return closer.lingering() == 0; }, 2s));
}

TEST(LingeringClose, AQuietOrEndlessPeerIsCutOff) {
  LingeringCloser closer(LingerLimits{4, 200ms, 1000ms, size_t{1} << 30});
  Pair quiet, endless;
  ASSERT_TRUE(closer.add(std::move(quiet.server)));
  ASSERT_TRUE(closer.add(std::move(endless.server)));
  const auto t0 = std::chrono::steady_clock::now();
  bool cut = false;
  while (!cut && std::chrono::steady_clock::now() - t0 < 5s) {
    std::this_thread::sleep_for(20ms);
    cut = !endless.client_sends() && ::send(endless.client.get(), "x", 1, MSG_NOSIGNAL) < 0;
  }
  EXPECT_TRUE(cut) << "a peer that kept sending was drained for 5 s";
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 800ms) << "cut before its total time";
  EXPECT_FALSE(quiet.client_sends()) << "a quiet peer still lingers";
  EXPECT_EQ(closer.lingering(), 0u);
}

TEST(LingeringClose, PastTheLimitSocketsCloseAtOnce) {
  LingeringCloser closer(LingerLimits{1, 5s, 5s, 1 << 20});
  Pair first, second;
  EXPECT_TRUE(closer.add(std::move(first.server)));
  EXPECT_FALSE(closer.add(std::move(second.server)));
  EXPECT_FALSE(second.client_sends());
  EXPECT_TRUE(first.client_sends());
  EXPECT_EQ(closer.lingering(), 1u);
}

}  // namespace
}  // namespace frameprint::serve
