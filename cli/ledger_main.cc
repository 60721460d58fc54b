// `ledger`: the command-line front of the engine. Thin by design: parse flags, resolve the database,
// call the engine, print results. Exit codes: 0 success, 1 some input lines rejected, 2 usage, I/O or
// database error (docs/cli.md).
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "boost/json.hpp"
#include "cli/common.h"
#include "engine/appender.h"
#include "engine/conn_string.h"
#include "engine/hash_chain.h"
#include "engine/pg/embedded_db.h"
#include "engine/pg/log_store.h"
#include "engine/stream_generator.h"
#include "engine/time_format.h"
#include "projections/runner.h"
#include "replay/audit.h"
#include "replay/reconcile.h"
#include "replay/replay.h"
#include "replay/verify.h"
#include "engine/str_cat.h"

namespace ledger {
namespace {

using cli::Args;
using cli::Fail;
using cli::kExitError;
using cli::kExitFindings;
using cli::kExitOk;
using cli::kExitRejected;
using cli::OpenStore;
using cli::ParseRetryFlags;
using cli::PrintTable;
using cli::ProjectorFlags;
using cli::ResolveDatabase;
using cli::RetryFlags;

constexpr char kUsage[] = R"(usage: ledger [--db URL] COMMAND [ARGS]

Database: --db URL, else $DATABASE_URL, else the embedded cluster under $LEDGER_HOME (default ./.ledger),
started on first use and migrated automatically.

Commands:
  db start|stop|status|url       manage the embedded PostgreSQL cluster
  migrate [--roles]              apply the schema migrations (idempotent); --roles also creates the
                                 ledger_writer, ledger_projector, ledger_auditor roles and grants
  append [FILE|-] [--rejects FILE] [--batch-size N] [--inline]
                                 validate and append JSON Lines events; prints a JSON summary;
                                 --inline also updates the projections in the same transactions
  project [--follow] [--snapshot-retention 30d]
                                 bring Bet, Market, FlaggedWallet, PoolSnapshot up to the log;
                                 --follow keeps them up to date until SIGINT/SIGTERM;
                                 --snapshot-retention keeps only recent PoolSnapshot rows
  rebuild [--projection NAME]    rebuild projections from the whole log (market, bet,
                                 flagged_wallet, pool_snapshot; default all) and swap them in
  (append --inline, project and rebuild take --snapshot-interval DURATION, e.g. 300s, 5m, 1h;
   default 5m; use the same value everywhere)
  (append, project --follow and publish ride out a lost connection or a database restart: they
   report it, reconnect and redo uncommitted work up to --retries N times, default 12, backoff
   100 ms doubling to 5 s)
  digest                         print the log head {seq, hash} for safekeeping outside the database
  replay --until SEQ|TIME [--market ID] [--wallet ADDR] [--format json|table]
                                 the state as of a position or a moment (recordedAt), from the log
  verify [--digest FILE]         check the hash chain, positions, the digest, and the projections
                                 against the log; exit 3 when anything is wrong
  audit --market ID | --wallet ADDR [--format json|csv|html] [--out FILE]
                                 timeline, statistics and (resolved market) parimutuel settlement
  reconcile [--chain FILE.csv]   clawbacks vs refunds, and refunds vs on-chain transfers
                                 (CSV: txHash,from,to,amount,timestamp); exit 3 unless reconciled
  rules run [--velocity 3/1h|off] [--concentration 0.25|off] [--min-pool MICROS] [--dry-run]
                                 flag (append FLAGGED for) the confirmed bets of high-velocity and
                                 concentrated wallets; --dry-run only prints them
  markets close-expired [--dry-run]
                                 append MARKET_CLOSED for every ACTIVE market past its endDate
  stats --market ID              the seed's market statistics, from the projections
  history --wallet ADDR          the seed's bet history of a wallet, from the projections
  (rules, markets, stats and history print a table on a terminal, else JSON; --format json|table;
   rules and markets take --now RFC3339-TIME to decide as of another time)
  feed [--from SEQ] [--follow] [--market ID] [--action A,...] [--consumer NAME]
                                 the log as JSON Lines in position order; --consumer keeps its
                                 position in the database and resumes from it (at-least-once)
  publish --nats URL [--stream NAME] [--subject-prefix P] [--replicas N] [--follow]
                                 publish the log to a NATS JetStream stream, exactly once, in order
  demo [--events N]              the main job on the embedded database: generate a realistic stream,
                                 append it, run the rules, project, verify, reconcile, report
  generate [--events N] [--seed S] [--markets M] [--wallets W] [--bad-every K] [--duplicate-every K]
           [--burst-every K]
           [--id-prefix P]
                                 write a deterministic sample stream of events to stdout
)";


int RunDb(const Args& args) {
  if (args.positional.size() != 2) {
    std::cerr << kUsage;
    return kExitError;
  }
  const std::string& verb = args.positional[1];
  pg::EmbeddedDb db(pg::EmbeddedDb::DefaultHome());
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
  std::cerr << kUsage;
  return kExitError;
}

int RunMigrate(const Args& args) {
  bool embedded = false;
  absl::StatusOr<std::string> conn = ResolveDatabase(args, &embedded);
  if (!conn.ok()) return Fail(conn.status());
  absl::StatusOr<std::unique_ptr<pg::LogStore>> store = pg::LogStore::Open(*conn);
  if (!store.ok()) return Fail(store.status());
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

int RunAppend(const Args& args) {
  if (args.positional.size() > 2) {
    std::cerr << kUsage;
    return kExitError;
  }
  const std::string path = args.positional.size() == 2 ? args.positional[1] : "-";
  std::ifstream file;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) return Fail(absl::NotFoundError(StrCat("cannot open ", path)));
  }
  std::istream& in = path == "-" ? std::cin : file;

  AppendOptions options;
  if (std::string size = args.Flag("batch-size"); !size.empty()) {
    if (!absl::SimpleAtoi(size, &options.batch_events) || options.batch_events < 1 ||
        options.batch_events > kBatchEventsMax) {
      std::cerr << "ledger: --batch-size must be 1 to " << kBatchEventsMax << ", got " << size
                << "\n";
      return kExitError;
    }
  }
  std::ofstream rejects;
  if (std::string rejects_path = args.Flag("rejects"); !rejects_path.empty()) {
    rejects.open(rejects_path, std::ios::trunc);
    if (!rejects) return Fail(absl::PermissionDeniedError("cannot write " + rejects_path));
  }
  options.on_reject = [&rejects](int64_t line, const Rejection& r, std::string_view text) {
    std::cerr << "line " << line << ": " << ErrorCodeName(r.code) << ": " << r.message << "\n";
    if (rejects.is_open()) {
      rejects << cli::RejectionJson(line, r, text) << "\n";
    }
  };

  std::optional<ProjectorOptions> projector_options = ProjectorFlags(args);
  if (!projector_options) return kExitError;
  std::optional<RetryFlags> retry = ParseRetryFlags(args);
  if (!retry) return kExitError;
  options.retries_max = retry->retries_max;
  options.on_retry = retry->report;
  absl::StatusOr<std::unique_ptr<pg::LogStore>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  InlineProjection inline_projection(*projector_options);
  if (args.flags.contains("inline")) {
    if (absl::Status s = inline_projection.Init(store->get()); !s.ok()) return Fail(s);
    options.observer = &inline_projection;
  }
  Appender appender(store->get(), std::move(options));
  AppendSummary summary;
  absl::Status status = appender.Run(in, &summary);
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
  if (rejects.is_open()) rejects.flush();
  if (!status.ok()) {
    if (IsTransient(status)) {
      std::cerr << "ledger: gave up after " << summary.retries << " retries; the last batch may or "
                   "may not have committed: re-run the same input, events already written are "
                   "recognized as duplicates\n";
    }
    return Fail(status);
  }
  if (rejects.is_open() && !rejects) return Fail(absl::DataLossError("writing --rejects failed"));
  return summary.rejected > 0 ? kExitRejected : kExitOk;
}

int RunProject(const Args& args) {
  std::optional<ProjectorOptions> options = ProjectorFlags(args);
  if (!options) return kExitError;
  std::optional<RetryFlags> retry = ParseRetryFlags(args);
  if (!retry) return kExitError;
  absl::StatusOr<std::unique_ptr<pg::LogStore>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  CatchUpRunner runner(store->get(), *options);
  if (args.flags.contains("follow")) {
    if (absl::Status s = runner.Follow(cli::StopOnSignals(), retry->report, retry->retries_max);
        !s.ok()) {
      return Fail(s);
    }
    return kExitOk;
  }
  absl::StatusOr<int64_t> applied = runner.RunOnce();
  if (!applied.ok()) return Fail(applied.status());
  absl::StatusOr<std::array<int64_t, kProjectionCount>> checkpoints =
      LoadCheckpoints(store->get());
  if (!checkpoints.ok()) return Fail(checkpoints.status());
  boost::json::object cps;
  for (int i = 0; i < kProjectionCount; ++i) {
    cps[ProjectionName(static_cast<Projection>(i))] = (*checkpoints)[static_cast<size_t>(i)];
  }
  std::cout << boost::json::serialize(boost::json::object{{"applied", *applied},
                                                          {"checkpoints", cps},
                                                          {"snapshotsTrimmed",
                                                           runner.snapshots_trimmed()}})
            << "\n";
  return kExitOk;
}

int RunRebuild(const Args& args) {
  std::optional<ProjectorOptions> options = ProjectorFlags(args);
  if (!options) return kExitError;
  std::vector<Projection> only;
  if (std::string name = args.Flag("projection"); !name.empty()) {
    std::optional<Projection> p = ParseProjection(name);
    if (!p) {
      std::cerr << "ledger: unknown projection " << name
                << " (market, bet, flagged_wallet, pool_snapshot)\n";
      return kExitError;
    }
    only.push_back(*p);
  }
  absl::StatusOr<std::unique_ptr<pg::LogStore>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  const bool tty = isatty(STDERR_FILENO) != 0;
  const absl::Time start = absl::Now();
  auto progress = [&](const RebuildProgress& p) {
    if (!tty) return;
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    const double rate = seconds > 0 ? static_cast<double>(p.events) / seconds : 0;
    const double eta = rate > 0 ? static_cast<double>(p.total - p.events) / rate : 0;
    std::cerr << absl::StrFormat("\rrebuild: %d/%d events, %.0f events/s, ETA %.0fs   ", p.events,
                                 p.total, rate, eta)
              << std::flush;
  };
  absl::Status status = Rebuild(store->get(), *options, only, progress);
  if (tty) std::cerr << "\n";
  if (!status.ok()) return Fail(status);
  absl::StatusOr<std::pair<int64_t, Sha256>> head = (*store)->Head();
  if (!head.ok()) return Fail(head.status());
  std::cout << boost::json::serialize(boost::json::object{
                   {"rebuilt", only.empty() ? "all" : std::string(ProjectionName(only[0]))},
                   {"seq", head->first},
                   {"seconds", absl::ToDoubleSeconds(absl::Now() - start)}})
            << "\n";
  return kExitOk;
}

// Rows of one projection as JSON objects keyed by column, filtered by `keep`.
boost::json::array RowsAsJson(const Projector& projector, Projection p,
                              const std::function<bool(const pg::Row&)>& keep) {
  const pg::TableRows& shape = EmptyTable(p);
  boost::json::array out;
  projector.ForEachRow(p, [&](const pg::Row& row) {
    if (!keep(row)) return;
    boost::json::object o;
    for (size_t i = 0; i < row.size(); ++i) {
      o[shape.columns[i]] = row[i] ? boost::json::value(*row[i]) : boost::json::value(nullptr);
    }
    out.push_back(std::move(o));
  });
  std::sort(out.begin(), out.end(), [](const boost::json::value& a, const boost::json::value& b) {
    return a.at("id").as_string() < b.at("id").as_string();
  });
  return out;
}

int RunReplay(const Args& args) {
  std::optional<ReplayPoint> point = ReplayPoint::Parse(args.Flag("until"));
  if (!point) {
    std::cerr << "ledger: replay needs --until SEQ or --until RFC3339-TIME\n";
    return kExitError;
  }
  const std::string format = args.Flag("format", "json");
  if (format != "json" && format != "table") {
    std::cerr << "ledger: --format must be json or table\n";
    return kExitError;
  }
  std::string wallet = args.Flag("wallet");
  for (char& c : wallet) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string market = args.Flag("market");
  std::optional<ProjectorOptions> options = ProjectorFlags(args);
  if (!options) return kExitError;
  absl::StatusOr<std::unique_ptr<pg::LogStore>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  absl::StatusOr<Projector> state = ReplayUntil(store->get(), *point, *options);
  if (!state.ok()) return Fail(state.status());
  // Column indexes: Bet (1 walletAddress, 2 marketId), FlaggedWallet (1 wallet, 2 marketId),
  // Market (1 marketId), PoolSnapshot (1 marketId).
  auto by_market = [&market](size_t column) {
    return [&market, column](const pg::Row& r) { return market.empty() || *r[column] == market; };
  };
  auto by_wallet = [&wallet](size_t column) {
    return [&wallet, column](const pg::Row& r) { return wallet.empty() || *r[column] == wallet; };
  };
  boost::json::array bets = RowsAsJson(*state, Projection::kBet, [&](const pg::Row& r) {
    return by_market(2)(r) && by_wallet(1)(r);
  });
  std::set<std::string> bet_markets;
  for (const boost::json::value& b : bets) bet_markets.insert(std::string(b.at("marketId").as_string()));
  boost::json::array markets = RowsAsJson(*state, Projection::kMarket, [&](const pg::Row& r) {
    return by_market(1)(r) && (wallet.empty() || bet_markets.contains(*r[1]));
  });
  boost::json::array flagged = RowsAsJson(*state, Projection::kFlaggedWallet, [&](const pg::Row& r) {
    return by_market(2)(r) && by_wallet(1)(r);
  });
  if (format == "table") {
    std::cout << "state as of seq " << state->head_seq() << "\n";
    PrintTable("markets", markets, {"marketId", "status", "winner", "yesPool", "noPool", "updatedAt"});
    PrintTable("bets", bets, {"id", "walletAddress", "marketId", "choice", "amount", "status",
                              "createdAt"});
    PrintTable("flagged wallets", flagged, {"wallet", "marketId", "severity", "isActive", "reason"});
    return kExitOk;
  }
  std::cout << boost::json::serialize(boost::json::object{{"seq", state->head_seq()},
                                                          {"markets", markets},
                                                          {"bets", bets},
                                                          {"flaggedWallets", flagged}})
            << "\n";
  return kExitOk;
}

int RunVerify(const Args& args) {
  std::optional<Digest> digest;
  if (std::string path = args.Flag("digest"); !path.empty()) {
    std::ifstream file(path);
    if (!file) return Fail(absl::NotFoundError("cannot open digest file " + path));
    std::stringstream text;
    text << file.rdbuf();
    absl::StatusOr<Digest> parsed = ParseDigest(text.str());
    if (!parsed.ok()) return Fail(parsed.status());
    digest = *parsed;
  }
  std::optional<ProjectorOptions> options = ProjectorFlags(args);
  if (!options) return kExitError;
  absl::StatusOr<std::unique_ptr<pg::LogStore>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  absl::StatusOr<VerifyReport> report = Verify(store->get(), digest, *options);
  if (!report.ok()) return Fail(report.status());
  boost::json::array breaks;
  for (const ChainBreak& b : report->breaks) {
    breaks.push_back({{"seq", b.seq}, {"kind", b.kind}, {"detail", b.detail}});
  }
  boost::json::array drift;
  for (const Drift& d : report->drift) {
    auto opt = [](const std::optional<std::string>& v) {
      return v ? boost::json::value(*v) : boost::json::value(nullptr);
    };
    drift.push_back({{"table", d.table}, {"key", d.key}, {"kind", d.kind}, {"column", d.column},
                     {"expected", opt(d.expected)}, {"found", opt(d.found)}});
  }
  std::cout << boost::json::serialize(boost::json::object{
                   {"clean", report->clean()},
                   {"rows", report->rows},
                   {"headSeq", report->head_seq},
                   {"headHash", ToHex(report->head_hash)},
                   {"firstBreak", report->breaks.empty() ? boost::json::value(nullptr)
                                                         : boost::json::value(report->breaks[0].seq)},
                   {"breaks", breaks},
                   {"digest", report->digest_problem ? boost::json::value(*report->digest_problem)
                                                     : boost::json::value(digest ? "ok" : "none")},
                   {"drift", drift},
                   {"seconds", report->total_seconds},
                   {"engineSeconds", report->engine_seconds},
                   {"scanSeconds", report->scan_seconds},
                   {"compareSeconds", report->compare_seconds},
                   {"chainSeconds", report->chain_seconds},
                   {"foldSeconds", report->fold_seconds}})
            << "\n";
  if (report->clean()) {
    std::cerr << "verify: clean: " << report->rows << " rows, chain intact to seq "
              << report->head_seq << (digest ? ", digest matches" : "")
              << ", projections match the log\n";
    return kExitOk;
  }
  std::cerr << "verify: FAILED\n";
  for (const ChainBreak& b : report->breaks) {
    std::cerr << "  seq " << b.seq << ": " << b.kind << ": " << b.detail << "\n";
  }
  if (report->digest_problem) std::cerr << "  digest: " << *report->digest_problem << "\n";
  for (const Drift& d : report->drift) {
    std::cerr << "  drift " << d.table << " " << d.key << ": " << d.kind
              << (d.column.empty() ? "" : " " + d.column) << "\n";
  }
  return kExitFindings;
}

int RunAudit(const Args& args) {
  const std::string market = args.Flag("market");
  std::string wallet = args.Flag("wallet");
  for (char& c : wallet) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (market.empty() == wallet.empty()) {
    std::cerr << "ledger: audit needs exactly one of --market ID and --wallet ADDR\n";
    return kExitError;
  }
  const std::string format = args.Flag("format", "json");
  if (format != "json" && format != "csv" && format != "html") {
    std::cerr << "ledger: --format must be json, csv or html\n";
    return kExitError;
  }
  std::optional<ProjectorOptions> options = ProjectorFlags(args);
  if (!options) return kExitError;
  absl::StatusOr<std::unique_ptr<pg::LogStore>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  absl::StatusOr<AuditReport> report =
      Audit(store->get(), market.empty() ? std::nullopt : std::optional<std::string>(market),
            wallet.empty() ? std::nullopt : std::optional<std::string>(wallet), *options);
  if (!report.ok()) return Fail(report.status());
  const std::string text = format == "json"  ? AuditJson(*report) + "\n"
                           : format == "csv" ? AuditCsv(*report)
                                             : AuditHtml(*report);
  if (std::string out = args.Flag("out"); !out.empty()) {
    std::ofstream file(out, std::ios::trunc);
    file << text;
    if (!file) return Fail(absl::PermissionDeniedError("cannot write " + out));
    std::cerr << "audit: wrote " << out << "\n";
  } else {
    std::cout << text;
  }
  if (report->settlement && !report->settlement->conserved) {
    std::cerr << "audit: settlement does not conserve the stakes\n";
    return kExitFindings;
  }
  return kExitOk;
}

int RunReconcile(const Args& args) {
  std::ifstream chain;
  if (std::string path = args.Flag("chain"); !path.empty()) {
    chain.open(path, std::ios::binary);
    if (!chain) return Fail(absl::NotFoundError("cannot open " + path));
  }
  absl::StatusOr<std::unique_ptr<pg::LogStore>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  absl::StatusOr<ReconcileReport> report =
      Reconcile(store->get(), chain.is_open() ? &chain : nullptr, NowMicros());
  if (!report.ok()) return Fail(report.status());
  boost::json::array findings;
  std::map<std::string, int> by_kind;
  for (const Finding& f : report->findings) {
    ++by_kind[f.kind];
    boost::json::object o{{"kind", f.kind}, {"betId", f.bet_id}, {"marketId", f.market_id},
                          {"wallet", f.wallet}, {"seq", f.seq}, {"txHash", f.tx_hash},
                          {"detail", f.detail}};
    if (f.kind == "CLAWBACK_NOT_REFUNDED") o["ageSeconds"] = f.age_seconds;
    findings.push_back(std::move(o));
  }
  std::cout << boost::json::serialize(boost::json::object{
                   {"reconciled", report->reconciled()},
                   {"clawbacks", report->clawbacks},
                   {"refunds", report->refunds},
                   {"clawedBackMicros", report->clawed_back_micros},
                   {"chainTransfers", report->chain_transfers},
                   {"findings", findings}})
            << "\n";
  std::cerr << "reconcile: " << report->clawbacks << " clawbacks, " << report->refunds
            << " refunds" << (chain.is_open() ? StrCat(", ", report->chain_transfers, " on-chain transfers") : "")
            << ": " << (report->reconciled() ? "everything reconciles" : "NOT reconciled") << "\n";
  for (const auto& [kind, count] : by_kind) std::cerr << "  " << kind << ": " << count << "\n";
  return report->reconciled() ? kExitOk : kExitFindings;
}

int RunDigest(const Args& args) {
  absl::StatusOr<std::unique_ptr<pg::LogStore>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  absl::StatusOr<std::pair<int64_t, Sha256>> head = (*store)->Head();
  if (!head.ok()) return Fail(head.status());
  std::cout << boost::json::serialize(
                   boost::json::object{{"seq", head->first}, {"hash", ToHex(head->second)}})
            << "\n";
  return kExitOk;
}

int RunGenerate(const Args& args) {
  StreamOptions options;
  auto number = [&args](const char* name, auto* out) {
    std::string value = args.Flag(name);
    if (value.empty()) return true;
    if (absl::SimpleAtoi(value, out) && *out >= 0) return true;
    std::cerr << "ledger: --" << name << " must be a non-negative integer, got " << value << "\n";
    return false;
  };
  if (!number("events", &options.events) || !number("seed", &options.seed) ||
      !number("markets", &options.markets) || !number("wallets", &options.wallets) ||
      !number("bad-every", &options.bad_line_every) ||
      !number("duplicate-every", &options.duplicate_every) ||
      !number("burst-every", &options.burst_every)) {
    return kExitError;
  }
  options.id_prefix = args.Flag("id-prefix");
  if (options.markets < 1 || options.wallets < 1) {
    std::cerr << "ledger: --markets and --wallets must be at least 1\n";
    return kExitError;
  }
  std::ios::sync_with_stdio(false);
  GenerateStream(options, std::cout);
  std::cout.flush();
  return std::cout ? kExitOk : kExitError;
}

int Main(int argc, char** argv) {
  std::optional<Args> args = cli::ParseArgs(argc, argv);
  if (!args) return kExitError;
  if (args->positional.empty() || args->flags.contains("help")) {
    std::cerr << kUsage;
    return args->flags.contains("help") ? kExitOk : kExitError;
  }
  const std::string& command = args->positional[0];
  if (command == "db") return RunDb(*args);
  if (command == "migrate") return RunMigrate(*args);
  if (command == "append") return RunAppend(*args);
  if (command == "digest") return RunDigest(*args);
  if (command == "project") return RunProject(*args);
  if (command == "rebuild") return RunRebuild(*args);
  if (command == "replay") return RunReplay(*args);
  if (command == "verify") return RunVerify(*args);
  if (command == "audit") return RunAudit(*args);
  if (command == "reconcile") return RunReconcile(*args);
  if (command == "generate") return RunGenerate(*args);
  if (command == "rules") return cli::RunRules(*args);
  if (command == "markets") return cli::RunMarkets(*args);
  if (command == "stats") return cli::RunStats(*args);
  if (command == "history") return cli::RunHistory(*args);
  if (command == "demo") return cli::RunDemo(*args);
  if (command == "feed") return cli::RunFeed(*args);
  if (command == "publish") return cli::RunPublish(*args);
  std::cerr << "ledger: unknown command " << command << "\n" << kUsage;
  return kExitError;
}

}  // namespace
}  // namespace ledger

int main(int argc, char** argv) {
  const int code = ledger::Main(argc, argv);
  // Flushed here, not by the exit handlers: a summary must reach its reader even when a handler
  // that runs before the streams' (LeakSanitizer's, in the ASan build) ends the process.
  std::cout.flush();
  return code;
}
