#include "worker/cli/hash_command.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include "kernels/pdq_backend.h"
#include "worker/cli/file_walker.h"
#include "worker/cli/match_command.h"
#include "worker/cli/progress.h"
#include "worker/device.h"

namespace frameprint::cli {

namespace fs = std::filesystem;

void add_hashing_options(CLI::App& cmd, HashOptions& o) {
  cmd.add_option("--seconds-per-hash", o.seconds_per_hash,
                 "Hash the first frame at or after every S seconds of video; 0 hashes every frame")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd.add_flag("--dihedral", o.dihedral, "Also output the 7 rotated/flipped variants of each hash");
  cmd.add_flag("!--no-exif-orientation", o.exif_orientation,
               "Hash images as stored, ignoring their EXIF orientation");
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

namespace {

struct HashCommand {
  HashOptions options;
  std::vector<std::string> paths;
  std::string format = "jsonl";
  std::string output_dir;
  int jobs = 1;
  int threads = 1;
  MatchOptions match;
  std::shared_ptr<const Matcher> matcher;
  std::string device = "auto";

  int run();
};

std::string json_line(const MediaResult& r, const Matcher* matcher) {
  auto j = to_json(r);
  if (matcher && r.ok()) j["matches"] = matcher->matches(MatchQuery::from_result(r));
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Writes results in input order, as they complete.
class ResultWriter {
 public:
  ResultWriter(const HashCommand& cmd, size_t total) : cmd_(cmd), total_(total) {}

  // Returns false when the result is a failure.
  bool write(const MediaResult& r) {
    if (cmd_.format == "jsonl") {
      std::cout << json_line(r, cmd_.matcher.get()) << '\n' << std::flush;
      return r.ok();
    }
    // vpdq
    if (!r.ok()) {
      std::cerr << r.path << ": " << error_code_name(r.error->code()) << ": " << r.error->what() << '\n';
      return false;
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

  const HashCommand& cmd_;
  size_t total_;
  std::set<std::string> used_;
};

int HashCommand::run() {
  if (format == "vpdq" && output_dir.empty() && paths.size() != 1) {
    std::cerr << "frameprint hash: --format vpdq writes to stdout for one video only; give --output-dir for several\n";
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
    matcher = load_matcher(match);
    backend_choice = choose_device(device);
  } catch (const std::exception& e) {
    std::cerr << "frameprint hash: " << e.what() << '\n';
    return 1;
  }
  if (!backend_choice.notice.empty()) spdlog::info("{}", backend_choice.notice);
  options.limits.nvdec_device = backend_choice.nvdec_device;
  const std::vector<InputFile> inputs = expand_inputs(paths);
  if (format == "vpdq" && output_dir.empty() && inputs.size() != 1) {
    std::cerr << "frameprint hash: --format vpdq to stdout needs exactly one input file; give --output-dir\n";
    return 1;
  }
  options.limits.threads = threads;

  const size_t n = inputs.size();
  const size_t window = static_cast<size_t>(jobs) * 4;
  std::vector<std::optional<MediaResult>> slots(n);
  std::mutex mu;
  std::condition_variable cv;
  size_t written = 0;
  std::atomic<size_t> next{0};

  auto work = [&] {
    auto backend = backend_choice.make();
    for (;;) {
      const size_t i = next.fetch_add(1);
      if (i >= n) return;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return i < written + window; });  // bounded look-ahead
      }
      const InputFile& in = inputs[i];
      MediaResult r;
      if (!in.problem.empty()) {
        r.path = in.display;
        r.error = MediaError(ErrorCode::kIoError, in.problem);
      } else {
        r = hash_file(in.file, in.display, options, *backend);
      }
      std::lock_guard lock(mu);
      slots[i] = std::move(r);
      cv.notify_all();
    }
  };

  std::vector<std::jthread> pool;
  const int workers = std::max(1, std::min<int>(jobs, static_cast<int>(n)));
  for (int t = 0; t < workers; ++t) pool.emplace_back(work);

  Progress progress(n);
  ResultWriter writer(*this, n);
  bool all_ok = true;
  try {
    for (size_t i = 0; i < n; ++i) {
      MediaResult r;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return slots[i].has_value(); });
        r = std::move(*slots[i]);
        slots[i].reset();
        written = i + 1;
        cv.notify_all();
      }
      const bool ok = writer.write(r);
      all_ok &= ok;
      progress.advance(!ok);
    }
  } catch (...) {
    // Release the workers (no more look-ahead limit, no new files) so the
    // pool can be joined, then report the failure.
    next = n;
    {
      std::lock_guard lock(mu);
      written = n + window;
    }
    cv.notify_all();
    throw;
  }
  return all_ok ? 0 : 2;
}

}  // namespace

std::function<int()> add_hash_command(CLI::App& app) {
  auto cmd = std::make_shared<HashCommand>();
  CLI::App* sub = app.add_subcommand("hash", "Hash images and videos (PDQ / vPDQ, MD5, SHA-256)");
  sub->add_option("paths", cmd->paths, "Files or directories (searched recursively)")->required();
  add_hashing_options(*sub, cmd->options);
  add_match_options(*sub, cmd->match);
  sub->add_option("--format", cmd->format, "Output: jsonl (one JSON object per file) or vpdq")
      ->check(CLI::IsMember({"jsonl", "vpdq"}))
      ->capture_default_str();
  sub->add_option("--device", cmd->device, "auto, cpu, cuda or cuda:N (auto: a GPU when one is usable)")
      ->capture_default_str();
  sub->add_option("--output-dir", cmd->output_dir, "With --format vpdq: write <stem>.txt per video here");
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
