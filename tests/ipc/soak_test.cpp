// A bounded soak (issue 13): thousands of mixed good and hostile jobs
// through a real broker and two workers on loopback. Nothing may be lost or
// duplicated, and the processes' memory and open files must stay flat.
// Prints the figures it measured (they go into benchmarks/RESULTS.md).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <sstream>

#include "tests/support/child_process.h"
#include "tests/support/run_process.h"
#include "tests/support/temp_dir.h"

namespace frameprint {
namespace {

// ASan holds freed memory in its quarantine (256 MiB by default), so RSS
// says nothing about leaks there; descriptors and accounting still count.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kRssMeaningful = false;
#else
constexpr bool kRssMeaningful = true;
#endif

using namespace std::chrono_literals;
using testing::ChildProcess;

// VmRSS (KiB) of a process and of its children (the decoder processes).
long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  long value = 0;
  while (in >> key) {
    if (key == "VmRSS:") {
      in >> value;
      return value;
    }
    in.ignore(1 << 12, '\n');
  }
  return 0;
}

size_t open_fds(pid_t pid) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

TEST(Soak, ThousandsOfMixedJobsLoseNothingAndLeakNothing) {
  testing::TempDir dir;
  const std::string frontend = testing::loopback(testing::free_port());
  const std::string backend = testing::loopback(testing::free_port());
  ChildProcess broker(
      {FRAMEPRINT_BROKER, "--frontend", frontend, "--backend", backend, "--heartbeat-ms", "250"},
      dir / "broker.log");
  ASSERT_TRUE(testing::eventually(
      [&] { return broker.log().find("frontend tcp://") != std::string::npos; }, 10s));
  std::vector<std::unique_ptr<ChildProcess>> workers;
  for (int w = 0; w < 2; ++w)
    workers.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{FRAMEPRINT_WORKER, "--connect", backend, "--slots", "2",
                                 "--device", "cpu", "--heartbeat-ms", "250", "--max-seconds", "5"},
        dir / ("worker" + std::to_string(w) + ".log")));

  // 40 distinct inputs: good PNGs and JPEGs, and hostile ones (random
  // bytes, truncated images, empty files, a PNG header over garbage).
  std::vector<std::vector<uint8_t>> inputs;
  std::mt19937 rng(7);
  for (int i = 0; i < 24; ++i) {
    cv::Mat m(40 + i, 60 + 2 * i, CV_8UC3);
    cv::randu(m, 0, 255);
    std::vector<uint8_t> b;
    cv::imencode(i % 2 ? ".png" : ".jpg", m, b);
    inputs.push_back(std::move(b));
  }
  for (int i = 0; i < 6; ++i) {
    std::vector<uint8_t> junk(100 + 997 * static_cast<size_t>(i));
    for (auto& c : junk) c = static_cast<uint8_t>(rng());
    inputs.push_back(std::move(junk));
  }
  for (int i = 0; i < 6; ++i) {
    auto truncated = inputs[static_cast<size_t>(i)];
    truncated.resize(truncated.size() / (2 + static_cast<size_t>(i)));
    inputs.push_back(std::move(truncated));
  }
  inputs.push_back({});
  inputs.push_back({0x89, 'P',  'N',  'G',  '\r', '\n', 0x1a, '\n', 0,    0, 0, 13, 'I', 'H', 'D',
                    'R',  0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 8, 2, 0,  0,   0});
  inputs.push_back(std::vector<uint8_t>(4096, 0));
  inputs.push_back(std::vector<uint8_t>{'G', 'I', 'F', '8', '9', 'a', 0xff, 0xff, 0xff, 0xff});
  constexpr int kJobs = 2000;
  for (int j = 0; j < kJobs; ++j)
    dir.write("jobs/" + std::to_string(10000 + j) + ".bin",
              inputs[static_cast<size_t>(j) % inputs.size()]);

  // Warm up (decoder processes started, allocators settled), then measure.
  for (int j = 0; j < 200; ++j)
    dir.write("warm/" + std::to_string(j) + ".bin", inputs[static_cast<size_t>(j) % inputs.size()]);
  auto warm = testing::run_process(
      {FRAMEPRINT_CLI, "submit", "--broker", frontend, "--window", "32", (dir / "warm").string()},
      300);
  ASSERT_NE(warm.out.find("\"status\":\"ok\""), std::string::npos) << warm.err << broker.log();
  const long broker_rss0 = rss_kib(broker.pid());
  const size_t broker_fds0 = open_fds(broker.pid());
  std::vector<long> worker_rss0;
  std::vector<size_t> worker_fds0;
  for (auto& w : workers) {
    worker_rss0.push_back(rss_kib(w->pid()));
    worker_fds0.push_back(open_fds(w->pid()));
  }

  const auto t0 = std::chrono::steady_clock::now();
  const auto run =
      testing::run_process({FRAMEPRINT_CLI, "submit", "--broker", frontend, "--window", "64",
                            "--output", (dir / "out.jsonl").string(), (dir / "jobs").string()},
                           600);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::ifstream out(dir / "out.jsonl");
  std::map<std::string, int> seen;
  std::map<std::string, int> codes;
  std::map<std::string, std::string> example;  // an input and message per error code
  std::string line;
  while (std::getline(out, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j["status"] != "ok") {
      const std::string path = j["path"];
      const int job = std::stoi(std::filesystem::path(path).stem().string()) - 10000;
      example.try_emplace(j["error"]["code"],
                          "input " + std::to_string(job % static_cast<int>(inputs.size())) + ": " +
                              j["error"]["message"].get<std::string>());
    }
    ++seen[j["path"].get<std::string>()];
    ++codes[j["status"] == "ok" ? std::string("ok") : j["error"]["code"].get<std::string>()];
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kJobs)) << run.err;
  for (const auto& [path, n] : seen) EXPECT_EQ(n, 1) << path << " answered " << n << " times";
  EXPECT_EQ(codes.count("timeout"), 0u);
  EXPECT_EQ(codes.count("poison"), 0u);
  EXPECT_EQ(codes.count("internal"), 0u);

  const long broker_rss1 = rss_kib(broker.pid());
  std::ostringstream report;
  report << kJobs << " jobs in " << seconds << " s (" << kJobs / seconds << " jobs/s);";
  for (const auto& [c, n] : codes) report << ' ' << c << '=' << n;
  report << "; broker RSS " << broker_rss0 / 1024 << " -> " << broker_rss1 / 1024 << " MiB, fds "
         << broker_fds0 << " -> " << open_fds(broker.pid());
  if (kRssMeaningful) {
    EXPECT_LT(broker_rss1 - broker_rss0, 32 * 1024) << "broker memory grew";
  }
  EXPECT_LE(open_fds(broker.pid()), broker_fds0 + 2);
  for (size_t w = 0; w < workers.size(); ++w) {
    const long rss1 = rss_kib(workers[w]->pid());
    const size_t fds1 = open_fds(workers[w]->pid());
    report << "; worker" << w << " RSS " << worker_rss0[w] / 1024 << " -> " << rss1 / 1024
           << " MiB, fds " << worker_fds0[w] << " -> " << fds1;
    if (kRssMeaningful) {
      EXPECT_LT(rss1 - worker_rss0[w], 64 * 1024) << "worker memory grew";
    }
    EXPECT_LE(fds1, worker_fds0[w] + 2) << "worker descriptors leaked";
  }
  std::cout << "soak: " << report.str() << '\n';
  for (const auto& [c, e] : example) std::cout << "soak: " << c << " e.g. " << e << '\n';
  RecordProperty("soak", report.str());
}

}  // namespace
}  // namespace frameprint
