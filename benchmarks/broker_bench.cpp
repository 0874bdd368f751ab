// The broker must never be the bottleneck: small request/replies through one
// frameprint broker on TCP loopback, answered by echo workers (the project's
// MdpWorker with a handler that replies at once).
//   build/bin/frameprint_bench_broker
// BM_BrokerThroughput: requests per second with 256 in flight.
// BM_BrokerRoundTrip: one request at a time; time per iteration = round trip
// client -> broker -> worker -> broker -> client.
#include <benchmark/benchmark.h>
#include <sys/eventfd.h>

#include <atomic>
#include <memory>
#include <thread>
#include <zmq_addon.hpp>

#include <spdlog/spdlog.h>

#include "ipc/broker_server.h"
#include "ipc/mdp_worker.h"

namespace {

using namespace frameprint;

class EchoPool {
 public:
  explicit EchoPool(int slots) {
    BrokerServerConfig bc;
    bc.frontend = "tcp://127.0.0.1:*";
    bc.backend = "tcp://127.0.0.1:*";
    broker_ = std::make_unique<BrokerServer>(ctx_, bc);
    frontend_ = broker_->frontend_endpoint();
    broker_thread_ = std::thread([this] { broker_->run(stop_); });
    MdpWorkerConfig wc;
    wc.endpoint = broker_->backend_endpoint();
    wc.service = "echo";
    wc.slots = slots;
    worker_ = std::make_unique<MdpWorker>(ctx_, wc);
    worker_thread_ = std::thread([this] {
      worker_->run(
          [this](MdpJob job) { worker_->complete(job.slot, job.ticket, std::move(job.body)); },
          stop_fd_.get());
    });
    client_.set(zmq::sockopt::linger, 0);
    client_.connect(frontend_);
    round_trips(50);  // warm up: workers registered, connections made
  }
  ~EchoPool() {
    const uint64_t one = 1;
    (void)!::write(stop_fd_.get(), &one, sizeof one);
    worker_thread_.join();
    stop_ = true;
    broker_thread_.join();
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
  zmq::context_t ctx_;
  std::atomic<bool> stop_{false};
  UniqueFd stop_fd_{::eventfd(0, EFD_CLOEXEC)};
  std::unique_ptr<BrokerServer> broker_;
  std::unique_ptr<MdpWorker> worker_;
  std::thread broker_thread_, worker_thread_;
  std::string frontend_;
  zmq::socket_t client_{ctx_, zmq::socket_type::dealer};
};

void BM_BrokerThroughput(benchmark::State& state) {
  EchoPool pool(8);
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
  EchoPool pool(1);
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
