// What every `ledger` command shares: exit codes, the database to use, error reporting, the flags
// several commands read the same way, and tables for terminals. The command table and its parser
// are in command.h; the commands live one family a file (listed at the end).
#ifndef LEDGER_CLI_COMMON_H_
#define LEDGER_CLI_COMMON_H_

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "boost/json.hpp"
#include "cli/command.h"
#include "engine/appender.h"
#include "engine/chain_guard.h"
#include "engine/error_codes.h"
#include "engine/pg/database.h"
#include "engine/pg/sql_session.h"
#include "engine/retry.h"
#include "projections/projector.h"

namespace ledger::cli {

// docs/cli.md: 0 success, 1 some input refused, 2 usage, I/O or database error, 3 findings
// (tampering, drift, unreconciled clawbacks).
inline constexpr int kExitOk = 0;
inline constexpr int kExitRejected = 1;
inline constexpr int kExitError = 2;
inline constexpr int kExitFindings = 3;

// Prints the error (password masked) and returns kExitError; a broken chain (engine/chain_guard.h)
// also says where to turn, and returns kExitFindings.
int Fail(const absl::Status& status);

// The whole of a small file the user named (a key, a digest): kNotFound naming the path when it
// cannot be read, kInvalidArgument when it is longer than `bytes_max`. Never quotes the content.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path, size_t bytes_max);

// What a reading command trusts: --allow-broken-chain.
inline ChainTrust ChainTrustFlag(const Args& args) {
  return ChainTrust{args.Has("allow-broken-chain"), std::nullopt};
}
// After reading with --allow-broken-chain: when the chain was broken, prints the UNTRUSTED warning
// on stderr and returns the output's "untrusted" field ({seq, kind, detail}); null when it held.
boost::json::value ReportUntrusted(const ChainTrust& trust);

// The connection: --db, $DATABASE_URL, or the embedded cluster (started; *embedded set).
absl::StatusOr<std::string> ResolveDatabase(const Args& args, bool* embedded);
// Where fold snapshots are cached on this machine (engine/snapshot_cache.h): $LEDGER_SNAPSHOT_CACHE
// (a directory, or "off" for none), else $LEDGER_HOME/snapshot-cache beside the embedded cluster,
// else none: for a database elsewhere the operator says where (docs/operations.md).
inline constexpr std::string_view kSnapshotCacheOff = "off";
std::string SnapshotCacheDir(bool embedded);
// A LogStore on that connection, caching fold snapshots in SnapshotCacheDir; the embedded cluster
// is migrated on first use. On a hot standby (docs/deployment.md) a command that writes
// (Args::writes) is refused, kFailedPrecondition naming the primary when the standby shows it; one
// that reads says on stderr, once, how far the standby has replayed (StandbyJson).
absl::StatusOr<std::unique_ptr<pg::Database>> OpenStore(const Args& args);
// A SqlSession on the same connection, after the same checks, for the reports.
absl::StatusOr<std::unique_ptr<pg::SqlSession>> OpenSqlSession(const Args& args);
// The check OpenStore makes, for a command that opens its Database itself (migrate): on a hot
// standby, kFailedPrecondition when the command writes, else records and reports what it sees.
absl::Status CheckStandby(pg::Database& db, const Args& args, const std::string& conn);
// What a reading command saw of the standby it ran on ({headSeq, receiveLsn, replayLsn,
// replayLagBytes, replayedCommitAt, checkedAt, primary}), for its JSON; null on a primary.
boost::json::value StandbyJson();

// Installs SIGINT/SIGTERM handlers that set the returned flag: long-running commands (`project
// --follow`, `feed`, `publish`) check it between batches and end cleanly.
const std::atomic<bool>& StopOnSignals();

// How a long-running command rides out an outage (engine/retry.h): --retries N attempts (default
// kOutageRetriesMax, 0: fail at once), each announced on stderr ("database unavailable ..., retry 2
// of 12 in 200 ms"). The parser has checked --retries against its bounds.
// `--retries N|unlimited`, at most this many as a number.
inline constexpr int64_t kRetriesFlagMax = 1000000;
inline constexpr FlagSpec kRetriesFlag = IntegerOrUnlimited("retries", 0, kRetriesFlagMax);

// --retries (checked by the parser), and the reporter that logs each retry and the end of each
// outage on stderr.
struct RetryFlags {
  int retries_max = kOutageRetriesMax;
  RetryObserver report;
};
RetryFlags ParseRetryFlags(const Args& args);

// One line of a rejects file: {"line", "code", "message", "input"}, the input byte for byte; a line
// that is not UTF-8 cannot be a JSON string and is kept as "inputBase64" instead.
std::string RejectionJson(int64_t line, const Rejection& rejection, std::string_view text);

// One line of a results file: {"line", "status", "seq", "hash", "code", "message", "recovered"},
// null where a field does not apply (docs/cli.md).
std::string LineResultText(const LineResult& result);

// On stderr: why the fold snapshot was not used (AppendOptions::on_snapshot_skipped).
void ReportSnapshotSkipped(std::string_view why);
// Saves a fold snapshot unless one fewer than kFoldSnapshotTailEvents events old is stored; a
// failure is a warning on stderr, never the command's failure (the log is committed; the next start
// folds a little more).
void SaveSnapshotOrWarn(Appender& appender);

// Projector options from --snapshot-interval and --snapshot-retention; nullopt after a message.
std::optional<ProjectorOptions> ProjectorFlags(const Args& args);

// --format: `allowed` values; when absent, "table" on a terminal and "json" otherwise (or
// `fallback` when given). nullopt after a message.
std::optional<std::string> OutputFormat(const Args& args, const std::vector<std::string>& allowed,
                                        const std::string& fallback = "");

// An RFC 3339 --now (tests, catching up after downtime), else the current time; nullopt after a
// message.
std::optional<TimeMicros> NowFlag(const Args& args);

// A titled, column-aligned table of JSON objects (strings and numbers shown as is, null as "-").
void PrintTable(const std::string& title, const boost::json::array& rows,
                const std::vector<std::string>& columns);

// 1234567 -> "1.234567" USDT, for people; JSON keeps the integer micro-USDT.
std::string UsdtText(int64_t micros);

// The command families, one file each; ledger_main.cc puts them in one table.
std::vector<Command> LogCommands();  // log_commands.cc: db, migrate, append, digest, generate
std::vector<Command> ProjectionCommands();  // projection_commands.cc: project, rebuild
std::vector<Command> AuditCommands();       // audit_commands.cc: replay, verify, audit, reconcile
std::vector<Command>
OperationsCommands();                  // operations_commands.cc: rules, markets, stats, history
std::vector<Command> FeedCommands();   // feed_commands.cc: feed, publish
std::vector<Command> ServeCommands();  // serve_command.cc: serve
std::vector<Command> DemoCommands();   // demo.cc: demo

}  // namespace ledger::cli

#endif  // LEDGER_CLI_COMMON_H_
