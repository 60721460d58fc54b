// `ledger db`, `migrate`, `append`, `digest`, `keygen` and `generate`: the embedded cluster, the
// schema, writing the log, its head (signed or not) and the key that signs it, and sample input.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "boost/json.hpp"
#include "cli/command.h"
#include "cli/common.h"
#include "engine/appender.h"
#include "engine/pg/database.h"
#include "engine/pg/embedded_db.h"
#include "engine/signing.h"
#include "engine/str_cat.h"
#include "projections/runner.h"
#include "replay/digest.h"
#include "replay/verify.h"
#include "sample/stream_generator.h"

namespace ledger::cli {
namespace {

// `generate` bounds: a stream of up to a billion events (about 250 GB of JSON Lines), ids and sizes
// that fit their int32 fields.
constexpr int64_t kGenerateEventsMax = 1000000000;
constexpr int64_t kGenerateCountMax = std::numeric_limits<int32_t>::max();

// `db standby --of HOME`, `db promote`: a hot standby of another embedded cluster, to try
// docs/deployment.md on one machine (and for scripts/bench-standby).
int RunDbStandby(const std::string& verb, const Args& args, pg::EmbeddedDb& db) {
  if (verb == "promote") {
    if (absl::Status s = db.Promote(); !s.ok()) return Fail(s);
    std::cout << "promoted " << db.home() << "\n";
    return kExitOk;
  }
  if (!args.Has("of")) {
    std::cerr << "ledger db standby: --of HOME names the primary's LEDGER_HOME\n";
    return kExitError;
  }
  const pg::EmbeddedDb primary(args.Flag("of"));
  if (absl::Status s = db.CreateStandbyOf(primary); !s.ok()) return Fail(s);
  if (absl::Status s = db.Start(); !s.ok()) return Fail(s);
  std::cout << db.Url() << "\n";
  return kExitOk;
}

int RunDb(const Args& args) {
  if (args.positional.size() != 2) {
    std::cerr << "usage: ledger db start|stop|status|url|standby --of HOME|promote\n";
    return kExitError;
  }
  const std::string& verb = args.positional[1];
  pg::EmbeddedDb db(pg::EmbeddedDb::DefaultHome());
  if (verb == "standby" || verb == "promote") return RunDbStandby(verb, args, db);
  if (args.Has("of")) {
    std::cerr << "ledger db: --of goes with `db standby` only\n";
    return kExitError;
  }
  if (verb == "start") {
    if (absl::Status s = db.Start(); !s.ok()) return Fail(s);
    std::cout << db.Url() << "\n";
    return kExitOk;
  }
  if (verb == "stop") {
    if (absl::Status s = db.Stop(); !s.ok()) return Fail(s);
    return kExitOk;
  }
  if (verb == "status") {
    absl::StatusOr<bool> running = db.IsRunning();
    if (!running.ok()) return Fail(running.status());
    std::cout << (*running ? "running " : "stopped ") << db.home() << "\n";
    return *running ? kExitOk : 3;
  }
  if (verb == "url") {
    std::cout << db.Url() << "\n";
    return kExitOk;
  }
  std::cerr << "ledger: unknown db command " << verb
            << "; usage: ledger db start|stop|status|url|standby --of HOME|promote\n";
  return kExitError;
}

int RunMigrate(const Args& args) {
  bool embedded = false;
  absl::StatusOr<std::string> conn = ResolveDatabase(args, &embedded);
  if (!conn.ok()) return Fail(conn.status());
  absl::StatusOr<std::unique_ptr<pg::Database>> store = pg::Database::Open(*conn);
  if (!store.ok()) return Fail(store.status());
  if (absl::Status s = CheckStandby(**store, args, *conn); !s.ok()) return Fail(s);
  pg::MigrateReport report;
  if (absl::Status s = (*store)->Migrate(&report); !s.ok()) return Fail(s);
  const bool roles = args.Has("roles");
  if (roles) {
    if (absl::Status s = (*store)->ApplyRoles(); !s.ok()) return Fail(s);
  }
  boost::json::array applied;
  for (const std::string& name : report.applied) applied.emplace_back(name);
  std::cout << boost::json::serialize(boost::json::object{
                   {"applied", applied},
                   {"alreadyApplied", report.already_applied},
                   {"roles", roles ? boost::json::value(boost::json::array{
                                         "ledger_writer", "ledger_projector", "ledger_auditor"})
                                   : boost::json::value(nullptr)}})
            << "\n";
  return kExitOk;
}

// The file a --rejects or --results flag names, truncated; not open without the flag.
absl::Status OpenOutput(const Args& args, const std::string& flag, std::ofstream* out) {
  const std::string path = args.Flag(flag);
  if (path.empty()) return absl::OkStatus();
  out->open(path, std::ios::trunc);
  if (!*out) return absl::PermissionDeniedError(StrCat("cannot write ", path));
  return absl::OkStatus();
}

void PrintAppendSummary(const AppendSummary& summary) {
  auto seq = [](const std::optional<int64_t>& v) {
    return v ? boost::json::value(*v) : boost::json::value(nullptr);
  };
  std::cout << boost::json::serialize(boost::json::object{{"accepted", summary.accepted},
                                                          {"duplicates", summary.duplicates},
                                                          {"rejected", summary.rejected},
                                                          {"firstSeq", seq(summary.first_seq)},
                                                          {"lastSeq", seq(summary.last_seq)},
                                                          {"retries", summary.retries},
                                                          {"recovered", summary.recovered}})
            << "\n";
}

int RunAppend(const Args& args) {
  const std::string path = args.positional.size() == 2 ? args.positional[1] : "-";
  std::ifstream file;
  if (path != "-") {
    if (absl::Status s = CheckInputFile(path); !s.ok()) return Fail(s);
    file.open(path, std::ios::binary);
  }
  std::istream& in = path == "-" ? std::cin : file;
  std::ofstream rejects;
  std::ofstream results;
  for (auto [flag, file] : {std::pair{"rejects", &rejects}, std::pair{"results", &results}}) {
    if (absl::Status s = OpenOutput(args, flag, file); !s.ok()) return Fail(s);
  }

  AppendOptions options;
  options.batch_events = args.Integer("batch-size", options.batch_events);
  options.on_reject = [&rejects](int64_t line, const Rejection& r, std::string_view text) {
    std::cerr << "line " << line << ": " << ErrorCodeName(r.code) << ": " << r.message << "\n";
    if (rejects.is_open()) rejects << RejectionJson(line, r, text) << "\n";
  };
  if (results.is_open()) {
    options.on_result = [&results](const LineResult& r) { results << LineResultText(r) << "\n"; };
  }
  std::optional<ProjectorOptions> projector_options = ProjectorFlags(args);
  if (!projector_options) return kExitError;
  const RetryFlags retry = ParseRetryFlags(args);
  options.retries_max = retry.retries_max;
  options.on_retry = retry.report;
  absl::StatusOr<std::unique_ptr<pg::Database>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  InlineProjection inline_projection(*projector_options);
  if (args.Has("inline")) {
    if (absl::Status s = inline_projection.Init(store->get()); !s.ok()) return Fail(s);
    options.observer = &inline_projection;
  }
  options.use_snapshot = !args.Has("no-snapshot");
  options.on_snapshot_skipped = ReportSnapshotSkipped;
  Appender appender(store->get(), std::move(options));
  AppendSummary summary;
  absl::Status status = appender.Run(in, &summary);
  if (status.ok() && appender.SnapshotDue() && !args.Has("inline")) SaveSnapshotOrWarn(appender);
  PrintAppendSummary(summary);
  for (std::ofstream* file : {&rejects, &results}) {
    if (file->is_open()) file->flush();
  }
  if (!status.ok()) {
    if (IsTransient(status)) {
      std::cerr << "ledger: gave up after " << summary.retries
                << " retries; the last batch may or "
                   "may not have committed: re-run the same input, events already written are "
                   "recognized as duplicates\n";
    }
    return Fail(status);
  }
  if (rejects.is_open() && !rejects) return Fail(absl::DataLossError("writing --rejects failed"));
  if (results.is_open() && !results) return Fail(absl::DataLossError("writing --results failed"));
  return summary.rejected > 0 ? kExitRejected : kExitOk;
}

int RunFoldSnapshot(const Args& args) {
  absl::StatusOr<std::unique_ptr<pg::Database>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  AppendOptions options;
  options.use_snapshot = !args.Has("full");
  options.on_snapshot_skipped = ReportSnapshotSkipped;
  const auto start = std::chrono::steady_clock::now();
  Appender appender(store->get(), std::move(options));
  if (absl::Status s = appender.CatchUp(); !s.ok()) return Fail(s);
  const int64_t started_from = appender.snapshot_seq();
  absl::StatusOr<int64_t> bytes = appender.SaveSnapshot();
  if (!bytes.ok()) return Fail(bytes.status());
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  std::cout << boost::json::serialize(
                   boost::json::object{{"seq", appender.head_seq()},
                                       {"hash", ToHex(appender.head_hash())},
                                       {"saved", *bytes > 0},
                                       {"bytes", *bytes},
                                       {"foldedFrom", started_from},
                                       {"identities", appender.identity_filter().size()},
                                       {"ms", ms}})
            << "\n";
  return kExitOk;
}

int RunDigest(const Args& args) {
  std::string private_pem;
  if (const std::string key = args.Flag("sign"); !key.empty()) {
    absl::StatusOr<std::string> text = ReadSmallFile(key, kKeyFileBytesMax);
    if (!text.ok()) return Fail(text.status());
    private_pem = *std::move(text);
    if (struct stat st; stat(key.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      std::cerr << "ledger digest: warning: " << key
                << " can be read by other users; a signing key should be mode 0600\n";
    }
  }
  absl::StatusOr<std::unique_ptr<pg::Database>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  absl::StatusOr<LogDigest> digest = TakeDigest(store->get(), NowMicros());
  if (!digest.ok()) return Fail(digest.status());
  if (!private_pem.empty()) {
    if (absl::Status s = SignDigest(private_pem, &*digest); !s.ok()) {
      return Fail(absl::InvalidArgumentError(StrCat(args.Flag("sign"), ": ", s.message())));
    }
  }
  std::cout << FormatDigest(*digest) << "\n";
  return kExitOk;
}

// Creates `path` with `mode` and writes `text`, durably; refuses a path that exists.
absl::Status WriteNewFile(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return errno == EEXIST
               ? absl::AlreadyExistsError(StrCat(path, " exists: keygen never overwrites a key"))
               : absl::PermissionDeniedError(
                     StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  const bool ok =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  close(fd);
  if (!ok) {
    unlink(path.c_str());
    return absl::PermissionDeniedError(StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

int RunKeygen(const Args& args) {
  const std::string prefix = args.Flag("out");
  if (prefix.empty()) {
    std::cerr << "usage: ledger keygen --out PREFIX (writes PREFIX.key and PREFIX.pub)\n";
    return kExitError;
  }
  absl::StatusOr<KeyPair> pair = GenerateKeyPair();
  if (!pair.ok()) return Fail(pair.status());
  const std::string private_path = prefix + ".key";
  const std::string public_path = prefix + ".pub";
  if (absl::Status s = WriteNewFile(private_path, pair->private_pem, 0600); !s.ok()) return Fail(s);
  if (absl::Status s = WriteNewFile(public_path, pair->public_pem, 0644); !s.ok()) {
    unlink(private_path.c_str());  // Nothing half-made stays behind.
    return Fail(s);
  }
  std::cout << boost::json::serialize(boost::json::object{{"keyId", pair->key_id},
                                                          {"privateKey", private_path},
                                                          {"publicKey", public_path}})
            << "\n";
  return kExitOk;
}

int RunGenerate(const Args& args) {
  StreamOptions options;
  options.events = args.Integer("events", options.events);
  options.seed = static_cast<uint64_t>(args.Integer("seed", static_cast<int64_t>(options.seed)));
  auto count = [&args](const char* name, int32_t fallback) {
    return static_cast<int32_t>(args.Integer(name, fallback));
  };
  options.markets = count("markets", options.markets);
  options.wallets = count("wallets", options.wallets);
  options.bad_line_every = count("bad-every", options.bad_line_every);
  options.duplicate_every = count("duplicate-every", options.duplicate_every);
  options.burst_every = count("burst-every", options.burst_every);
  options.id_prefix = args.Flag("id-prefix");
  std::ios::sync_with_stdio(false);
  int64_t events = 0;
  GenerateStream(options, std::cout, &events);
  std::cout.flush();
  if (events < options.events) {
    std::cerr << "ledger generate: stopped after " << events << " of " << options.events
              << " events: " << options.markets << " markets and " << options.wallets
              << " wallets hold no more (ten bets per wallet per market); give more --markets or "
                 "--wallets\n";
    return kExitError;
  }
  return std::cout ? kExitOk : kExitError;
}

}  // namespace

std::vector<Command> LogCommands() {
  const FlagSpec retries = kRetriesFlag;
  auto count = [](std::string_view name, int64_t min) {
    return Integer(name, "N", min, kGenerateCountMax);
  };
  return {
      {"db",
       "db start|stop|status|url|standby --of HOME|promote",
       "manage the embedded PostgreSQL cluster under $LEDGER_HOME; `standby --of HOME` makes it a\n"
       "streaming hot standby of the cluster under HOME (pg_basebackup -R) and starts it, "
       "`promote`\n"
       "makes a standby a primary (docs/deployment.md)",
       {Text("of", "HOME")},
       1,
       RunDb},
      {"migrate",
       "migrate [--roles]",
       "apply the schema migrations (idempotent); --roles also creates the ledger_writer,\n"
       "ledger_projector, ledger_auditor roles and grants",
       {kDbFlag, Switch("roles")},
       0,
       RunMigrate},
      {"append",
       "append [FILE|-] [--rejects FILE] [--results FILE] [--batch-size N] [--inline] [--retries "
       "N]\n"
       "           [--no-snapshot]",
       "validate and append JSON Lines events; prints a JSON summary; --results writes each "
       "line's\n"
       "status, seq and hash; --inline also updates the projections in the same transactions;\n"
       "rides out outages up to --retries times; starts from the newest fold snapshot unless\n"
       "--no-snapshot, and saves one after folding 100000 events past it",
       {kDbFlag, OutputFile("rejects"), OutputFile("results"),
        Integer("batch-size", "N", 1, kBatchEventsMax), Switch("inline"), kSnapshotIntervalFlag,
        retries, Switch("no-snapshot")},
       1,
       RunAppend},
      {"fold-snapshot",
       "fold-snapshot [--full]",
       "fold the log and save the fold as a snapshot that append and serve start from (not\n"
       "PoolSnapshot); --full folds from position 0 instead of the newest snapshot",
       {kDbFlag, Switch("full")},
       0,
       RunFoldSnapshot},
      {"digest",
       "digest [--sign KEY]",
       "print the log head {seq, hash, recordedAt, takenAt} for safekeeping outside the\n"
       "database; --sign adds the key id and an Ed25519 signature (docs/auditors-guide.md)",
       {kDbFlag, InputFile("sign")},
       0,
       RunDigest,
       kReadsDatabase},
      {"keygen",
       "keygen --out PREFIX",
       "make an Ed25519 key pair for signing digests: PREFIX.key (mode 0600) and PREFIX.pub;\n"
       "never overwrites",
       {Text("out", "PREFIX")},
       0,
       RunKeygen},
      {"generate",
       "generate [--events N] [--seed S] [--markets M] [--wallets W] [--bad-every K]\n"
       "           [--duplicate-every K] [--burst-every K] [--id-prefix P]",
       "write a deterministic sample stream of events to stdout",
       {Integer("events", "N", 0, kGenerateEventsMax), Integer("seed", "S", 0, kInt64Max),
        count("markets", 1), count("wallets", 1), count("bad-every", 0),
        count("duplicate-every", 0), count("burst-every", 0), Text("id-prefix", "P")},
       0,
       RunGenerate},
  };
}

}  // namespace ledger::cli
