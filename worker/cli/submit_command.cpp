#include "worker/cli/submit_command.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <set>
#include <unordered_map>
#include <variant>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "ipc/common/json_text.h"
#include "ipc/common/unique_fd.h"
#include "ipc/jetstream.h"
#include "ipc/producer.h"
#include "worker/cli/file_walker.h"
#include "worker/cli/progress.h"
#include "worker/media/media_error.h"
#include "worker/media/media_source.h"
#include "worker/options/program_options.h"
#include "worker/pool/job_header.h"

namespace frameprint::cli {

namespace fs = std::filesystem;

namespace {

// The broker could not be reached or refused this client: nothing was hashed.
constexpr int kExitNoBroker = 3;

struct SubmitCommand {
  std::string broker;
  InputArgs input_args;
  bool by_path = false;
  std::string urls_from;  // URL jobs, one URL per line ("-": standard input)
  double timeout_s = 120;
  double connect_timeout_s = 10;
  int retries = 3;
  int window = 16;
  uint64_t window_bytes = uint64_t{1} << 30;
  uint64_t max_bytes = uint64_t{256} << 20;
  std::string output;
  HashOptions options;
  options::TransportOptions transport;
  options::NatsOptions nats;
  std::string producer;  // NATS: this producer's name (subjects, results consumer)
  int64_t max_job_bytes = (8 << 20) + 65536;

  int run();
};

// NATS: a producer name that is the same when the same --output is resumed
// on the same host (its results consumer then still holds the results of a
// run that died), and distinct otherwise.
std::string default_producer(const std::string& output) {
  std::error_code ec;
  return jetstream::producer_name("submit", !output.empty() ? fs::absolute(output, ec).string()
                                                            : std::to_string(::getpid()) + ":" +
                                                                  std::to_string(::time(nullptr)));
}

// Whether a result settles its input: transient failures (no reply in time,
// a full queue, an internal error) are tried again when resuming.
bool answered(const nlohmann::json& r) {
  if (!r.contains("status") || !r["status"].is_string() || r["status"] != "error") return true;
  if (!r.contains("error") || !r["error"].is_object() || !r["error"].contains("code")) return true;
  const auto& code = r["error"]["code"];
  return !(code == "timeout" || code == "overloaded" || code == "internal" ||
           code == "fetch_failed");
}

// Inputs already answered in an earlier run's output; also cuts off a last
// line that a crash left half-written, so appending stays valid JSONL.
std::set<std::string> answered_in(const std::string& file) {
  std::set<std::string> done;
  std::fstream f(file, std::ios::in | std::ios::binary);
  if (!f) return done;
  std::string line;
  std::streamoff good_end = 0, pos = 0;
  while (std::getline(f, line)) {
    pos += static_cast<std::streamoff>(line.size()) + 1;
    if (f.eof()) break;  // no newline: incomplete
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("path") && j["path"].is_string()) {
      // Names that are not UTF-8 are known by their exact bytes (path_b64).
      if (answered(j))
        done.insert(j.contains("path_b64") && j["path_b64"].is_string()
                        ? "b64:" + j["path_b64"].get<std::string>()
                        : j["path"].get<std::string>());
      good_end = pos;
    }
  }
  f.close();
  std::error_code ec;
  if (fs::file_size(file, ec) != static_cast<uintmax_t>(good_end) && !ec)
    fs::resize_file(file, static_cast<uintmax_t>(good_end));
  return done;
}

std::string session_prefix() {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}

// The reply with "path" (first) set to the input as the user gave it.
nlohmann::ordered_json with_path(const std::string& json_text, const std::string& path,
                                 const std::string& id) {
  auto reply = nlohmann::ordered_json::parse(json_text, nullptr, false);
  nlohmann::ordered_json out;
  set_path(out, path);
  if (!reply.is_object()) {
    out["status"] = "error";
    out["error"] = {{"code", "bad_reply"},
                    {"message", "the pool sent a reply that is not a JSON object"}};
    out["id"] = id;
    return out;
  }
  for (auto& [k, v] : reply.items())
    if (k != "path" && k != "path_b64") out[k] = v;
  return out;
}

// Where results go: standard output, or the --output file, which is
// resumed (inputs it already answers are skipped) and appended to.
class ResultLog {
 public:
  // Returns false (after saying why) when the file cannot be written, or
  // another process is writing it (an exclusive lock for the whole run:
  // two runs on one --output would interleave and resume each other's work).
  bool open(const std::string& output) {
    if (output.empty()) return true;
    fd_ = UniqueFd(
        ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, 0644));
    if (!fd_) {
      std::cerr << "frameprint submit: cannot write " << output << ": " << std::strerror(errno)
                << '\n';
      return false;
    }
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      std::cerr << "frameprint submit: --output " << output << " is not a regular file\n";
      return false;
    }
    if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
      std::cerr << "frameprint submit: " << output
                << " is being written by another frameprint submit\n";
      return false;
    }
    answered_ = answered_in(output);
    if (!answered_.empty())
      spdlog::info("resuming: {} inputs already answered in {}", answered_.size(), output);
    return true;
  }
  bool answered(const std::string& display) const {
    return answered_.count(is_utf8(display) ? display : "b64:" + base64(display)) > 0;
  }
  // Writes one result line; returns whether it is a success.
  bool write(const nlohmann::ordered_json& j) {
    const std::string line = json_text(j) + '\n';
    if (!fd_) {
      std::cout << line << std::flush;
    } else {
      for (size_t done = 0; done < line.size();) {
        const ssize_t n = ::write(fd_.get(), line.data() + done, line.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
          throw std::runtime_error("cannot write the results: " +
                                   std::string(std::strerror(errno)));
        done += static_cast<size_t>(n);
      }
    }
    return j.contains("status") && j["status"].is_string() && j["status"] == "ok";
  }

 private:
  std::set<std::string> answered_;
  UniqueFd fd_;  // with its lock
};

struct LocalError {
  ErrorCode code;
  std::string message;
};

// The request for one input: the header, and the file's bytes unless the
// job goes by path. A file that cannot be sent is a local error result.
// Throws ReadInterrupted when a stop signal comes while reading standard input.
std::variant<ProducerJob, LocalError> make_job(const SubmitCommand& cmd, const InputFile& in,
                                               const std::string& id, int stop_fd) {
  if (!in.problem.empty())
    return LocalError{in.url ? ErrorCode::kBadRequest : ErrorCode::kIoError, in.problem};
  ProducerJob job{id, {}};
  if (in.url) {  // the worker fetches it (--allow-url-fetch) by its policy
    job.body.push_back(
        mdp::frame_of(make_job_header(id, in.display, std::nullopt, cmd.options, in.display)));
    return job;
  }
  if (in.from_stdin) {  // always sent inline: the worker cannot read our standard input
    std::vector<uint8_t> bytes;
    try {
      bytes = read_to_end(STDIN_FILENO, cmd.max_bytes, stop_fd);
    } catch (const MediaError& e) {
      return LocalError{e.code(), e.what()};
    }
    job.body.push_back(mdp::frame_of(make_job_header(id, "-", std::nullopt, cmd.options)));
    job.body.emplace_back(bytes.data(), bytes.size());
    return job;
  }
  const std::string name = in.file.filename().string();
  if (cmd.by_path) {
    std::error_code ec;
    const fs::path abs = fs::absolute(in.file, ec);
    job.body.push_back(
        mdp::frame_of(make_job_header(id, name, (ec ? in.file : abs).string(), cmd.options)));
    return job;
  }
  // Opened without blocking (a FIFO waits for no writer) and refused unless
  // it is a regular file; read with pread into the message.
  uint64_t size = 0;
  zmq::message_t bytes;
  try {
    MediaSource source = MediaSource::open_file(in.file);
    size = source.size();
    if (size > cmd.max_bytes)
      return LocalError{ErrorCode::kTooLarge,
                        "the file has " + std::to_string(size) + " bytes, more than --max-bytes " +
                            std::to_string(cmd.max_bytes) + " (send it with --by-path instead)"};
    bytes.rebuild(static_cast<size_t>(size));
    const size_t got =
        source.read_at(0, std::span(static_cast<uint8_t*>(bytes.data()), bytes.size()));
    if (got != size)
      return LocalError{ErrorCode::kIoError, "the file changed size while it was read"};
  } catch (const MediaError& e) {
    return LocalError{e.code(), e.what()};
  }
  job.body.push_back(mdp::frame_of(make_job_header(id, name, std::nullopt, cmd.options)));
  job.body.push_back(std::move(bytes));
  return job;
}

// --urls-from: one URL per line; blank lines and lines starting with # are
// skipped. A line that is not an http(s) URL is reported as a bad_request
// result of its own, not sent.
std::vector<InputFile> read_url_list(const std::string& from) {
  std::ifstream file;
  if (from != "-") {
    file.open(from);
    if (!file) throw std::runtime_error("cannot read --urls-from " + from);
  }
  std::istream& in = from == "-" ? std::cin : file;
  std::vector<InputFile> out;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line.front() == '#') continue;
    InputFile f;
    f.display = line;
    f.url = true;
    if (!(line.starts_with("http://") || line.starts_with("https://")) ||
        line.find_first_of(" \t") != std::string::npos || line.size() > 8192)
      f.problem = "not an http or https URL";
    out.push_back(std::move(f));
  }
  return out;
}

int SubmitCommand::run() {
  curve::ClientKeys keys;
  std::vector<InputFile> given;
  if (broker.empty() == nats.urls.empty()) {
    std::cerr << "frameprint submit: give either --broker or --nats\n";
    return 1;
  }
  if (!nats.urls.empty()) {
    if (producer.empty()) producer = default_producer(output);
    if (!jetstream::valid_name(producer)) {
      std::cerr << "frameprint submit: --producer must be 1-64 of [A-Za-z0-9_-]\n";
      return 1;
    }
  }
  try {
    if (nats.urls.empty()) keys = options::transport_keys(transport, broker);
    if (urls_from == "-" && (input_args.files_from == "-" ||
                             std::count(input_args.paths.begin(), input_args.paths.end(), "-")))
      throw std::runtime_error("standard input can hold one of -, --files-from and --urls-from");
    if (urls_from.empty() || !input_args.paths.empty() || !input_args.files_from.empty())
      given = gather_inputs(input_args);
    if (!urls_from.empty()) {
      auto urls = read_url_list(urls_from);
      given.insert(given.end(), std::make_move_iterator(urls.begin()),
                   std::make_move_iterator(urls.end()));
    }
  } catch (const std::exception& e) {
    std::cerr << "frameprint submit: " << e.what() << '\n';
    return 1;
  }
  ResultLog log;
  if (!log.open(output)) return 1;
  std::vector<InputFile> inputs;
  for (auto& in : given)
    if (!log.answered(in.display)) inputs.push_back(std::move(in));

  Progress progress(inputs.size(), "frameprint submit");
  bool all_ok = true;
  auto emit = [&](const nlohmann::ordered_json& j) {
    const bool ok = log.write(j);
    all_ok &= ok;
    const auto m = j.find("matches");
    progress.advance(!ok, m != j.end() && m->is_array() ? static_cast<int>(m->size()) : -1);
  };

  // SIGINT/SIGTERM become this fd before anything can block (standard
  // input read while jobs are made, the producer's poll).
  UniqueFd stop = stop_signal_fd();
  const std::string prefix = session_prefix();
  std::unordered_map<std::string, const InputFile*> by_id;
  size_t next = 0;
  bool interrupted = false;  // a stop signal while reading standard input
  // On NATS a job keeps its id when a run is resumed (the queue takes a
  // job sent again under the same id once): a digest of the input's name.
  std::unordered_map<std::string, int> seen_names;
  // (and its size and time of change, so that a changed file is a new job).
  auto job_id = [&](const InputFile& in, size_t index) {
    if (nats.urls.empty() || in.from_stdin) return prefix + "-" + std::to_string(index);
    std::string key = in.display;
    struct stat st {};
    if (::stat(in.file.c_str(), &st) == 0)
      key += "\n" + std::to_string(st.st_size) + "\n" + std::to_string(st.st_mtim.tv_sec) + "." +
             std::to_string(st.st_mtim.tv_nsec);
    const int n = seen_names[key]++;
    return jetstream::name_digest(key) + (n > 0 ? "-" + std::to_string(n) : "");
  };
  auto next_job = [&]() -> std::optional<ProducerJob> {
    while (next < inputs.size()) {
      const InputFile& in = inputs[next];
      const std::string id = job_id(in, next);
      ++next;
      std::variant<ProducerJob, LocalError> job;
      try {
        job = make_job(*this, in, id, stop.get());
      } catch (const ReadInterrupted&) {
        next = inputs.size();  // no more jobs
        interrupted = true;
        return std::nullopt;
      }
      if (auto* error = std::get_if<LocalError>(&job)) {
        MediaResult r;
        r.path = in.display;
        r.error = MediaError(error->code, error->message);
        emit(to_json(r));
        continue;
      }
      by_id[id] = &in;
      return std::move(std::get<ProducerJob>(job));
    }
    return std::nullopt;
  };
  auto on_result = [&](const std::string& id, const std::string& json) {
    auto it = by_id.find(id);
    if (it == by_id.end()) return;
    emit(with_path(json, it->second->display, id));
    by_id.erase(it);
  };

  if (!nats.urls.empty()) {
    try {
      auto settings = options::nats_settings(nats, transport, "frameprint submit " + producer);
      settings.connect_timeout =
          std::chrono::milliseconds(static_cast<int64_t>(connect_timeout_s * 1000));
      settings.inbox_prefix = "_INBOX_" + producer;
      jetstream::Connection conn(settings);
      jetstream::ProducerSettings ps;
      ps.name = producer;
      ps.window = window;
      ps.timeout =
          std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000 * (retries + 1)));
      ps.max_job_bytes = max_job_bytes;
      const bool finished = jetstream::Producer(conn, ps).run(next_job, on_result, stop.get());
      if (!finished || interrupted) {
        spdlog::warn("interrupted: {} jobs had no result yet; run again with --output to resume",
                     by_id.size() + (interrupted ? 1 : 0));
        return 2;
      }
    } catch (const jetstream::NatsError& e) {
      progress.cancel_summary();
      std::cerr << "frameprint submit: " << e.what()
                << "; nothing more was sent (run again to send the rest)\n";
      return kExitNoBroker;
    } catch (const std::invalid_argument& e) {
      progress.cancel_summary();
      std::cerr << "frameprint submit: " << e.what() << '\n';
      return 1;
    }
    return all_ok ? 0 : 2;
  }

  ProducerConfig pc;
  pc.endpoint = broker;
  pc.keys = keys;
  pc.window = window;
  pc.retries = retries;
  pc.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  pc.window_bytes = window_bytes;
  pc.connect_timeout = std::chrono::milliseconds(static_cast<int64_t>(connect_timeout_s * 1000));
  zmq::context_t ctx;
  bool finished = false;
  try {
    finished = Producer(ctx, pc).run(next_job, on_result, stop.get());
  } catch (const zmq::error_t& e) {
    progress.cancel_summary();
    std::cerr << "frameprint submit: " << broker << ": " << e.what() << '\n';
    return 1;
  } catch (const LinkError& e) {
    progress.cancel_summary();
    std::cerr << "frameprint submit: " << e.what()
              << "; nothing was hashed (run again to send the inputs)\n";
    return kExitNoBroker;
  }
  if (!finished || interrupted) {
    spdlog::warn("interrupted: {} jobs had no result yet; run again with --output to resume",
                 by_id.size() + (interrupted ? 1 : 0));
    return 2;
  }
  return all_ok ? 0 : 2;
}

}  // namespace

std::function<int()> add_submit_command(CLI::App& app) {
  auto cmd = std::make_shared<SubmitCommand>();
  CLI::App* sub = app.add_subcommand(
      "submit", "Send files to a frameprint worker pool and collect the results");
  add_input_options(*sub, cmd->input_args);
  sub->add_option("--broker", cmd->broker, "Broker frontend endpoint, e.g. tcp://127.0.0.1:5555");
  options::add_nats_options(*sub, cmd->nats,
                            "Send the jobs through NATS JetStream instead of a broker: server "
                            "URLs, comma-separated (docs/scale.md)");
  options::add_nats_producer_options(
      *sub, cmd->producer, cmd->max_job_bytes,
      "NATS: this producer's name, for its results subject and consumer (default: from the host "
      "and --output, so that a resumed run finds its results)",
      "NATS: largest job sent inline (the queue's --max-job-bytes); larger files get too_large: "
      "send them with --by-path");
  sub->add_option("--urls-from", cmd->urls_from,
                  "Also send URL jobs: one http(s) URL per line of this file (- for standard "
                  "input), each fetched by a worker with --allow-url-fetch");
  sub->add_flag("--by-path", cmd->by_path,
                "Send absolute paths instead of file bytes (workers need --allow-root)");
  sub->add_option("--timeout", cmd->timeout_s,
                  "Seconds to wait for a reply before sending a job again")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--connect-timeout", cmd->connect_timeout_s,
                  "Seconds to wait for the broker to accept the first connection before giving up "
                  "(exit 3); a refused key or handshake ends at once; 0 waits forever")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_option("--retries", cmd->retries, "Times a job is sent again after a timeout")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  sub->add_option("--window", cmd->window, "Jobs in flight")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  sub->add_option("--window-bytes", cmd->window_bytes, "File bytes in flight (memory bound)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option(
         "--max-bytes", cmd->max_bytes,
         "Largest file sent inline, standard input (-) included (the broker's and workers' default "
         "limit: 256 MiB)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--output", cmd->output,
                  "Write results here; an existing file is resumed (answered inputs skipped)");
  options::add_hashing_options(*sub, cmd->options);
  options::add_transport_options(*sub, cmd->transport);
  return [cmd]() -> int { return cmd->run(); };
}

}  // namespace frameprint::cli
