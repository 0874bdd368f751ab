#include "worker/cli/match_command.h"

#include <fstream>
#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>

#include "ipc/common/json_text.h"
#include "worker/cli/progress.h"
#include "worker/matching/match_options.h"
#include "worker/media/device.h"
#include "worker/options/program_options.h"

namespace frameprint::cli {

namespace {

// A problem met on many lines, said once at the end: the first line's
// message and how many more lines had it.
class Skipped {
 public:
  void add(const std::string& message) {
    if (count_++ == 0) first_ = message;
  }
  void say() const {
    if (count_ == 0) return;
    std::cerr << "frameprint match: " << first_;
    if (count_ > 1) std::cerr << " (and " << count_ - 1 << " more lines like it)";
    std::cerr << '\n';
  }

 private:
  size_t count_ = 0;
  std::string first_;
};

struct MatchCommand {
  MatchOptions match;
  std::string input = "-";
  std::string device = "auto";
  bool list_stats = false;
  bool matches_only = false;

  // --list-stats: what each list held, one JSON object per --list.
  int print_list_stats() {
    if (match.lists.empty()) {
      std::cerr << "frameprint match: give at least one --list\n";
      return 1;
    }
    try {
      const HashLists lists = load_lists(match);
      for (const auto& s : lists.stats) std::cout << json_text(s.to_json()) << '\n';
    } catch (const std::exception& e) {
      std::cerr << "frameprint match: " << e.what() << '\n';
      return 1;
    }
    std::cout.flush();
    return 0;
  }

  int run() {
    if (list_stats) return print_list_stats();
    std::shared_ptr<const Matcher> matcher;
    try {
      const DeviceChoice where = choose_device(device);
      if (!where.notice.empty()) spdlog::debug("list search: {}", where.notice);
      match.cuda_device = where.cuda_device;
      matcher = load_matcher(match);
    } catch (const std::exception& e) {
      std::cerr << "frameprint match: " << e.what() << '\n';
      return 1;
    }
    if (!matcher) {
      std::cerr << "frameprint match: give at least one --list\n";
      return 1;
    }
    std::ifstream file;
    std::istream* in = &std::cin;
    if (input != "-") {
      file.open(input);
      if (!file) {
        std::cerr << "frameprint match: cannot read " << input << '\n';
        return 1;
      }
      in = &file;
    }
    bool all_ok = true;
    // Lines that are not results (a CSV given by mistake, say) and results
    // with fields that could not be used: said once each, with a count.
    Skipped not_json, unusable;
    Progress progress(0, "frameprint match");
    std::string line;
    for (size_t number = 1; std::getline(*in, line); ++number) {
      if (line.empty()) continue;
      auto result = nlohmann::ordered_json::parse(line, nullptr, false);
      if (!result.is_object()) {
        not_json.add(input + ":" + std::to_string(number) + ": not a JSON object; skipped");
        all_ok = false;
        continue;
      }
      const size_t skipped = matcher->annotate(result);
      if (skipped) {
        unusable.add(input + ":" + std::to_string(number) + ": " + std::to_string(skipped) +
                     " fields could not be matched (see the result's unmatched_fields warning)");
        all_ok = false;
      }
      const auto status = result.find("status");
      const bool failed = skipped > 0 || status == result.end() || *status != "ok";
      const auto m = result.find("matches");
      const int matches = m != result.end() && m->is_array() ? static_cast<int>(m->size()) : 0;
      progress.advance(failed, matches);
      if (matches_only && matches == 0) continue;
      std::cout << json_text(result) << '\n';
    }
    std::cout.flush();
    not_json.say();
    unusable.say();
    return all_ok ? 0 : 2;
  }
};

}  // namespace

std::function<int()> add_match_command(CLI::App& app) {
  auto cmd = std::make_shared<MatchCommand>();
  CLI::App* sub = app.add_subcommand(
      "match", "Match hash results (JSON lines from hash or submit) against hash lists");
  sub->add_option("results", cmd->input, "JSON lines file, or - for standard input")
      ->capture_default_str();
  options::add_match_options(*sub, cmd->match);
  options::add_device_option(*sub, cmd->device);
  sub->add_flag("--matches-only", cmd->matches_only,
                "Print only the results that matched (the summary line on stderr counts all)");
  sub->add_flag("--list-stats", cmd->list_stats,
                "Load the lists, print what each holds (one JSON object per --list) and exit "
                "without matching");
  return [cmd]() -> int { return cmd->run(); };
}

}  // namespace frameprint::cli
