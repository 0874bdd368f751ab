// PoolClient (ipc/pool_client.h) through a real broker and an echo
// worker on TCP loopback: many threads' jobs each get their own reply, a
// full queue refuses instead of growing, and stopping answers what is left.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "ipc/pool_client.h"
#include "tests/support/echo_pool.h"

namespace frameprint {
namespace {

using namespace std::chrono_literals;

ProducerJob job(const std::string& id) {
  ProducerJob j;
  j.id = id;
  j.body.push_back(mdp::frame_of(nlohmann::json{{"id", id}, {"payload", "p-" + id}}.dump()));
  return j;
}

TEST(PoolClient, EveryThreadGetsItsOwnReplies) {
  testing::EchoPool pool(4);
  ProducerConfig pc;
  pc.endpoint = pool.frontend();
  pc.window = 8;
  pc.timeout = 10s;
  PoolClient client(PoolClient::broker(pc), 1000);
  std::vector<std::thread> threads;
  std::atomic<int> right{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const std::string id = std::to_string(t) + "-" + std::to_string(i);
        auto reply = client.submit(job(id));
        ASSERT_TRUE(reply.has_value());
        const auto j = nlohmann::json::parse(reply->get());
        if (j["id"] == id && j["payload"] == "p-" + id) ++right;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(right.load(), 200);
}

TEST(PoolClient, RefusesBeyondItsQueueAndAnswersWhatIsLeftWhenStopped) {
  testing::EchoPool pool(0);  // no worker: nothing is ever answered
  ProducerConfig pc;
  pc.endpoint = pool.frontend();
  pc.window = 2;
  pc.timeout = 60s;
  std::vector<std::future<std::string>> replies;
  {
    PoolClient client(PoolClient::broker(pc), 3);
    for (int i = 0; i < 5; ++i) {
      auto r = client.submit(job("j" + std::to_string(i)));
      ASSERT_TRUE(r.has_value()) << i;  // 2 in the window, 3 waiting (taken as the thread runs)
      replies.push_back(std::move(*r));
      // Wait until the producer has taken what fits in its window.
      for (int k = 0; k < 200 && client.waiting() > 0 && i < 2; ++k)
        std::this_thread::sleep_for(5ms);
    }
    EXPECT_FALSE(client.submit(job("j-extra")).has_value()) << "a full queue refuses";
    EXPECT_FALSE(client.submit(job("j0")).has_value()) << "an id in hand is refused";
  }
  for (auto& r : replies) {
    ASSERT_EQ(r.wait_for(1s), std::future_status::ready);
    const auto j = nlohmann::json::parse(r.get());
    EXPECT_EQ(j["status"], "error");
    EXPECT_EQ(j["error"]["code"], "internal");
  }
}

}  // namespace
}  // namespace frameprint
