// The broker on sockets: a ROUTER for clients (frontend) and one for workers
// (backend), polled by one thread that feeds the Broker state machine.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <zmq.hpp>

#include "ipc/broker.h"
#include "ipc/curve.h"

namespace frameprint {

struct BrokerServerConfig {
  // CURVE: the broker's key pair and the directories of allowed clients'
  // and workers' public keys. Without keys the sockets are plaintext.
  curve::KeyPair keys;
  std::string allow_clients, allow_workers;
  std::string frontend = "tcp://127.0.0.1:5555";
  std::string backend = "tcp://127.0.0.1:5556";
  std::string metrics;  // HOST:PORT for Prometheus; empty: none
  // Per message; larger ones are dropped by ZeroMQ (and the connection with
  // them). Sized to the largest job (the worker's default --max-bytes,
  // 256 MiB) plus room for the header.
  int64_t max_message_bytes = (int64_t{256} << 20) + (int64_t{1} << 20);
  int send_hwm = 1000;  // messages queued per peer, each way
  BrokerConfig broker;
};

class BrokerServer {
 public:
  BrokerServer(zmq::context_t& ctx, BrokerServerConfig config);
  ~BrokerServer();

  // The endpoints actually bound (ports resolved when asked for tcp://host:*).
  std::string frontend_endpoint() const;
  std::string backend_endpoint() const;

  // Serves until `stop` becomes true or `stop_fd` (if >= 0) is readable.
  // When `reload_fd` (if >= 0) is readable, the allow-lists are read again.
  void run(const std::atomic<bool>& stop, int stop_fd = -1, int reload_fd = -1);
  // Reads the allow-lists again; a list that fails to load keeps the old
  // one. Returns false then.
  bool reload();

  BrokerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace frameprint
