// `ledger`: the command-line front of the engine. Thin by design: parse the command line against
// the command table (command.h), resolve the database, call the engine, print results. Exit codes:
// 0 success, 1 some input lines rejected, 2 usage, I/O or database error, 3 findings (docs/cli.md).
#include <iostream>
#include <vector>

#include "cli/command.h"
#include "cli/common.h"

namespace ledger::cli {
namespace {

// Every command, in the order `ledger --help` lists them.
const std::vector<Command>& AllCommands() {
  static const std::vector<Command>* commands = [] {
    auto* all = new std::vector<Command>();
    for (auto family : {LogCommands, ProjectionCommands, AuditCommands, OperationsCommands,
                        FeedCommands, ServeCommands, DemoCommands}) {
      for (Command& c : family()) all->push_back(std::move(c));
    }
    return all;
  }();
  return *commands;
}

int Main(int argc, char** argv) {
  UsageError error;
  std::optional<Parsed> parsed = ParseCommandLine(argc, argv, AllCommands(), &error);
  if (!parsed) {
    std::cerr << UsageErrorText(error);
    return kExitError;
  }
  if (parsed->help) {
    std::cout << (parsed->command ? CommandUsage(*parsed->command) : ProgramUsage(AllCommands()));
    return kExitOk;
  }
  return parsed->command->run(parsed->args);
}

}  // namespace
}  // namespace ledger::cli

int main(int argc, char** argv) {
  const int code = ledger::cli::Main(argc, argv);
  // Flushed here, not by the exit handlers: a summary must reach its reader even when a handler
  // that runs before the streams' (LeakSanitizer's, in the ASan build) ends the process.
  std::cout.flush();
  return code;
}
