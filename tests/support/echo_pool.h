// A broker on TCP loopback and, when asked, an MdpWorker in the same process
// that answers every job with its own body: for tests and benchmarks of the
// broker's clients. Header-only, so that benchmarks need only frameprint_ipc.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "ipc/broker_server.h"
#include "ipc/common/unique_fd.h"
#include "ipc/mdp_worker.h"

namespace frameprint::testing {

class EchoPool {
 public:
  // worker_slots 0: the broker alone, so nothing is ever answered.
  explicit EchoPool(int worker_slots, std::string service = std::string(mdp::kHashService)) {
    BrokerServerConfig bc;
    bc.frontend = "tcp://127.0.0.1:*";
    bc.backend = "tcp://127.0.0.1:*";
    broker_ = std::make_unique<BrokerServer>(ctx_, bc);
    broker_thread_ = std::thread([this] { broker_->run(stop_); });
    if (worker_slots == 0) return;
    MdpWorkerConfig wc;
    wc.endpoint = broker_->backend_endpoint();
    wc.service = std::move(service);
    wc.slots = worker_slots;
    worker_ = std::make_unique<MdpWorker>(ctx_, wc);
    worker_thread_ = std::thread([this] {
      worker_->run(
          [this](MdpJob job) { worker_->complete(job.slot, job.ticket, std::move(job.body)); },
          stop_fd_.get());
    });
  }
  EchoPool(const EchoPool&) = delete;
  EchoPool& operator=(const EchoPool&) = delete;
  ~EchoPool() {
    if (worker_) {
      const uint64_t one = 1;
      (void)!::write(stop_fd_.get(), &one, sizeof one);
      worker_thread_.join();
    }
    stop_ = true;
    broker_thread_.join();
  }

  std::string frontend() const { return broker_->frontend_endpoint(); }
  zmq::context_t& context() { return ctx_; }

 private:
  zmq::context_t ctx_;
  std::atomic<bool> stop_{false};
  UniqueFd stop_fd_{::eventfd(0, EFD_CLOEXEC)};
  std::unique_ptr<BrokerServer> broker_;
  std::unique_ptr<MdpWorker> worker_;
  std::thread broker_thread_, worker_thread_;
};

}  // namespace frameprint::testing
