// Specification of the `ledger` command line (cli/command.h): every command is held to its table of
// flags. An unknown flag, a missing or ill-typed value, a number out of its bounds, a flag given
// twice, a value given to a switch, or an input that is a directory is a usage error (exit 2) that
// names the flag and lists the command's flags, and nothing runs; `ledger COMMAND --help` prints
// the command's usage and exits 0.
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/ledger_process.h"
#include "tests/process.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

using testing::AppendSpec;
using testing::FreshDatabase;
using testing::LedgerBinary;
using testing::LedgerSpec;
using testing::ProcessSpec;
using testing::ReadFile;
using testing::TempDir;

struct Outcome {
  int code = 0;
  std::string out;
  std::string err;
};

Outcome RunLedger(const std::vector<std::string>& args, const TempDir& dir) {
  ProcessSpec spec;
  spec.argv = {LedgerBinary()};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.stdout_path = dir / "out";
  spec.stderr_path = dir / "err";
  spec.env["LEDGER_HOME"] = dir / "home";  // Nothing here may start the embedded cluster.
  Outcome o;
  o.code = testing::Run(spec);
  o.out = ReadFile(dir / "out");
  o.err = ReadFile(dir / "err");
  return o;
}

// The command names `ledger --help` lists: the table itself, so a new command is covered by the
// tests below without being named here.
std::vector<std::string> Commands(const TempDir& dir) {
  const Outcome help = RunLedger({"--help"}, dir);
  BOOST_REQUIRE_EQUAL(help.code, 0);
  std::vector<std::string> names;
  std::istringstream lines(help.out.substr(help.out.find("Commands:")));
  const std::regex command_line("^  ([a-z]+)( .*)?$");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, command_line)) names.push_back(m[1]);
  }
  return names;
}

// A usage error as the parser reports it: exit 2, the message, the command's usage and its flags,
// and nothing on stdout (nothing ran).
void CheckUsageError(const Outcome& o, const std::string& command, const std::string& message) {
  BOOST_TEST(o.code == 2, command << ": " << o.err);
  BOOST_TEST(o.err.find(message) != std::string::npos, "expected '" << message << "' in " << o.err);
  BOOST_TEST(o.err.find("usage: ledger " + command) != std::string::npos, o.err);
  BOOST_TEST(o.err.find("flags: ") != std::string::npos, o.err);
  BOOST_TEST(o.out.empty(), command << " wrote " << o.out);
}

BOOST_AUTO_TEST_SUITE(command_line)

BOOST_AUTO_TEST_CASE(a_mistyped_flag_is_refused_not_ignored) {
  // `verify --digset` (for --digest) used to verify without the digest and exit 0, "clean".
  TempDir dir;
  const std::string conn = FreshDatabase();
  {
    std::ofstream digest(dir / "digest.json");
    digest << R"({"seq":5,"hash":"00"})"
           << "\n";
  }
  ProcessSpec verify = LedgerSpec(conn, {"verify", "--digset", dir / "digest.json"}, dir, "v");
  BOOST_TEST(testing::Run(verify) == 2);
  const std::string err = ReadFile(dir / "v.err");
  BOOST_TEST(err.find("unknown flag --digset") != std::string::npos, err);
  BOOST_TEST(err.find("--digest FILE") != std::string::npos, err);
  BOOST_TEST(ReadFile(dir / "v.out").empty());
  // `append --batchsize 5` used to append with the default batch size.
  BOOST_TEST(testing::Run(AppendSpec(conn, "-", dir, "a", {"--batchsize", "5"})) == 2);
  BOOST_TEST(ReadFile(dir / "a.err").find("unknown flag --batchsize") != std::string::npos);
  BOOST_TEST(ReadFile(dir / "a.out").empty());
}

BOOST_AUTO_TEST_CASE(every_command_refuses_an_unknown_flag_and_lists_its_own) {
  TempDir dir;
  const std::vector<std::string> commands = Commands(dir);
  BOOST_REQUIRE_GE(commands.size(), 18u);  // db ... demo, as of this writing.
  for (const std::string& command : commands) {
    CheckUsageError(RunLedger({command, "--bogus-flag"}, dir), command,
                    "unknown flag --bogus-flag");
    CheckUsageError(RunLedger({command, "--bogus-flag=1"}, dir), command,
                    "unknown flag --bogus-flag");
  }
}

BOOST_AUTO_TEST_CASE(every_command_explains_itself_with_help) {
  TempDir dir;
  for (const std::string& command : Commands(dir)) {
    const Outcome o = RunLedger({command, "--help"}, dir);
    BOOST_TEST(o.code == 0, command);
    BOOST_TEST(o.out.rfind("usage: ledger " + command, 0) == 0, o.out);
    BOOST_TEST(o.out.find("--help") != std::string::npos, o.out);
  }
}

BOOST_AUTO_TEST_CASE(values_are_checked_against_the_flags_type_and_bounds) {
  TempDir dir;
  CheckUsageError(RunLedger({"append", "--batch-size", "0"}, dir), "append",
                  "--batch-size must be an integer from 1 to 100000, got 0");
  CheckUsageError(RunLedger({"append", "--batch-size", "100001"}, dir), "append",
                  "--batch-size must be an integer from 1 to 100000, got 100001");
  CheckUsageError(RunLedger({"generate", "--events", "12x"}, dir), "generate",
                  "--events must be an integer");
  CheckUsageError(RunLedger({"project", "--retries", "-1"}, dir), "project",
                  "--retries must be an integer from 0 to 1000000 or unlimited, got -1");
  CheckUsageError(RunLedger({"publish", "--nats", "nats://127.0.0.1:1", "--replicas", "6"}, dir),
                  "publish", "--replicas must be an integer from 1 to 5, got 6");
  CheckUsageError(RunLedger({"feed", "--from", "0"}, dir), "feed", "--from must be an integer");
  CheckUsageError(RunLedger({"verify", "--digest"}, dir), "verify", "--digest needs a value");
  CheckUsageError(RunLedger({"verify", "--digest", "--format", "json"}, dir), "verify",
                  "--digest needs a value");
  CheckUsageError(RunLedger({"generate", "--events", "5", "--events=6"}, dir), "generate",
                  "--events given twice");
  CheckUsageError(RunLedger({"project", "--follow=yes"}, dir), "project",
                  "--follow takes no value, got yes");
  CheckUsageError(RunLedger({"digest", "extra"}, dir), "digest", "unexpected argument extra");
  // --db is for the commands that use a database, before the command name or after it.
  CheckUsageError(RunLedger({"--db", "postgresql:///x", "generate"}, dir), "generate",
                  "unknown flag --db");
}

BOOST_AUTO_TEST_CASE(an_input_that_is_a_directory_is_exit_2_with_its_path) {
  // `ledger append /tmp` used to abort with an uncaught std::ios_base::failure (exit 134).
  TempDir dir;
  const std::string conn = FreshDatabase();
  BOOST_TEST(testing::Run(AppendSpec(conn, dir.path(), dir, "a")) == 2);
  const std::string err = ReadFile(dir / "a.err");
  BOOST_TEST(err.find(dir.path() + " is a directory") != std::string::npos, err);
  BOOST_TEST(ReadFile(dir / "a.out").empty());
  // The same for the files the other commands read.
  CheckUsageError(RunLedger({"verify", "--digest", dir.path()}, dir), "verify",
                  "--digest: " + dir.path() + " is a directory");
  CheckUsageError(RunLedger({"reconcile", "--chain", dir / "missing.csv"}, dir), "reconcile",
                  "--chain: cannot open " + dir / "missing.csv");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ledger
