#include "worker/options/program_options.h"

namespace frameprint::options {

void add_hashing_options(CLI::App& cmd, HashOptions& o) {
  cmd.add_option("--seconds-per-hash", o.seconds_per_hash,
                 "Hash the first frame at or after every S seconds of video; 0 hashes every frame")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd.add_flag("--dihedral", o.dihedral, "Also output the 7 rotated/flipped variants of each hash");
  cmd.add_flag("!--no-exif-orientation", o.exif_orientation,
               "Hash images as stored, ignoring their EXIF orientation");
  cmd.add_flag("--exact", o.exact_stills,
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
  cmd.add_option("--list", o.lists, "Hash list to match against, TYPE:PATH with TYPE pdq, vpdq, md5 or sha256 (repeatable)")
      ->allow_extra_args(false);
  cmd.add_option("--threshold", o.rules.threshold, "PDQ match when the Hamming distance is at most this")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  cmd.add_option("--min-quality", o.rules.min_quality, "Hashes below this quality (either side) are not compared")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  cmd.add_option("--video-match-pct", o.rules.video_match_pct, "vPDQ: share of the listed video's frames matched")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  cmd.add_option("--query-match-pct", o.rules.query_match_pct, "vPDQ: share of the query video's frames matched")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  cmd.add_flag("--unique-frames", o.rules.unique_frames,
               "vPDQ: count repeated frame hashes once (the reference counts every frame)");
}

void add_device_option(CLI::App& cmd, std::string& device) {
  cmd.add_option("--device", device, "auto, cpu, cuda or cuda:N (auto: a GPU when one is usable)")
      ->capture_default_str();
}

}  // namespace frameprint::options
