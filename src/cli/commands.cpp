// What every subcommand shares: running on parse with an exit code, and printing errors.
// Not a command itself.
#include "cli/commands.h"

#include <cstdio>

namespace embtune::cli {

void on_parsed(CLI::App* sub, std::function<int()> run) {
  sub->callback([run = std::move(run)]() {
    int rc = run();
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

int report_error(const std::string& command, const Status& s) {
  std::fprintf(stderr, "embtune %s: error: %s\n", command.c_str(), s.message().c_str());
  return 1;
}

}  // namespace embtune::cli
