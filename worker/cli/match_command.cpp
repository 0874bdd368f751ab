#include "worker/cli/match_command.h"

#include <fstream>
#include <iostream>

#include <spdlog/spdlog.h>

namespace frameprint::cli {

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

std::shared_ptr<const Matcher> load_matcher(const MatchOptions& o) {
  if (o.lists.empty()) return nullptr;
  std::vector<ListSpec> specs;
  for (const auto& l : o.lists) specs.push_back(parse_list_spec(l));
  return std::make_shared<const Matcher>(HashLists::load(specs), o.rules);
}

namespace {

struct MatchCommand {
  MatchOptions options;
  std::string input = "-";

  int run() {
    std::shared_ptr<const Matcher> matcher;
    try {
      matcher = load_matcher(options);
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
        std::cerr << "frameprint match: " << input << ":" << number << ": not a JSON object; skipped\n";
        all_ok = false;
        continue;
      }
      matcher->annotate(result);
      std::cout << result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    }
    std::cout.flush();
    return all_ok ? 0 : 2;
  }
};

}  // namespace

std::function<int()> add_match_command(CLI::App& app) {
  auto cmd = std::make_shared<MatchCommand>();
  CLI::App* sub = app.add_subcommand("match", "Match hash results (JSON lines from hash or submit) against hash lists");
  sub->add_option("results", cmd->input, "JSON lines file, or - for standard input")->capture_default_str();
  add_match_options(*sub, cmd->options);
  return [cmd]() -> int { return cmd->run(); };
}

}  // namespace frameprint::cli
