#include "worker/cli/keygen_command.h"

#include <iostream>
#include <memory>
#include <string>

#include "ipc/curve.h"

namespace frameprint::cli {

std::function<int()> add_keygen_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand(
      "keygen",
      "Write a CURVE key pair for the pool: PATH.pub (public) and PATH.key (secret, mode 0600)");
  sub->add_option("path", *path,
                  "PATH of the two files, without extension (a missing folder is made, mode 0700)")
      ->required();
  sub->add_flag("--force", *force, "Replace a key pair already at PATH");
  return [path, force]() -> int {
    try {
      curve::write_files(*path, curve::generate(), *force);
    } catch (const std::exception& e) {
      std::cerr << "frameprint keygen: " << e.what() << '\n';
      return 1;
    }
    std::cout << *path << ".pub\n" << *path << ".key\n";
    return 0;
  };
}

}  // namespace frameprint::cli
