#include "worker/cli/hash_command.h"

#include <fstream>
#include <iostream>
#include <memory>
#include <set>

#include <spdlog/spdlog.h>

#include "kernels/pdq_backend.h"
#include "worker/cli/file_walker.h"
#include "worker/cli/ordered_runner.h"
#include "worker/cli/progress.h"
#include "worker/options/program_options.h"
#include "worker/media/device.h"
#include "ipc/common/json_text.h"

namespace frameprint::cli {

namespace fs = std::filesystem;

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
  if (matcher && r.has_hashes()) j["matches"] = matcher->matches(MatchQuery::from_result(r));
  return json_text(j);
}

// Writes results in input order, as they complete.
class ResultWriter {
 public:
  explicit ResultWriter(const HashCommand& cmd) : cmd_(cmd) {}

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
    backend_choice = choose_device(device);
    match.cuda_device = backend_choice.cuda_device;  // lists are searched where we hash
    matcher = load_matcher(match);
  } catch (const std::exception& e) {
    std::cerr << "frameprint hash: " << e.what() << '\n';
    return 1;
  }
  if (!backend_choice.notice.empty()) spdlog::info("{}", backend_choice.notice);
  const std::vector<InputFile> inputs = expand_inputs(paths);
  if (format == "vpdq" && output_dir.empty() && inputs.size() != 1) {
    std::cerr << "frameprint hash: --format vpdq to stdout needs exactly one input file; give --output-dir\n";
    return 1;
  }
  options.decoder_threads = threads;

  Progress progress(inputs.size());
  ResultWriter writer(*this);
  bool all_ok = true;
  auto make_task = [&]() -> std::function<MediaResult(size_t)> {
    std::shared_ptr<pdq::PdqBackend> backend = backend_choice.make();  // one per thread
    return [this, &inputs, backend](size_t i) {
      const InputFile& in = inputs[i];
      if (in.problem.empty()) return hash_file(in.file, in.display, options, *backend);
      MediaResult r;
      r.path = in.display;
      r.error = MediaError(ErrorCode::kIoError, in.problem);
      return r;
    };
  };
  run_ordered<MediaResult>(inputs.size(), jobs, static_cast<size_t>(jobs) * 4, make_task,
                           [&](MediaResult&& r) {
                             const bool ok = writer.write(r);
                             all_ok &= ok;
                             progress.advance(!ok);
                           });
  return all_ok ? 0 : 2;
}

}  // namespace

std::function<int()> add_hash_command(CLI::App& app) {
  auto cmd = std::make_shared<HashCommand>();
  CLI::App* sub = app.add_subcommand("hash", "Hash images and videos (PDQ / vPDQ, MD5, SHA-256)");
  sub->add_option("paths", cmd->paths, "Files or directories (searched recursively)")->required();
  options::add_hashing_options(*sub, cmd->options);
  options::add_match_options(*sub, cmd->match);
  sub->add_option("--format", cmd->format, "Output: jsonl (one JSON object per file) or vpdq")
      ->check(CLI::IsMember({"jsonl", "vpdq"}))
      ->capture_default_str();
  options::add_device_option(*sub, cmd->device);
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
