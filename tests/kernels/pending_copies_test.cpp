// The surface-release rule of batching GPU backends, on fake copies: a
// source is released as soon as its copy has completed, never more than
// `capacity` are held, and the oldest is waited for when the ring is full.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "kernels/pending_copies.h"

namespace frameprint::pdq {
namespace {

struct FakeCopies {
  std::vector<bool> done;  // by token
  std::vector<int> waited;
  PendingCopies<int> ring{3, [this](const int& t) { return done[static_cast<size_t>(t)]; },
                          [this](const int& t) {
                            waited.push_back(t);
                            done[static_cast<size_t>(t)] = true;
                          }};
  // A source whose release we can observe.
  std::shared_ptr<void> source(std::vector<int>& released, int id) {
    return std::shared_ptr<void>(new int(id), [&released](void* p) {
      released.push_back(*static_cast<int*>(p));
      delete static_cast<int*>(p);
    });
  }
};

TEST(PendingCopies, ReleasesEachSourceOnceItsCopyHasCompleted) {
  std::vector<int> released;  // outlives the ring, whose sources write into it
  FakeCopies f;
  f.done.assign(10, false);
  f.ring.add(0, f.source(released, 0));
  f.ring.add(1, f.source(released, 1));
  EXPECT_TRUE(released.empty());
  f.done[0] = true;
  f.ring.reap();
  EXPECT_EQ(released, (std::vector<int>{0}));
  EXPECT_EQ(f.ring.in_flight(), 1u);
  EXPECT_TRUE(f.waited.empty());  // nothing was waited for
}

TEST(PendingCopies, NeverHoldsMoreThanItsCapacity) {
  std::vector<int> released;  // outlives the ring, whose sources write into it
  FakeCopies f;
  f.done.assign(10, false);
  for (int i = 0; i < 8; ++i) {
    f.ring.add(i, f.source(released, i));
    EXPECT_LE(f.ring.in_flight(), 3u);
  }
  // The oldest copies were waited for, in order, as the ring filled.
  EXPECT_EQ(f.waited, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(released, (std::vector<int>{0, 1, 2, 3, 4}));
  f.ring.drain();
  EXPECT_EQ(f.ring.in_flight(), 0u);
  EXPECT_EQ(released.size(), 8u);
}

TEST(PendingCopies, CompletedCopiesAreReleasedBeforeWaiting) {
  std::vector<int> released;  // outlives the ring, whose sources write into it
  FakeCopies f;
  f.done.assign(10, false);
  for (int i = 0; i < 3; ++i) f.ring.add(i, f.source(released, i));
  f.done[0] = f.done[1] = true;  // the stream has moved on
  f.ring.add(3, f.source(released, 3));
  EXPECT_TRUE(f.waited.empty());
  EXPECT_EQ(released, (std::vector<int>{0, 1}));
}

}  // namespace
}  // namespace frameprint::pdq
