#include "worker/cli/match_command.h"

#include <fstream>
#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>

#include "ipc/common/json_text.h"
#include "worker/matching/match_options.h"
#include "worker/media/device.h"
#include "worker/options/program_options.h"

namespace frameprint::cli {

namespace {

struct MatchCommand {
  MatchOptions match;
  std::string input = "-";
  std::string device = "auto";
  bool list_stats = false;

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
    std::string line;
    for (size_t number = 1; std::getline(*in, line); ++number) {
      if (line.empty()) continue;
      auto result = nlohmann::ordered_json::parse(line, nullptr, false);
      if (!result.is_object()) {
        std::cerr << "frameprint match: " << input << ":" << number
                  << ": not a JSON object; skipped\n";
        all_ok = false;
        continue;
      }
      if (const size_t skipped = matcher->annotate(result)) {
        std::cerr << "frameprint match: " << input << ":" << number << ": " << skipped
                  << " fields could not be matched (see the result's unmatched_fields warning)\n";
        all_ok = false;
      }
      std::cout << json_text(result) << '\n';
    }
    std::cout.flush();
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
  sub->add_flag("--list-stats", cmd->list_stats,
                "Load the lists, print what each holds (one JSON object per --list) and exit "
                "without matching");
  return [cmd]() -> int { return cmd->run(); };
}

}  // namespace frameprint::cli
