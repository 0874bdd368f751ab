// Pool jobs as the worker sees them: header validation, inline bytes, path
// jobs confined to --allow-root, and options that may only tighten limits.
#include "worker/pool/job_handler.h"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "tests/support/temp_dir.h"
#include "worker/media/media_error.h"
#include "worker/media/media_source.h"

namespace frameprint {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class JobHandler : public ::testing::Test {
 protected:
  void SetUp() override {
    cv::Mat m(60, 80, CV_8UC3);
    cv::randu(m, 0, 255);
    cv::imencode(".png", m, png_);
    inside_ = dir_.write("root/in.png", png_);
    dir_.write("outside/secret.png", png_);
    policy_.allow_roots = canonical_roots({(dir_ / "root").string()});
    policy_.worker_name = "test-worker";
    policy_.max_bytes = 1 << 20;
  }
  JobOutcome run(const json& header, bool with_bytes) {
    std::optional<std::span<const uint8_t>> bytes;
    if (with_bytes) bytes = std::span<const uint8_t>(png_);
    return handle_job(header.dump(), bytes, policy_, in_process(*backend_));
  }
  std::string code(const JobOutcome& r) { return r.reply.at("error").at("code"); }

  testing::TempDir dir_;
  std::vector<uint8_t> png_;
  fs::path inside_;
  JobPolicy policy_;
  std::unique_ptr<pdq::PdqBackend> backend_ = pdq::make_cpu_backend();
};

TEST_F(JobHandler, InlineBytesGiveTheHashResultWithIdAndWorker) {
  const auto r = run({{"id", "j1"}, {"name", "photo.png"}}, true);
  ASSERT_TRUE(r.ok) << r.reply.dump();
  EXPECT_EQ(r.reply.at("path"), "photo.png");
  EXPECT_EQ(r.reply.at("id"), "j1");
  EXPECT_EQ(r.reply.at("worker"), "test-worker");
  EXPECT_EQ(r.reply.at("kind"), "image");
  EXPECT_EQ(r.bytes, png_.size());
  EXPECT_EQ(r.frames, 1u);
}

TEST_F(JobHandler, MalformedHeadersAreBadRequests) {
  EXPECT_EQ(code(handle_job("not json", std::nullopt, policy_, in_process(*backend_))),
            "bad_request");
  EXPECT_EQ(code(run({{"name", "x"}}, true)), "bad_request");  // no id
  EXPECT_EQ(code(run({{"id", "a"}}, false)), "bad_request");   // no path, no bytes
  EXPECT_EQ(code(run({{"id", "a"}, {"path", inside_.string()}}, true)), "bad_request");  // both
  EXPECT_EQ(code(run({{"id", "a"}, {"options", {{"dihedral", "yes"}}}}, true)), "bad_request");
  EXPECT_EQ(code(run({{"id", "a"}, {"options", {{"seconds_per_hash", -1}}}}, true)), "bad_request");
  const auto r = run({{"id", 42}, {"options", "fast"}}, true);
  EXPECT_EQ(code(r), "bad_request");
  EXPECT_EQ(r.reply.at("id"), 42);
}

// The worker fetches a URL job's media through policy.fetch_url (in the
// program: url_fetcher.h, tested against real servers in
// JetStreamPool.UrlJobsAreFetchedByThePolicyOfServe); here, what the
// handler does around it.
TEST_F(JobHandler, UrlJobsNeedAFetcherAndGiveItsBytesToTheHasher) {
  EXPECT_EQ(code(run({{"id", "u"}, {"url", "http://example.org/a.png"}}, false)), "bad_request");
  std::vector<std::string> asked;
  uint64_t limit = 0;
  policy_.fetch_url = [&](const std::string& url, uint64_t max_bytes) {
    asked.push_back(url);
    limit = max_bytes;
    if (url.ends_with("/refused")) throw MediaError(ErrorCode::kUrlNotAllowed, "private address");
    return png_;
  };
  const auto ok = run({{"id", "u"}, {"url", "http://example.org/a.png"}}, false);
  ASSERT_TRUE(ok.ok) << ok.reply.dump();
  EXPECT_EQ(ok.reply.at("path"), "http://example.org/a.png");  // no name: the URL
  EXPECT_EQ(ok.bytes, png_.size());
  EXPECT_EQ(limit, policy_.max_bytes);
  const auto inline_ok = run({{"id", "i"}}, true);
  EXPECT_EQ(ok.reply.at("frames"), inline_ok.reply.at("frames"));

  const auto refused = run({{"id", "r"}, {"url", "http://10.0.0.1/refused"}}, false);
  EXPECT_EQ(code(refused), "url_not_allowed");
  EXPECT_TRUE(refused.refused);
  // One of a path, a URL or bytes.
  EXPECT_EQ(code(run({{"id", "b"}, {"url", "http://example.org/a.png"}}, true)), "bad_request");
  EXPECT_EQ(code(run({{"id", "b"}, {"url", "http://example.org/a.png"}, {"path", inside_.string()}},
                     false)),
            "bad_request");
  EXPECT_EQ(code(run({{"id", "b"}, {"url", 7}}, false)), "bad_request");
  EXPECT_EQ(asked.size(), 2u);  // the bad requests fetched nothing
}

TEST_F(JobHandler, PathJobsStayInsideTheAllowedRoots) {
  const auto ok = run({{"id", "p"}, {"path", inside_.string()}}, false);
  ASSERT_TRUE(ok.ok) << ok.reply.dump();
  EXPECT_EQ(ok.reply.at("path"), inside_.string());

  const std::string escape = (dir_ / "root" / ".." / "outside" / "secret.png").string();
  EXPECT_EQ(code(run({{"id", "p"}, {"path", escape}}, false)), "path_not_allowed");
  EXPECT_EQ(code(run({{"id", "p"}, {"path", (dir_ / "outside/secret.png").string()}}, false)),
            "path_not_allowed");
  fs::create_symlink(dir_ / "outside" / "secret.png", dir_ / "root" / "link.png");
  EXPECT_EQ(code(run({{"id", "p"}, {"path", (dir_ / "root/link.png").string()}}, false)),
            "path_not_allowed");
  EXPECT_EQ(code(run({{"id", "p"}, {"path", "relative.png"}}, false)), "bad_request");
  EXPECT_EQ(code(run({{"id", "p"}, {"path", (dir_ / "root/missing.png").string()}}, false)),
            "io_error");
  EXPECT_EQ(code(run({{"id", "p"}, {"path", (dir_ / "outside/missing.png").string()}}, false)),
            "path_not_allowed");

  JobPolicy no_roots = policy_;
  no_roots.allow_roots.clear();
  EXPECT_EQ(code(handle_job(json({{"id", "p"}, {"path", inside_.string()}}).dump(), std::nullopt,
                            no_roots, in_process(*backend_))),
            "path_not_allowed");
}

TEST_F(JobHandler, OpeningBeneathARootRefusesEscapesAtOpenTime) {
  // What a path swapped between the check and the open would do: the open
  // itself refuses to leave the root.
  fs::create_directory_symlink(dir_ / "outside", dir_ / "root" / "door");
  const auto root = fs::canonical(dir_ / "root");
  try {
    MediaSource::open_beneath(root, "door/secret.png");
    ADD_FAILURE() << "opened a file outside the root";
  } catch (const MediaError& e) {
    EXPECT_EQ(e.code(), ErrorCode::kPathNotAllowed) << e.what();
  }
  EXPECT_THROW(MediaSource::open_beneath(root, "../outside/secret.png"), MediaError);
  EXPECT_EQ(MediaSource::open_beneath(root, "in.png").size(), png_.size());
}

TEST_F(JobHandler, SizeLimitsAndOptionsThatOnlyTighten) {
  JobPolicy tight = policy_;
  tight.max_bytes = 100;
  EXPECT_EQ(code(handle_job(json({{"id", "b"}}).dump(), std::span<const uint8_t>(png_), tight,
                            in_process(*backend_))),
            "too_large");

  // A job cannot raise the worker's pixel limit...
  JobPolicy small = policy_;
  small.defaults.limits.max_pixels = 1000;
  const auto r =
      handle_job(json({{"id", "c"}, {"options", {{"max_pixels", 1'000'000'000}}}}).dump(),
                 std::span<const uint8_t>(png_), small, in_process(*backend_));
  EXPECT_EQ(code(r), "too_large");
  // ... but can lower it.
  EXPECT_EQ(code(run({{"id", "d"}, {"options", {{"max_pixels", 100}}}}, true)), "too_large");
  // A job may ask for the exact still path; a worker's --exact holds for
  // every job.
  EXPECT_EQ(run({{"id", "f"}}, true).reply.at("exact"), false);
  EXPECT_EQ(run({{"id", "g"}, {"options", {{"exact", true}}}}, true).reply.at("exact"), true);
  JobPolicy exact = policy_;
  exact.defaults.exact_stills = true;
  const auto h = handle_job(json({{"id", "h"}, {"options", {{"exact", false}}}}).dump(),
                            std::span<const uint8_t>(png_), exact, in_process(*backend_));
  EXPECT_EQ(h.reply.at("exact"), true);
  EXPECT_EQ(code(run({{"id", "i"}, {"options", {{"exact", "yes"}}}}, true)), "bad_request");
  // Unknown options are ignored (newer producers, older workers).
  EXPECT_TRUE(run({{"id", "e"}, {"options", {{"future_option", 1}, {"dihedral", true}}}}, true).ok);
}

TEST_F(JobHandler, TheWorkerBoundsWhatJobsMayAskFor) {
  policy_.min_seconds_per_hash = 0.5;
  policy_.allow_dihedral = false;
  EXPECT_EQ(code(run({{"id", "a"}, {"options", {{"seconds_per_hash", 0}}}}, true)), "bad_request");
  EXPECT_EQ(code(run({{"id", "b"}, {"options", {{"dihedral", true}}}}, true)), "bad_request");
  EXPECT_TRUE(run({{"id", "c"}, {"options", {{"seconds_per_hash", 1}}}}, true).ok);
}

// What the worker counts as refused by its policy: errors before hashing,
// not the media's own (a picture over the pixel limit is hashed and fails).
TEST_F(JobHandler, RefusalsAreThoseMadeBeforeHashing) {
  EXPECT_TRUE(run({{"name", "x"}}, true).refused);  // no id
  EXPECT_TRUE(run({{"id", "a"}, {"path", (dir_ / "outside/secret.png").string()}}, false).refused);
  JobPolicy tight = policy_;
  tight.max_bytes = 100;
  EXPECT_TRUE(handle_job(json({{"id", "b"}}).dump(), std::span<const uint8_t>(png_), tight,
                         in_process(*backend_))
                  .refused);
  const auto big = run({{"id", "d"}, {"options", {{"max_pixels", 100}}}}, true);
  EXPECT_EQ(code(big), "too_large");
  EXPECT_FALSE(big.refused);
  EXPECT_FALSE(run({{"id", "e"}}, true).refused);
}

TEST(CapReply, FramesBeyondTheBoundAreCutAndTheReplySaysSo) {
  nlohmann::ordered_json reply = {
      {"id", "x"}, {"status", "ok"}, {"frames", nlohmann::ordered_json::array()}};
  for (int i = 0; i < 1000; ++i)
    reply["frames"].push_back(
        {{"index", i}, {"ts", i / 30.0}, {"quality", 100}, {"pdq", std::string(64, 'a')}});
  nlohmann::ordered_json small = reply;
  small["frames"].erase(small["frames"].begin() + 10, small["frames"].end());
  EXPECT_TRUE(cap_reply(small, 1 << 20));  // fits: untouched
  EXPECT_FALSE(small.contains("partial"));
  EXPECT_FALSE(cap_reply(reply, 20000));
  EXPECT_LE(reply.dump().size(), 20000u);
  EXPECT_GT(reply["frames"].size(), 100u);  // cut near the bound, not to nothing
  EXPECT_EQ(reply["frames"].back()["index"],
            reply["frames"].size() - 1);  // the first frames are kept
  EXPECT_EQ(reply["partial"], true);
  EXPECT_EQ(reply["warnings"].back()["code"], "reply_truncated");
}

// A header whose id is nested a few hundred thousand levels deep (found by
// reasoning while writing the job header's fuzz target): copying it
// overflowed the stack and killed the worker. Now a bad request.
TEST_F(JobHandler, DeeplyNestedIdIsABadRequest) {
  constexpr size_t kDepth = 300000;
  const std::string header =
      R"({"id":)" + std::string(kDepth, '[') + std::string(kDepth, ']') + "}";
  const auto r = handle_job(header, std::span<const uint8_t>(png_), policy_, in_process(*backend_));
  EXPECT_EQ(code(r), "bad_request");
  EXPECT_TRUE(r.reply.at("id").is_null());
}

}  // namespace
}  // namespace frameprint
