#include "worker/options/program_options.h"

#include <spdlog/spdlog.h>

namespace frameprint::options {

void add_hashing_options(CLI::App& cmd, HashOptions& o) {
  cmd.add_option("--seconds-per-hash", o.seconds_per_hash,
                 "Hash the first frame at or after every S seconds of video; 0 hashes every frame")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd.add_flag("--dihedral", o.dihedral, "Also output the 7 rotated/flipped variants of each hash");
  cmd.add_option("--match-seconds-per-hash", o.match_seconds_per_hash,
                 "With lists: video frames are also hashed every S seconds for matching only "
                 "(not printed); 0 = every frame (denser finds more copies of sparse lists, at "
                 "more CPU: benchmarks/RESULTS.md)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd.add_option("--match-decoded-fps", o.match_decoded_fps,
                 "With lists: video frames the decoder decodes anyway (reference frames) are "
                 "also hashed for matching, up to N a second; 0 = none")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd.add_flag("!--no-exif-orientation", o.exif_orientation,
               "Hash images as stored, ignoring their EXIF orientation");
  cmd.add_flag(
      "--exact", o.exact_stills,
      "Hash still images exactly as Meta's reference does (colour decode, its box filter): "
      "bit-identical on lossless files; about three times the CPU of the default on JPEG photos");
  cmd.add_flag("!--no-autorotate", o.autorotate,
               "Hash videos as stored, ignoring their rotation metadata (display matrix)");
  cmd.add_option("--max-pixels", o.limits.max_pixels, "Largest image or video frame, in pixels")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd.add_option("--max-frames", o.limits.max_frames, "Most frames decoded from one video")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd.add_option("--max-seconds", o.limits.max_seconds, "Longest time spent decoding one file")
      ->check(CLI::Range(0.001, 1e6))
      ->capture_default_str();
}

void add_match_options(CLI::App& cmd, MatchOptions& o) {
  cmd.add_option("--list", o.lists,
                 "Hash list to match against (repeatable): TYPE:PATH, TYPE:FORMAT:PATH, "
                 "FORMAT:PATH or auto:PATH; "
                 "TYPE pdq, vpdq, md5, sha1, sha256 (video_md5, video_sha256); FORMAT auto, plain, "
                 "te, te-csv, "
                 "pdq-hasher, vpdq, vpdq-json (docs/output.md)")
      ->allow_extra_args(false);
  cmd.add_flag("--allow-empty-list", o.allow_empty_list,
               "Accept a list with no usable entry (otherwise an error)");
  cmd.add_option("--max-list-bytes", o.max_list_bytes, "Largest list file read")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd.add_option("--threshold", o.rules.threshold,
                 "PDQ match when the Hamming distance is at most this")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  cmd.add_option("--min-quality", o.rules.min_quality,
                 "Hashes below this quality (either side) are not compared")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  cmd.add_option("--vpdq-rule", o.vpdq_rule,
                 "vPDQ: how a video matches a listed video: time (default: shares of each "
                 "video's duration, --query-coverage-pct/--listed-coverage-pct), pytx "
                 "(python-threatexchange's frame counts: unique hashes, >= 80% of the query's "
                 "frames), frames (the reference's: --video-match-pct/--query-match-pct)")
      ->check(CLI::IsMember({"time", "pytx", "frames"}));
  cmd.add_option("--query-coverage-pct", o.rules.query_coverage_pct,
                 "vPDQ by time: a match when this share of the query's duration is matched "
                 "(or the listed share below is)")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  cmd.add_option("--listed-coverage-pct", o.rules.listed_coverage_pct,
                 "vPDQ by time: a match when this share of the listed video's duration is "
                 "matched (or the query's share above is)")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  cmd.add_option("--relaxed-threshold", o.rules.relaxed_threshold,
                 "vPDQ by time: distance accepted for a frame in line with matched neighbours")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  cmd.add_flag("--loose-search", o.rules.loose_search,
               "vPDQ by time: also search each printed frame to --relaxed-threshold, to find "
               "copies with an overlay on every frame (several times the search cost)");
  cmd.add_option("--video-match-pct", o.video_match_pct,
                 "vPDQ by frames: share of the listed video's frames matched (80; pytx: 0)")
      ->check(CLI::Range(0.0, 100.0));
  cmd.add_option("--query-match-pct", o.query_match_pct,
                 "vPDQ by frames: share of the query video's frames matched (0; pytx: 80)")
      ->check(CLI::Range(0.0, 100.0));
  cmd.add_flag("--unique-frames", o.unique_frames,
               "vPDQ by frames: count repeated frame hashes once (pytx does; the reference counts "
               "every frame)");
}

void add_transport_options(CLI::App& cmd, TransportOptions& o) {
  cmd.add_option("--curve-key", o.curve_key,
                 "Our CURVE secret key file (frameprint keygen), to encrypt and authenticate");
  cmd.add_option("--broker-key", o.broker_key,
                 "The broker's public key file (.pub): only that broker is trusted");
  cmd.add_flag("--insecure", o.insecure,
               "Without keys, connect to non-loopback endpoints in plaintext anyway");
}

curve::ClientKeys transport_keys(const TransportOptions& o, const std::string& endpoint) {
  curve::ClientKeys keys = curve::ClientKeys::load(o.curve_key, o.broker_key);
  curve::check_exposure(endpoint, keys.enabled(), o.insecure);
  if (!keys.enabled() && o.insecure)
    spdlog::warn("no --curve-key: media and results cross the network in plaintext (--insecure)");
  return keys;
}

void add_nats_producer_options(CLI::App& cmd, std::string& producer, int64_t& max_job_bytes,
                               const std::string& producer_help, const std::string& size_help) {
  cmd.add_option("--producer", producer, producer_help)->group("NATS JetStream");
  cmd.add_option("--max-job-bytes", max_job_bytes, size_help)
      ->check(CLI::PositiveNumber)
      ->capture_default_str()
      ->group("NATS JetStream");
}

void add_nats_options(CLI::App& cmd, NatsOptions& o, const std::string& urls_help) {
  cmd.add_option("--nats", o.urls, urls_help);
  const std::string g = "NATS JetStream";
  auto& s = o.settings;
  cmd.add_option("--nats-creds", s.creds_file, "NATS credentials file (.creds: JWT and NKey seed)")
      ->group(g);
  cmd.add_option("--nats-nkey", s.nkey_seed_file, "File holding this client's NKey seed")->group(g);
  cmd.add_option("--nats-user", s.user, "NATS user name (with --nats-password-file)")->group(g);
  cmd.add_option("--nats-password-file", s.password_file, "File holding the NATS password")
      ->group(g);
  cmd.add_option("--nats-tls-ca", s.tls_ca, "CA certificate(s) that sign the NATS servers' TLS")
      ->group(g);
  cmd.add_option("--nats-tls-cert", s.tls_cert, "Client certificate for TLS (optional)")->group(g);
  cmd.add_option("--nats-tls-key", s.tls_key, "Client certificate's key")->group(g);
}

jetstream::ConnectSettings nats_settings(const NatsOptions& o, const TransportOptions& t,
                                         const std::string& name) {
  jetstream::ConnectSettings s = o.settings;
  s.urls = jetstream::split_urls(o.urls);
  s.insecure = t.insecure;
  s.name = name;
  return s;
}

void add_device_option(CLI::App& cmd, std::string& device) {
  cmd.add_option("--device", device, "auto, cpu, cuda or cuda:N (auto: a GPU when one is usable)")
      ->capture_default_str();
}

}  // namespace frameprint::options
