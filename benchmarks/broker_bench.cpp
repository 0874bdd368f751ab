// The broker must never be the bottleneck: small request/replies through one
// frameprint broker on TCP loopback, answered by echo workers (the project's
// MdpWorker with a handler that replies at once).
//   build/bin/frameprint_bench_broker
// BM_BrokerThroughput: requests per second with 256 in flight.
// BM_BrokerRoundTrip: one request at a time; time per iteration = round trip
// client -> broker -> worker -> broker -> client.
#include <benchmark/benchmark.h>

#include <string>
#include <zmq_addon.hpp>

#include <spdlog/spdlog.h>

#include "ipc/mdp.h"
#include "tests/support/echo_pool.h"

namespace {

using namespace frameprint;

// An echo pool (tests/support/echo_pool.h) and a client that keeps requests
// in flight through it.
class EchoBench {
 public:
  explicit EchoBench(int slots) : pool_(slots, "echo") {
    client_.set(zmq::sockopt::linger, 0);
    client_.connect(pool_.frontend());
    round_trips(50);  // warm up: workers registered, connections made
  }

  // Sends n requests keeping `window` in flight; returns when all are back.
  void round_trips(int n, int window = 1) {
    int sent = 0, received = 0;
    const std::string payload(100, 'x');
    while (received < n) {
      while (sent < n && sent - received < window) {
        mdp::Message body;
        body.push_back(mdp::frame_of(payload));
        (void)zmq::send_multipart(client_, mdp::client_message("echo", std::move(body)));
        ++sent;
      }
      mdp::Message reply;
      if (zmq::recv_multipart(client_, std::back_inserter(reply))) ++received;
    }
  }

 private:
  testing::EchoPool pool_;
  zmq::socket_t client_{pool_.context(), zmq::socket_type::dealer};
};

void BM_BrokerThroughput(benchmark::State& state) {
  EchoBench pool(8);
  constexpr int kBatch = 20000;
  for (auto _ : state) pool.round_trips(kBatch, static_cast<int>(state.range(0)));
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_BrokerThroughput)
    ->Arg(256)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

void BM_BrokerRoundTrip(benchmark::State& state) {
  EchoBench pool(1);
  for (auto _ : state) pool.round_trips(1);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BrokerRoundTrip)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime()
    ->MinTime(2.0)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);  // no per-worker registration lines
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
