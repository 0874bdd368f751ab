// The confined decoder process (worker/pool/sandbox.h) on its own: how
// long one process lives (--sandbox-jobs), and that a refusal by the
// header probe does not cost a new one.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "worker/media/media_source.h"
#include "worker/pool/sandbox.h"

namespace frameprint {
namespace {

std::vector<uint8_t> png() {
  cv::Mat m(48, 64, CV_8UC3);
  cv::randu(m, 0, 255);
  std::vector<uint8_t> bytes;
  cv::imencode(".png", m, bytes);
  return bytes;
}

// Sanitizer builds cannot run the decoder process: it exits on its first
// job there (likely RLIMIT_AS against the sanitizer's reserved shadow
// memory), so they hash in the worker instead (hash_slot.cpp).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SKIP_UNDER_SANITIZERS() GTEST_SKIP() << "sanitizer builds do not confine decoders"
#else
#define SKIP_UNDER_SANITIZERS() (void)0
#endif

std::string status_of(Sandbox& s, const std::vector<uint8_t>& bytes) {
  MediaSource src = MediaSource::view(bytes);
  const auto r = s.hash(src, HashOptions{});
  return r.value("status", std::string()) == "ok" ? "ok" : r["error"].value("code", std::string());
}

TEST(Sandbox, AProcessServesItsQuotaOfJobsThenAFreshOneTakesOver) {
  SKIP_UNDER_SANITIZERS();
  SandboxLimits limits;
  limits.jobs_per_process = 3;
  Sandbox s(FRAMEPRINT_WORKER, limits);
  const auto image = png();
  std::vector<pid_t> pids;
  EXPECT_EQ(s.pid(), -1);  // started by the first job
  for (int i = 0; i < 7; ++i) {
    ASSERT_EQ(status_of(s, image), "ok");
    pids.push_back(s.pid());  // after the job: the process that will take the next
  }
  // Process A serves jobs 0-2 and is retired after job 2 (B starts then),
  // B serves 3-5, C starts after job 5.
  EXPECT_EQ(pids[0], pids[1]);
  EXPECT_NE(pids[1], pids[2]);
  EXPECT_EQ(pids[2], pids[3]);
  EXPECT_EQ(pids[3], pids[4]);
  EXPECT_NE(pids[4], pids[5]);
  EXPECT_EQ(pids[5], pids[6]);
}

TEST(Sandbox, OneJobPerProcessAndRefusalsKeepTheProcess) {
  SKIP_UNDER_SANITIZERS();
  SandboxLimits one;
  one.jobs_per_process = 1;
  Sandbox fresh(FRAMEPRINT_WORKER, one);
  const auto image = png();
  ASSERT_EQ(status_of(fresh, image), "ok");
  const pid_t first = fresh.pid();
  ASSERT_EQ(status_of(fresh, image), "ok");
  EXPECT_NE(fresh.pid(), first);

  SandboxLimits unlimited;
  unlimited.jobs_per_process = 0;
  Sandbox kept(FRAMEPRINT_WORKER, unlimited);
  ASSERT_EQ(status_of(kept, image), "ok");
  const pid_t p = kept.pid();
  const std::vector<uint8_t> junk(4096, 0x7f);  // refused by the probe, no decoder runs
  EXPECT_EQ(status_of(kept, junk), "unsupported_format");
  for (int i = 0; i < 5; ++i) ASSERT_EQ(status_of(kept, image), "ok");
  EXPECT_EQ(kept.pid(), p);
}

}  // namespace
}  // namespace frameprint
