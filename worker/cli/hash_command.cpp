#include "worker/cli/hash_command.h"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>

#include <spdlog/spdlog.h>

#include "ipc/common/json_text.h"
#include "kernels/pdq_backend.h"
#include "worker/cli/file_walker.h"
#include "worker/cli/ordered_runner.h"
#include "worker/cli/progress.h"
#include "worker/media/device.h"
#include "worker/options/program_options.h"

namespace frameprint::cli {

namespace fs = std::filesystem;

namespace {

struct HashCommand {
  HashOptions options;
  InputArgs input_args;
  uint64_t max_bytes = uint64_t{1} << 30;  // standard input
  std::string format = "jsonl";
  std::string output_dir;
  int jobs = 1;
  int threads = 1;
  MatchOptions match;
  std::shared_ptr<const Matcher> matcher;
  std::string device = "auto";
  bool matches_only = false;

  int run();
  MediaResult hash_stdin(pdq::PdqBackend& backend) const;
};

// A timestamp as the JSON output gives it: microseconds, shortest form.
std::string seconds_text(double ts) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, std::round(ts * 1e6) / 1e6);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(ts);
}

// A CSV field, quoted when it must be (RFC 4180).
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

const char kCsvHeader[] = "path,kind,index,ts,quality,pdq,md5,sha1,sha256";

// One row per hashed frame (an image has one).
std::string csv_rows(const MediaResult& r) {
  std::string out;
  const std::string head =
      csv_field(r.path) + "," + (r.kind == MediaKind::kImage ? "image" : "video") + ",";
  for (const FrameHash& f : r.frames)
    out += head + std::to_string(f.index) + "," + seconds_text(f.ts) + "," +
           std::to_string(f.quality) + "," + f.pdq.to_hex() + "," + r.md5 + "," + r.sha1 + "," +
           r.sha256 + "\n";
  return out;
}

// What `threatexchange hash` prints: `pdq <hex>` for a photo; for a video
// `video_md5 <hex>`, `video_sha256 <hex>` and, as with its vpdq extension,
// `vpdq <json>` (python-threatexchange's list of "hex,quality,timestamp").
std::string te_lines(const MediaResult& r) {
  if (r.kind == MediaKind::kImage)
    return r.frames.empty() ? "" : "pdq " + r.frames[0].pdq.to_hex() + "\n";
  return "video_md5 " + r.md5 + "\nvideo_sha256 " + r.sha256 + "\nvpdq " +
         to_vpdq_signal(r.frames) + "\n";
}

// Writes results in input order, as they complete.
class ResultWriter {
 public:
  explicit ResultWriter(const HashCommand& cmd) : cmd_(cmd) {
    if (cmd_.format == "csv") std::cout << kCsvHeader << '\n' << std::flush;
  }

  // Returns false when the result is a failure; `matches` receives how
  // many matches it has (-1 without lists).
  bool write(const MediaResult& r, int& matches) {
    matches = -1;
    if (cmd_.format == "jsonl") {
      const auto j = result_json(r, cmd_.matcher.get());
      if (cmd_.matcher) matches = j.contains("matches") ? static_cast<int>(j["matches"].size()) : 0;
      if (cmd_.matches_only && matches <= 0) {  // a failure is still said, on stderr
        if (!r.ok()) report_failure(r);
        return r.ok();
      }
      std::cout << json_text(j) << '\n' << std::flush;
      return r.ok();
    }
    // Text formats: failures are reported on stderr.
    if (!r.ok()) {
      report_failure(r);
      return false;
    }
    if (cmd_.format == "te") {
      std::cout << te_lines(r) << std::flush;
      return true;
    }
    if (cmd_.format == "csv") {
      std::cout << csv_rows(r) << std::flush;
      return true;
    }
    if (cmd_.output_dir.empty()) {
      std::cout << to_vpdq_text(r) << std::flush;
      return true;
    }
    if (r.kind != MediaKind::kVideo) {
      spdlog::info("{}: an image, no vPDQ file written", r.path);
      return true;
    }
    const fs::path out = unique_name(fs::path(r.path).stem().string());
    std::ofstream f(out);
    f << to_vpdq_text(r);
    f.close();
    if (!f) {
      std::cerr << r.path << ": cannot write " << out.string() << '\n';
      return false;
    }
    return true;
  }

 private:
  fs::path unique_name(const std::string& stem) {
    std::string name = stem;
    for (int n = 2; used_.count(name); ++n) name = stem + "-" + std::to_string(n);
    if (name != stem) spdlog::warn("two inputs named {}: writing {}.txt", stem, name);
    used_.insert(name);
    return fs::path(cmd_.output_dir) / (name + ".txt");
  }

  static void report_failure(const MediaResult& r) {
    std::cerr << r.path << ": " << error_code_name(r.error->code()) << ": " << r.error->what()
              << '\n';
  }

  const HashCommand& cmd_;
  std::set<std::string> used_;
};

// "-": one file's bytes from standard input, at most --max-bytes of them.
MediaResult HashCommand::hash_stdin(pdq::PdqBackend& backend) const {
  std::vector<uint8_t> bytes;
  try {
    bytes = read_to_end(STDIN_FILENO, max_bytes);
  } catch (const MediaError& e) {
    MediaResult r;
    r.error = e;
    r.path = "-";
    return r;
  }
  return hash_bytes(bytes, "-", options, backend);
}

int HashCommand::run() {
  if (!output_dir.empty() && format != "vpdq") {
    std::cerr << "frameprint hash: --output-dir goes with --format vpdq\n";
    return 1;
  }
  if (matches_only && match.lists.empty()) {
    std::cerr << "frameprint hash: --matches-only goes with --list\n";
    return 1;
  }
  if (!match.lists.empty() && format != "jsonl") {
    std::cerr << "frameprint hash: matches are written with --format jsonl only; match later with "
                 "frameprint match\n";
    return 1;
  }
  std::vector<InputFile> inputs;
  try {
    inputs = gather_inputs(input_args);
  } catch (const std::exception& e) {
    std::cerr << "frameprint hash: " << e.what() << '\n';
    return 1;
  }
  if (format == "vpdq" && output_dir.empty() && inputs.size() != 1) {
    std::cerr << "frameprint hash: --format vpdq to stdout needs exactly one input file; give "
                 "--output-dir\n";
    return 1;
  }
  if (!output_dir.empty()) {
    std::error_code ec;
    fs::create_directories(output_dir, ec);
    if (ec) {
      std::cerr << "frameprint hash: cannot create " << output_dir << ": " << ec.message() << '\n';
      return 1;
    }
  }
  DeviceChoice backend_choice;
  try {
    backend_choice = choose_device(device);
    match.cuda_device = backend_choice.cuda_device;  // lists are searched where we hash
    matcher = load_matcher(match);
  } catch (const std::exception& e) {
    std::cerr << "frameprint hash: " << e.what() << '\n';
    return 1;
  }
  if (!backend_choice.notice.empty()) spdlog::info("{}", backend_choice.notice);
  options.decoder_threads = threads;
  options.for_matching = matcher != nullptr;

  Progress progress(inputs.size(), "frameprint hash");
  ResultWriter writer(*this);
  bool all_ok = true;
  auto make_task = [&]() -> std::function<MediaResult(size_t)> {
    std::shared_ptr<pdq::PdqBackend> backend = backend_choice.make();  // one per thread
    return [this, &inputs, backend](size_t i) {
      const InputFile& in = inputs[i];
      if (in.from_stdin) return hash_stdin(*backend);
      if (in.problem.empty()) return hash_file(in.file, in.display, options, *backend);
      MediaResult r;
      r.path = in.display;
      r.error = MediaError(ErrorCode::kIoError, in.problem);
      return r;
    };
  };
  run_ordered<MediaResult>(inputs.size(), jobs, static_cast<size_t>(jobs) * 4, make_task,
                           [&](MediaResult&& r) {
                             int matches = -1;
                             const bool ok = writer.write(r, matches);
                             all_ok &= ok;
                             progress.advance(!ok, matches);
                           });
  return all_ok ? 0 : 2;
}

}  // namespace

std::function<int()> add_hash_command(CLI::App& app) {
  auto cmd = std::make_shared<HashCommand>();
  CLI::App* sub = app.add_subcommand("hash", "Hash images and videos (PDQ / vPDQ, MD5, SHA-256)");
  add_input_options(*sub, cmd->input_args);
  sub->add_option("--max-bytes", cmd->max_bytes, "Largest input read from standard input (-)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  options::add_hashing_options(*sub, cmd->options);
  options::add_match_options(*sub, cmd->match);
  sub->add_option("--format", cmd->format,
                  "Output: jsonl (one JSON object per file), vpdq (the reference's lines), te "
                  "(threatexchange CLI "
                  "lines) or csv (one row per frame)")
      ->check(CLI::IsMember({"jsonl", "vpdq", "te", "csv"}))
      ->capture_default_str();
  options::add_device_option(*sub, cmd->device);
  sub->add_flag("--matches-only", cmd->matches_only,
                "With --list: print only the results that matched (failures still go to stderr, "
                "and the summary line counts everything)");
  sub->add_option("--output-dir", cmd->output_dir,
                  "With --format vpdq: write <stem>.txt per video here");
  sub->add_option("-j,--jobs", cmd->jobs, "Files hashed in parallel")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  sub->add_option("--threads", cmd->threads,
                  "Decoder threads per video; 0 lets FFmpeg choose. One thread per file and "
                  "--jobs for parallelism uses the CPU best")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  return [cmd, sub]() -> int { return cmd->run(); };
}

}  // namespace frameprint::cli
