#include "worker/cli/queue_command.h"

#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>

#include "ipc/jetstream.h"
#include "worker/options/program_options.h"

namespace frameprint::cli {

namespace {

// Exit status when the servers cannot be reached or refuse us (as submit's).
constexpr int kExitNoServer = 3;

struct QueueCommand {
  options::NatsOptions nats;
  options::TransportOptions transport;
  jetstream::QueueConfig config;
  int64_t results_max_age_s = 7 * 24 * 3600;
  int64_t dead_max_age_s = 30 * 24 * 3600;
  int64_t duplicates_s = 2 * 3600;
  double ack_wait_s = 30;
  double connect_timeout_s = 10;
  CLI::App* init = nullptr;
  CLI::App* status = nullptr;

  int run() {
    try {
      auto settings = options::nats_settings(nats, transport, "frameprint queue");
      settings.connect_timeout =
          std::chrono::milliseconds(static_cast<int64_t>(connect_timeout_s * 1000));
      jetstream::Connection c(settings);
      if (init->parsed()) {
        config.results_max_age = std::chrono::seconds(results_max_age_s);
        config.dead_max_age = std::chrono::seconds(dead_max_age_s);
        config.duplicates = std::chrono::seconds(duplicates_s);
        config.ack_wait = std::chrono::milliseconds(static_cast<int64_t>(ack_wait_s * 1000));
        std::cout << jetstream::init_queue(c, config).dump(2) << '\n';
      } else {
        std::cout << jetstream::queue_status(c).dump(2) << '\n';
      }
      return 0;
    } catch (const jetstream::NatsError& e) {
      std::cerr << "frameprint queue: " << e.what() << '\n';
      return kExitNoServer;
    } catch (const std::exception& e) {
      std::cerr << "frameprint queue: " << e.what() << '\n';
      return 1;
    }
  }
};

}  // namespace

std::function<int()> add_queue_command(CLI::App& app) {
  auto cmd = std::make_shared<QueueCommand>();
  CLI::App* q = app.add_subcommand(
      "queue", "Set up or inspect the pool's NATS JetStream queue (docs/scale.md)");
  q->require_subcommand(1);
  auto common = [&](CLI::App* sub) {
    options::add_nats_options(*sub, cmd->nats, "NATS server URLs, comma-separated");
    sub->get_option("--nats")->required();
    sub->add_flag("--insecure", cmd->transport.insecure,
                  "Connect to non-loopback servers without TLS and credentials anyway");
    sub->add_option("--connect-timeout", cmd->connect_timeout_s,
                    "Seconds to wait for a server (exit 3 past it)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
  };
  cmd->init = q->add_subcommand(
      "init",
      "Create or update the jobs, results and dead-letter streams and the workers' consumer "
      "(idempotent); prints what it did as JSON");
  common(cmd->init);
  auto& c = cmd->config;
  cmd->init->add_option("--replicas", c.replicas, "Copies of each stream (3 in a cluster)")
      ->check(CLI::Range(1, 5))
      ->capture_default_str();
  cmd->init
      ->add_option("--max-bytes", c.max_bytes,
                   "Bytes of jobs queued at most; past it new jobs are refused, not "
                   "queued ones dropped")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->init->add_option("--max-jobs", c.max_msgs, "Jobs queued at most (refused past it)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->init
      ->add_option("--max-job-bytes", c.max_job_bytes,
                   "Largest job message (header + inline bytes); the servers' max_payload "
                   "must be at least this")
      ->check(CLI::Range(4096, 64 << 20))
      ->capture_default_str();
  cmd->init
      ->add_option("--results-max-age", cmd->results_max_age_s,
                   "Seconds a result is kept for its producer")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->init->add_option("--dead-max-age", cmd->dead_max_age_s, "Seconds a dead letter is kept")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->init
      ->add_option("--duplicates", cmd->duplicates_s,
                   "Seconds within which a job or result sent again under the same id is "
                   "stored once (longer than a job's longest retry)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->init
      ->add_option("--ack-wait", cmd->ack_wait_s,
                   "Seconds a job may sit in a worker's hands without news (workers send "
                   "progress three times per period) before it is given to another")
      ->check(CLI::Range(0.3, 3600.0))
      ->capture_default_str();
  cmd->init
      ->add_option("--max-in-progress", c.max_ack_pending,
                   "Jobs in workers' hands at once, across all workers")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->init->add_option("--producer", c.producers,
                        "Make this producer's results consumer now (for servers whose "
                        "permissions do not let producers make it; repeatable)");
  cmd->status = q->add_subcommand(
      "status", "Print depth, pending, in progress, redelivered and dead-lettered as JSON");
  common(cmd->status);
  return [cmd]() -> int { return cmd->run(); };
}

}  // namespace frameprint::cli
