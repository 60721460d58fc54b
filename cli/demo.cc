// `ledger demo`: the main job for a newcomer, on the embedded database. Generates a realistic
// stream (the seed's market and a dozen others, thousands of wallets, bursts that trip the velocity
// rule, clawbacks and refunds, some bad and duplicate lines), appends it with a progress bar, runs
// the risk rules and the expiry job, projects, verifies against a digest, reconciles, and ends with
// a summary and the HTML audit report of the largest market. Safe to run again: the second run
// finds every event already in the log and flags nothing new.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cli/command.h"
#include "cli/common.h"
#include "engine/automation.h"
#include "engine/hash_chain.h"
#include "engine/pg/embedded_db.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"
#include "projections/runner.h"
#include "replay/audit.h"
#include "replay/reconcile.h"
#include "replay/replay.h"
#include "replay/verify.h"
#include "sample/stream_generator.h"

namespace ledger::cli {
namespace {

// 50k events take about ten seconds to append here: long enough to show every kind of event, short
// enough for a first run.
constexpr int64_t kDemoEventsDefault = 50000;
constexpr int64_t kDemoEventsMax = 10000000;
// The stream's shape: the seed's market and a dozen others, thousands of wallets, a bad line in
// 2500, a re-sent line in 5000, a burst of rapid bets every 300 placements.
constexpr int32_t kDemoMarkets = 13;
constexpr int32_t kDemoWallets = 20000;
constexpr int32_t kDemoBadEvery = 2500;
constexpr int32_t kDemoDuplicateEvery = 5000;
constexpr int32_t kDemoBurstEvery = 300;
constexpr int kProgressBarWidth = 30;

class Progress {
 public:
  explicit Progress(int64_t total) : total_(total), tty_(isatty(STDERR_FILENO) != 0) {}
  void Update(int64_t done) {
    if (!tty_ || total_ == 0) return;
    const int64_t filled = done * kProgressBarWidth / total_;
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start_);
    std::cerr << absl::StrFormat("\r   [%s%s] %d/%d lines, %.0f lines/s ",
                                 std::string(static_cast<size_t>(filled), '#'),
                                 std::string(static_cast<size_t>(kProgressBarWidth - filled), '.'),
                                 done, total_,
                                 seconds > 0 ? static_cast<double>(done) / seconds : 0)
              << std::flush;
  }
  void Done() {
    if (tty_) std::cerr << "\n";
  }

 private:
  int64_t total_;
  bool tty_;
  absl::Time start_ = absl::Now();
};

void Step(const std::string& text) { std::cout << "== " << text << std::endl; }

// The market with the largest pool, as of the log head.
absl::StatusOr<std::string> LargestMarket(pg::Database* store) {
  absl::StatusOr<Projector> state = ReplayUntil(store, ReplayPoint::Head());
  if (!state.ok()) return state.status();
  std::string best;
  Int128 best_pool = -1;
  state->state().ForEachMarket([&](const std::string& id, const MarketState& m) {
    const Int128 pool = static_cast<Int128>(m.yes_pool.value()) + m.no_pool.value();
    if (pool > best_pool) {
      best_pool = pool;
      best = id;
    }
  });
  if (best.empty()) return absl::NotFoundError("the log has no market");
  return best;
}

struct DemoTotals {
  AppendSummary append;
  std::map<std::string, int64_t> rejected_by_code;
  int64_t flagged = 0;
  int64_t flag_hits = 0;
  int64_t closed = 0;
};

absl::Status AppendStream(pg::Database* store, const std::string& stream_path,
                          const std::string& rejects_path, int64_t lines, DemoTotals* totals) {
  std::ifstream in(stream_path, std::ios::binary);
  std::ofstream rejects(rejects_path, std::ios::trunc);
  if (!in || !rejects) return absl::PermissionDeniedError(StrCat("cannot use ", stream_path));
  Progress progress(lines);
  AppendOptions options;
  options.on_reject = [&](int64_t line, const Rejection& r, std::string_view text) {
    ++totals->rejected_by_code[std::string(ErrorCodeName(r.code))];
    rejects << RejectionJson(line, r, text) << "\n";
  };
  options.on_batch = [&](const AppendSummary& s) {
    progress.Update(s.accepted + s.duplicates + s.rejected);
  };
  Appender appender(store, std::move(options));
  absl::Status status = appender.Run(in, &totals->append);
  progress.Done();
  return status;
}

// What each step found, for the summary.
struct DemoRun {
  std::string home;
  std::string stream_path;
  std::string rejects_path;
  std::string digest_path;
  std::string report_path;
  DemoTotals totals;
  RulesOutcome rules;
  DecisionOutcome closed;
  std::pair<int64_t, Sha256> head;
  std::optional<LogDigest> digest;  // Checked again by the audit report.
  std::string database;             // As the report's header names it.
  VerifyReport verify;
  ReconcileReport reconcile;
  std::string largest;
  MarketStats largest_stats;
};

absl::Status GenerateAndAppend(pg::Database* store, const StreamOptions& stream, DemoRun* run) {
  Step(
      absl::StrFormat("generating %d events: %d markets, %d wallets, bursts, clawbacks, refunds, "
                      "bad and re-sent lines -> %s",
                      stream.events, stream.markets, stream.wallets, run->stream_path));
  int64_t lines = 0;
  {
    std::ofstream out(run->stream_path, std::ios::trunc | std::ios::binary);
    lines = GenerateStream(stream, out);
    if (!out.flush()) return absl::PermissionDeniedError("cannot write " + run->stream_path);
  }
  Step("appending (validated, hash-chained, exactly once)");
  LEDGER_RETURN_IF_ERROR(
      AppendStream(store, run->stream_path, run->rejects_path, lines, &run->totals));
  const AppendSummary& append = run->totals.append;
  std::cout << absl::StrFormat("   %d appended, %d already in the log, %d refused (-> %s)\n",
                               append.accepted, append.duplicates, append.rejected,
                               run->rejects_path);
  for (const auto& [code, count] : run->totals.rejected_by_code) {
    std::cout << absl::StrFormat("     %-24s %d\n", code, count);
  }
  return absl::OkStatus();
}

// The seed's cron jobs (risk rules, market expiry), then the projections.
absl::Status RunOperations(pg::Database* store, DemoRun* run) {
  Step("risk rules: velocity 3 bets within 1h, concentration above 25% of a side");
  LEDGER_ASSIGN_OR_RETURN(
      run->rules, RunRiskRules(store, RiskRules{VelocityRule{}, ConcentrationRule{}}, NowMicros(),
                               /*dry_run=*/false));
  std::cout << absl::StrFormat("   %d bets hit a rule; %d FLAGGED events appended\n",
                               run->rules.hits.size(), run->rules.outcome.appended.accepted);
  Step("closing markets past their endDate");
  LEDGER_ASSIGN_OR_RETURN(run->closed, CloseExpiredMarkets(store, NowMicros(), false));
  for (const Event& e : run->closed.decided) {
    std::cout << "   " << *e.market_id << ": " << *e.reason << "\n";
  }
  if (run->closed.decided.empty()) std::cout << "   none expired\n";
  Step("projecting Bet, Market, FlaggedWallet, PoolSnapshot");
  CatchUpRunner runner(store, ProjectorOptions{});
  return runner.RunOnce().status();
}

absl::Status DigestAndVerify(pg::Database* store, DemoRun* run) {
  Step("taking a digest and verifying chain, digest and projections");
  LEDGER_ASSIGN_OR_RETURN(const LogDigest digest, TakeDigest(store, NowMicros()));
  run->head = {digest.seq, digest.hash};
  run->digest = digest;
  {
    std::ofstream file(run->digest_path, std::ios::trunc);
    file << FormatDigest(digest) << "\n";
    if (!file.flush()) return absl::PermissionDeniedError("cannot write " + run->digest_path);
  }
  LEDGER_ASSIGN_OR_RETURN(run->verify, Verify(store, digest, ProjectorOptions{}));
  std::cout << absl::StrFormat("   %d rows, head %d %s: %s\n", run->verify.rows,
                               run->verify.head_seq, ToHex(run->verify.head_hash).substr(0, 16),
                               run->verify.clean() ? "clean" : "FINDINGS (run ledger verify)");
  return absl::OkStatus();
}

absl::Status ReconcileClawbacks(pg::Database* store, DemoRun* run) {
  Step("reconciling clawbacks and refunds");
  LEDGER_ASSIGN_OR_RETURN(run->reconcile, Reconcile(store, nullptr, NowMicros()));
  std::map<std::string, int64_t> findings;
  for (const Finding& f : run->reconcile.findings) ++findings[f.kind];
  std::cout << absl::StrFormat("   %d clawbacks (%s USDT), %d refunds\n", run->reconcile.clawbacks,
                               UsdtText(run->reconcile.clawed_back_micros), run->reconcile.refunds);
  for (const auto& [kind, count] : findings) std::cout << "     " << kind << ": " << count << "\n";
  return absl::OkStatus();
}

absl::Status WriteLargestMarketReport(pg::Database* store, DemoRun* run) {
  LEDGER_ASSIGN_OR_RETURN(run->largest, LargestMarket(store));
  Step(StrCat("audit report of the largest market, ", run->largest));
  AuditOptions options;
  options.digest = run->digest;
  options.digest_signature = "unsigned";
  options.database = run->database;
  LEDGER_ASSIGN_OR_RETURN(AuditReport audit, Audit(store, run->largest, std::nullopt, options));
  if (audit.markets.empty()) return absl::InternalError("audit of a market without statistics");
  run->largest_stats = audit.markets.front();
  run->report_path = StrCat(run->home, "/audit-", run->largest, ".html");
  std::ofstream html(run->report_path, std::ios::trunc);
  html << AuditHtml(audit);
  if (!html.flush()) return absl::PermissionDeniedError("cannot write " + run->report_path);
  return absl::OkStatus();
}

void PrintSummary(const DemoRun& run) {
  const AppendSummary& append = run.totals.append;
  std::cout << "\nSummary\n"
            << absl::StrFormat("  log            %d events, head %s (digest in %s)\n",
                               run.head.first, ToHex(run.head.second), run.digest_path)
            << absl::StrFormat(
                   "  this run       %d appended, %d duplicates, %d bad lines refused\n",
                   append.accepted, append.duplicates, append.rejected)
            << absl::StrFormat("  risk rules     %d new FLAGGED events\n",
                               run.rules.outcome.appended.accepted)
            << absl::StrFormat("  expiry         %d markets closed\n", run.closed.appended.accepted)
            << absl::StrFormat("  verify         %s\n", run.verify.clean() ? "clean" : "FINDINGS")
            << absl::StrFormat(
                   "  reconcile      %d findings (the sample leaves some clawbacks "
                   "unrefunded on purpose)\n",
                   run.reconcile.findings.size())
            << absl::StrFormat("  largest market %s: %s USDT YES, %s USDT NO\n", run.largest,
                               UsdtText(run.largest_stats.yes_pool),
                               UsdtText(run.largest_stats.no_pool))
            << "\nHTML audit report: " << run.report_path << "\n"
            << "Next: build/ledger stats --market " << run.largest
            << ", build/ledger rules run --dry-run, build/ledger verify --digest "
            << run.digest_path << "\n";
}

}  // namespace

int RunDemo(const Args& args) {
  StreamOptions stream{.events = args.Integer("events", kDemoEventsDefault),
                       .markets = kDemoMarkets,
                       .wallets = kDemoWallets,
                       .seed = 42,
                       .bad_line_every = kDemoBadEvery,
                       .duplicate_every = kDemoDuplicateEvery,
                       .burst_every = kDemoBurstEvery,
                       .id_prefix = ""};
  if (const char* url = std::getenv("DATABASE_URL"); args.Has("db") || (url != nullptr && *url)) {
    std::cerr << "ledger: demo runs on the embedded database only (unset DATABASE_URL, no --db)\n";
    return kExitError;
  }
  DemoRun run;
  run.home = pg::EmbeddedDb(pg::EmbeddedDb::DefaultHome()).home();
  run.stream_path = StrCat(run.home, "/demo-stream.jsonl");
  run.rejects_path = StrCat(run.home, "/demo-rejects.jsonl");
  run.digest_path = StrCat(run.home, "/digest.json");
  run.database = StrCat("the embedded PostgreSQL under ", run.home);
  Step(StrCat("starting the embedded PostgreSQL under ", run.home));
  absl::StatusOr<std::unique_ptr<pg::Database>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  if (absl::Status s = GenerateAndAppend(store->get(), stream, &run); !s.ok()) return Fail(s);
  for (auto step : {RunOperations, DigestAndVerify, ReconcileClawbacks, WriteLargestMarketReport}) {
    if (absl::Status s = step(store->get(), &run); !s.ok()) return Fail(s);
  }
  PrintSummary(run);
  return run.verify.clean() ? kExitOk : kExitFindings;
}

std::vector<Command> DemoCommands() {
  return {
      {"demo",
       "demo [--events N]",
       "the main job on the embedded database: generate a realistic stream, append it, run the\n"
       "rules, project, verify, reconcile, report",
       {kDbFlag, Integer("events", "N", kDemoMarkets, kDemoEventsMax)},
       0,
       RunDemo}};
}

}  // namespace ledger::cli
