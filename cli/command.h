// The `ledger` command table: every command with its flags (types, bounds), one usage line, what it
// does, and the function that runs it; and the one parser that holds every command to its table.
//
// Parsing is strict: an unknown flag, a missing value, a value given to a switch, an ill-typed or
// out-of-range number, a flag given twice, too many arguments, or an input file that is a directory
// or unreadable is a usage error (exit 2) naming the flag (and listing the command's flags), before
// anything runs. `ledger COMMAND --help` prints the command's usage and flags.
//
//   const Command kVerify{"verify", "verify [--digest FILE]", "check the hash chain ...",
//                         {kDbFlag, {"digest", FlagType::kInputFile, "FILE"}}, 0, RunVerify};
#ifndef LEDGER_CLI_COMMAND_H_
#define LEDGER_CLI_COMMAND_H_

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace ledger::cli {

enum class FlagType : uint8_t {
  kSwitch,              // --name, no value.
  kText,                // --name VALUE, checked by the command (a format, a duration, a time, ...).
  kInteger,             // --name N, a decimal integer within [min, max].
  kIntegerOrUnlimited,  // kInteger, or the word "unlimited" (--retries).
  kInputFile,           // --name FILE, a readable file that is not a directory.
  kOutputFile,          // --name FILE, written by the command.
};

struct FlagSpec {
  std::string_view name;  // Without the leading "--".
  FlagType type = FlagType::kText;
  std::string_view value;  // What the value is, for usage ("URL", "N", "FILE"); empty for a switch.
  int64_t min = 0;         // kInteger only: inclusive bounds.
  int64_t max = std::numeric_limits<int64_t>::max();
};

// What a command does to its database, so that one pointed at a hot standby (docs/deployment.md)
// is refused there, before it reads any input, when it would write: a standby is read-only, and a
// command that keeps its position there (a durable feed consumer, the projector) belongs on the
// primary. The flag, for the last two, is the one that decides.
enum class DatabaseUse : uint8_t {
  kWrites,          // append, project, rebuild, migrate, ...: refused on a standby.
  kReads,           // verify, replay, audit, digest, stats, ...: run there, reporting its lag.
  kWritesUnless,    // Reads with `flag` (rules --dry-run, serve --read-only), else writes.
  kWritesWithFlag,  // Writes with `flag` (feed --consumer keeps its position), else reads.
};
struct DatabaseAccess {
  DatabaseUse use = DatabaseUse::kWrites;
  std::string_view flag;  // Without the leading "--"; the last two uses only.
};
inline constexpr DatabaseAccess kReadsDatabase{DatabaseUse::kReads, ""};
inline constexpr DatabaseAccess kWritesDatabase{DatabaseUse::kWrites, ""};

struct Command;

// Flags parsed against a command's table: every value present here has its flag's type.
struct Args {
  std::vector<std::string> positional;  // The command name first, then its arguments.
  std::map<std::string, std::string> flags;
  // The command parsed, and whether it writes to its database with these flags
  // (DatabaseAccess); set by ParseCommandLine.
  const Command* command = nullptr;
  bool writes = true;

  std::string Flag(const std::string& name, const std::string& fallback = "") const {
    auto it = flags.find(name);
    return it == flags.end() ? fallback : it->second;
  }
  bool Has(const std::string& name) const { return flags.contains(name); }
  // The value of a kInteger flag (already checked against its bounds), or `fallback`.
  int64_t Integer(const std::string& name, int64_t fallback) const;
};

struct Command {
  std::string_view name;
  std::string_view usage;    // One line: "append [FILE|-] [--rejects FILE] ...".
  std::string_view summary;  // What it does, in a sentence or two (may span lines).
  std::vector<FlagSpec> flags;
  int positional_max = 0;  // Arguments after the command name (subcommands, files).
  int (*run)(const Args&) = nullptr;
  DatabaseAccess access =
      kWritesDatabase;  // Writes unless the table says otherwise: the safe side.
};

// Whether `command`, given `args`, writes to its database.
bool CommandWrites(const Command& command, const Args& args);

// One flag of each type, for the tables.
constexpr FlagSpec Switch(std::string_view name) { return {name, FlagType::kSwitch, "", 0, 0}; }
constexpr FlagSpec Text(std::string_view name, std::string_view value) {
  return {name, FlagType::kText, value, 0, 0};
}
constexpr FlagSpec Integer(std::string_view name, std::string_view value, int64_t min,
                           int64_t max) {
  return {name, FlagType::kInteger, value, min, max};
}
constexpr FlagSpec IntegerOrUnlimited(std::string_view name, int64_t min, int64_t max) {
  return {name, FlagType::kIntegerOrUnlimited, "N|unlimited", min, max};
}
constexpr FlagSpec InputFile(std::string_view name) {
  return {name, FlagType::kInputFile, "FILE", 0, 0};
}
constexpr FlagSpec OutputFile(std::string_view name) {
  return {name, FlagType::kOutputFile, "FILE", 0, 0};
}

// Flags several commands share.
inline constexpr FlagSpec kDbFlag = Text("db", "URL");
inline constexpr FlagSpec kFormatFlag = Text("format", "FORMAT");
inline constexpr FlagSpec kSnapshotIntervalFlag = Text("snapshot-interval", "DURATION");
inline constexpr FlagSpec kSnapshotRetentionFlag = Text("snapshot-retention", "DURATION");
inline constexpr FlagSpec kNowFlag = Text("now", "RFC3339-TIME");
inline constexpr FlagSpec kDryRunFlag = Switch("dry-run");
inline constexpr FlagSpec kAllowBrokenChainFlag = Switch("allow-broken-chain");
inline constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// A usage error: the message, the command's flags, exit 2.
struct UsageError {
  std::string message;
  const Command* command = nullptr;  // The command whose flags to list, when known.
};

// Parses `argv` (argv[0] is the program) against `commands`: global flags (--db, --help) may stand
// before the command, every other flag anywhere after it. Returns the command (nullptr for a bare
// `ledger --help`) and fills `args`; a UsageError when anything is off.
struct Parsed {
  const Command* command = nullptr;
  Args args;
  bool help = false;
};
std::optional<Parsed> ParseCommandLine(int argc, char** argv, const std::vector<Command>& commands,
                                       UsageError* error);

// kInvalidArgument naming `path` when it is a directory, kNotFound ("cannot open PATH") when it
// cannot be opened for reading: the check for every file a command reads.
absl::Status CheckInputFile(const std::string& path);

// What to print for a usage error: the message, the command's usage line and all its flags.
std::string UsageErrorText(const UsageError& error);
// The whole usage (every command), and one command's usage with its flags.
std::string ProgramUsage(const std::vector<Command>& commands);
std::string CommandUsage(const Command& command);

}  // namespace ledger::cli

#endif  // LEDGER_CLI_COMMAND_H_
