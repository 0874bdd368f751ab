// Command-line flags that more than one program takes, defined once so that
// `frameprint hash`, `frameprint submit` and `frameprint-worker` spell and
// check them alike.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "ipc/curve.h"
#include "ipc/jetstream.h"
#include "worker/matching/match_options.h"
#include "worker/media/media_hasher.h"

namespace frameprint::options {

// --seconds-per-hash, --dihedral, --no-exif-orientation, --exact,
// --no-autorotate, --max-pixels, --max-frames, --max-seconds.
void add_hashing_options(CLI::App& cmd, HashOptions& options);

// --list (repeatable), --allow-empty-list, --max-list-bytes, --threshold,
// --min-quality, --video-match-pct, --query-match-pct, --unique-frames.
void add_match_options(CLI::App& cmd, MatchOptions& options);

// How a program reaches the broker: --curve-key PATH.key, --broker-key
// BROKER.pub, --insecure.
struct TransportOptions {
  std::string curve_key, broker_key;
  bool insecure = false;
};
void add_transport_options(CLI::App& cmd, TransportOptions& options);
// The CURVE keys to use towards `endpoint`. Throws std::invalid_argument
// for half-given keys, or a non-loopback endpoint without keys or
// --insecure; std::runtime_error for unreadable key files.
curve::ClientKeys transport_keys(const TransportOptions& options, const std::string& endpoint);

// How a program reaches NATS JetStream instead of the broker (issue 23):
// --nats URLS, --nats-creds, --nats-nkey, --nats-user with
// --nats-password-file, --nats-tls-ca, --nats-tls-cert/--nats-tls-key.
struct NatsOptions {
  std::string urls;
  jetstream::ConnectSettings settings;
};
// `urls_help` says what --nats does in this program; `group` groups the rest in --help.
void add_nats_options(CLI::App& cmd, NatsOptions& options, const std::string& urls_help);
// A NATS producer's --producer NAME and --max-job-bytes N (help texts per program).
void add_nats_producer_options(CLI::App& cmd, std::string& producer, int64_t& max_job_bytes,
                               const std::string& producer_help, const std::string& size_help);
// The connection settings (URLs split, --insecure from the transport flags).
jetstream::ConnectSettings nats_settings(const NatsOptions& options, const TransportOptions& t,
                                         const std::string& name);

// --device auto|cpu|cuda|cuda:N.
void add_device_option(CLI::App& cmd, std::string& device);

}  // namespace frameprint::options
