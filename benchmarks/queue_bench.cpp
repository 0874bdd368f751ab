// Jobs per second and latency through the pool's two transports (issue 23):
// the MDP broker (ipc/producer.h) or NATS JetStream (ipc/jetstream.h), with
// real frameprint-worker processes answering. Jobs are N bytes of random
// data inline, which a worker answers `unsupported_format` without decoding:
// the queue is measured, not the hashing. benchmarks/queue_bench.sh starts
// the servers and workers and runs this side by side.
//
//   frameprint_queue_bench --broker tcp://127.0.0.1:5555 --jobs 5000 --bytes 1024
//   frameprint_queue_bench --nats nats://127.0.0.1:4222 --jobs 5000 --bytes 1024
//
// Prints one JSON line: jobs, seconds, jobs_per_s, p50_ms, p99_ms, errors
// by code. Latency: from the job's hand-over to the producer to its result.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <random>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "ipc/jetstream.h"
#include "ipc/producer.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace frameprint;

}  // namespace

int main(int argc, char** argv) {
  std::string broker, nats, producer_name = "bench";
  int jobs = 5000, window = 256;
  size_t bytes = 1024;
  CLI::App app{"frameprint_queue_bench: jobs through the broker or JetStream"};
  app.add_option("--broker", broker, "MDP broker frontend");
  app.add_option("--nats", nats, "NATS URLs (comma-separated)");
  app.add_option("--producer", producer_name, "NATS producer name");
  app.add_option("--jobs", jobs)->capture_default_str();
  app.add_option("--bytes", bytes, "Inline bytes per job")->capture_default_str();
  app.add_option("--window", window, "Jobs in flight")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  std::mt19937_64 rng(42);
  std::string payload(bytes, '\0');
  for (auto& ch : payload) ch = static_cast<char>(rng());
  std::unordered_map<std::string, Clock::time_point> sent;
  std::vector<double> latency_ms;
  std::map<std::string, int> errors;
  int next = 0;
  // A run-unique prefix: JetStream de-duplicates ids across runs.
  const std::string run = std::to_string(Clock::now().time_since_epoch().count());
  auto next_job = [&]() -> std::optional<ProducerJob> {
    if (next >= jobs) return std::nullopt;
    ProducerJob j;
    j.id = "b" + run + "-" + std::to_string(next++);
    nlohmann::json header = {{"id", j.id}, {"name", "job.bin"}};
    j.body.push_back(mdp::frame_of(header.dump()));
    j.body.push_back(mdp::frame_of(payload));
    sent[j.id] = Clock::now();
    return j;
  };
  auto on_result = [&](const std::string& id, const std::string& json) {
    const auto it = sent.find(id);
    if (it == sent.end()) return;
    latency_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - it->second).count());
    sent.erase(it);
    const auto r = nlohmann::json::parse(json, nullptr, false);
    const std::string code = r.is_object() && r.contains("error") && r["error"].is_object()
                                 ? r["error"].value("code", "?")
                                 : "none";
    ++errors[code];
  };
  const auto t0 = Clock::now();
  try {
    if (!nats.empty()) {
      jetstream::ConnectSettings cs;
      cs.urls = jetstream::split_urls(nats);
      cs.name = "queue bench";
      jetstream::Connection c(cs);
      jetstream::ProducerSettings ps;
      ps.name = producer_name;
      ps.window = window;
      jetstream::Producer(c, ps).run(next_job, on_result);
    } else {
      zmq::context_t ctx;
      ProducerConfig pc;
      pc.endpoint = broker;
      pc.window = window;
      Producer(ctx, pc).run(next_job, on_result);
    }
  } catch (const std::exception& e) {
    std::cerr << "frameprint_queue_bench: " << e.what() << '\n';
    return 1;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::sort(latency_ms.begin(), latency_ms.end());
  auto pct = [&](double p) {
    return latency_ms.empty()
               ? 0.0
               : latency_ms[std::min(
                     latency_ms.size() - 1,
                     static_cast<size_t>(p * static_cast<double>(latency_ms.size())))];
  };
  nlohmann::ordered_json out;
  out["transport"] = nats.empty() ? "mdp" : "jetstream";
  out["jobs"] = latency_ms.size();
  out["bytes"] = bytes;
  out["window"] = window;
  out["seconds"] = secs;
  out["jobs_per_s"] = static_cast<double>(latency_ms.size()) / secs;
  out["p50_ms"] = pct(0.50);
  out["p99_ms"] = pct(0.99);
  out["results_by_error_code"] = errors;
  std::cout << out.dump() << '\n';
  return 0;
}
