#include "cli/command.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "engine/str_cat.h"

namespace ledger::cli {
namespace {

constexpr FlagSpec kHelpFlag = Switch("help");

// Flags that may stand before the command name.
const std::vector<FlagSpec>& GlobalFlags() {
  static const std::vector<FlagSpec>* flags = new std::vector<FlagSpec>{kDbFlag, kHelpFlag};
  return *flags;
}

bool IsFlag(std::string_view word) { return word.size() > 2 && word.substr(0, 2) == "--"; }

std::string FlagText(const FlagSpec& f) {
  return f.value.empty() ? StrCat("--", f.name) : StrCat("--", f.name, " ", f.value);
}

// "--db URL, --digest FILE, --help": a command's flags, for error messages.
std::string FlagList(const std::vector<FlagSpec>& flags) {
  std::string out;
  for (const FlagSpec& f : flags) out += StrCat(out.empty() ? "" : ", ", FlagText(f));
  return out;
}

const FlagSpec* FindFlag(const std::vector<FlagSpec>& flags, std::string_view name) {
  for (const FlagSpec& f : flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// Checks `value` against its flag's type; the message when it does not fit.
std::optional<std::string> CheckValue(const FlagSpec& f, const std::string& value) {
  if (f.type == FlagType::kInteger ||
      (f.type == FlagType::kIntegerOrUnlimited && value != "unlimited")) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(value, &n) || n < f.min || n > f.max) {
      return StrCat("--", f.name, " must be an integer from ", f.min, " to ", f.max,
                    f.type == FlagType::kIntegerOrUnlimited ? " or unlimited" : "", ", got ",
                    value.empty() ? "nothing" : value);
    }
  }
  if (f.type == FlagType::kInputFile) {
    if (absl::Status s = CheckInputFile(value); !s.ok()) {
      return StrCat("--", f.name, ": ", s.message());
    }
  }
  return std::nullopt;
}

// Parses the flag at words[*i] (advancing past its value) into `args`, against `specs`. `where`
// names the command for messages.
std::optional<std::string> ParseFlag(const std::vector<std::string>& words, size_t* i,
                                     const std::vector<FlagSpec>& specs, std::string_view where,
                                     Args* args) {
  std::string name = words[*i].substr(2);
  std::optional<std::string> value;
  if (size_t eq = name.find('='); eq != std::string::npos) {
    value = name.substr(eq + 1);
    name.resize(eq);
  }
  const FlagSpec* spec = FindFlag(specs, name);
  if (spec == nullptr) {
    return StrCat("unknown flag --", name, where.empty() ? "" : StrCat(" ", where));
  }
  if (args->flags.contains(name)) return StrCat("--", name, " given twice");
  if (spec->type == FlagType::kSwitch) {
    if (value) return StrCat("--", name, " takes no value, got ", *value);
    args->flags[name] = "true";
    return std::nullopt;
  }
  if (!value) {
    if (*i + 1 >= words.size() || IsFlag(words[*i + 1])) {
      return StrCat("--", name, " needs a value (", spec->value, ")");
    }
    value = words[++*i];
  }
  if (std::optional<std::string> bad = CheckValue(*spec, *value)) return bad;
  args->flags[name] = *value;
  return std::nullopt;
}

const Command* FindCommand(const std::vector<Command>& commands, std::string_view name) {
  for (const Command& c : commands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

}  // namespace

int64_t Args::Integer(const std::string& name, int64_t fallback) const {
  auto it = flags.find(name);
  int64_t n = fallback;
  if (it != flags.end() && !absl::SimpleAtoi(it->second, &n)) return fallback;
  return n;
}

std::optional<Parsed> ParseCommandLine(int argc, char** argv, const std::vector<Command>& commands,
                                       UsageError* error) {
  const std::vector<std::string> words(argv + 1, argv + argc);
  Parsed out;
  size_t i = 0;
  for (; i < words.size() && IsFlag(words[i]); ++i) {
    if (auto bad = ParseFlag(words, &i, GlobalFlags(), "before the command", &out.args)) {
      error->message = *bad;
      return std::nullopt;
    }
  }
  out.help = out.args.Has("help");
  if (i == words.size()) {
    if (out.help) return out;
    error->message = "no command given";
    return std::nullopt;
  }
  out.command = FindCommand(commands, words[i]);
  if (out.command == nullptr) {
    error->message = StrCat("unknown command ", words[i]);
    return std::nullopt;
  }
  error->command = out.command;
  std::vector<FlagSpec> specs = out.command->flags;
  specs.push_back(kHelpFlag);
  // Flags given before the command name must be the command's too (--db for a command that uses
  // no database is an error, not ignored).
  for (const auto& [name, value] : out.args.flags) {
    if (name != "help" && FindFlag(specs, name) == nullptr) {
      error->message = StrCat("unknown flag --", name);
      return std::nullopt;
    }
  }
  out.args.positional.push_back(words[i]);
  for (++i; i < words.size(); ++i) {
    if (words[i] == "--help") {
      out.help = true;
      return out;
    }
    if (!IsFlag(words[i])) {
      out.args.positional.push_back(words[i]);
      continue;
    }
    if (auto bad = ParseFlag(words, &i, specs, "", &out.args)) {
      error->message = *bad;
      return std::nullopt;
    }
  }
  if (static_cast<int>(out.args.positional.size()) - 1 > out.command->positional_max) {
    error->message = StrCat("unexpected argument ", out.args.positional.back());
    return std::nullopt;
  }
  out.args.command = out.command;
  out.args.writes = CommandWrites(*out.command, out.args);
  return out;
}

bool CommandWrites(const Command& command, const Args& args) {
  switch (command.access.use) {
    case DatabaseUse::kWrites:
      return true;
    case DatabaseUse::kReads:
      return false;
    case DatabaseUse::kWritesUnless:
      return !args.Has(std::string(command.access.flag));
    case DatabaseUse::kWritesWithFlag:
      return args.Has(std::string(command.access.flag));
  }
  return true;
}

absl::Status CheckInputFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(StrCat(path, " is a directory, not a file"));
  }
  std::ifstream probe(path, std::ios::binary);
  if (!probe) return absl::NotFoundError(StrCat("cannot open ", path));
  return absl::OkStatus();
}

std::string ProgramUsage(const std::vector<Command>& commands) {
  std::string out =
      "usage: ledger [--db URL] COMMAND [ARGS]   (ledger COMMAND --help for its flags)\n\n"
      "Database: --db URL, else $DATABASE_URL, else the embedded cluster under $LEDGER_HOME "
      "(default\n./.ledger), started on first use and migrated automatically. Fold snapshots are "
      "copied to\n$LEDGER_SNAPSHOT_CACHE (a directory, or off; default $LEDGER_HOME/snapshot-cache "
      "for the\nembedded cluster, none for --db).\n\nCommands:\n";
  for (const Command& c : commands) {
    out += StrCat("  ", c.usage, "\n");
    std::string_view summary = c.summary;
    while (!summary.empty()) {
      const size_t nl = summary.find('\n');
      out += StrCat("      ", summary.substr(0, nl), "\n");
      summary = nl == std::string_view::npos ? "" : summary.substr(nl + 1);
    }
  }
  return out;
}

std::string UsageErrorText(const UsageError& error) {
  if (error.command == nullptr) {
    return StrCat("ledger: ", error.message, "\n(ledger --help lists the commands)\n");
  }
  std::vector<FlagSpec> flags = error.command->flags;
  flags.push_back(kHelpFlag);
  return StrCat("ledger ", error.command->name, ": ", error.message, "\nusage: ledger ",
                error.command->usage, "\nflags: ", FlagList(flags), "\n");
}

std::string CommandUsage(const Command& command) {
  std::string out =
      StrCat("usage: ledger ", command.usage, "\n\n", command.summary, "\n\nflags:\n");
  for (const FlagSpec& f : command.flags) {
    out += StrCat("  ", FlagText(f));
    if (f.type == FlagType::kInteger) out += StrCat("  (", f.min, " to ", f.max, ")");
    if (f.type == FlagType::kIntegerOrUnlimited) {
      out += StrCat("  (", f.min, " to ", f.max, ", or unlimited)");
    }
    out += "\n";
  }
  out += "  --help\n";
  return out;
}

}  // namespace ledger::cli
