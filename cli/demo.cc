// `ledger demo`: the main job for a newcomer, on the embedded database. Generates a realistic stream
// (the seed's market and a dozen others, thousands of wallets, bursts that trip the velocity rule,
// clawbacks and refunds, some bad and duplicate lines), appends it with a progress bar, runs the risk
// rules and the expiry job, projects, verifies against a digest, reconciles, and ends with a summary
// and the HTML audit report of the largest market. Safe to run again: the second run finds every event
// already in the log and flags nothing new.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cli/common.h"
#include "engine/automation.h"
#include "engine/hash_chain.h"
#include "engine/pg/embedded_db.h"
#include "engine/str_cat.h"
#include "engine/stream_generator.h"
#include "engine/time_format.h"
#include "projections/runner.h"
#include "replay/audit.h"
#include "replay/reconcile.h"
#include "replay/replay.h"
#include "replay/verify.h"

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
                                 done, total_, seconds > 0 ? static_cast<double>(done) / seconds : 0)
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
absl::StatusOr<std::string> LargestMarket(pg::LogStore* store) {
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

absl::Status AppendStream(pg::LogStore* store, const std::string& stream_path,
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

}  // namespace

int RunDemo(const Args& args) {
  StreamOptions stream{.events = kDemoEventsDefault,
                       .markets = kDemoMarkets,
                       .wallets = kDemoWallets,
                       .seed = 42,
                       .bad_line_every = kDemoBadEvery,
                       .duplicate_every = kDemoDuplicateEvery,
                       .burst_every = kDemoBurstEvery,
                       .id_prefix = ""};
  if (std::string n = args.Flag("events"); !n.empty()) {
    if (!absl::SimpleAtoi(n, &stream.events) || stream.events < kDemoMarkets ||
        stream.events > kDemoEventsMax) {
      std::cerr << "ledger: --events must be " << kDemoMarkets << " to " << kDemoEventsMax
                << ", got " << n << "\n";
      return kExitError;
    }
  }
  if (const char* url = std::getenv("DATABASE_URL"); args.Has("db") || (url != nullptr && *url)) {
    std::cerr << "ledger: demo runs on the embedded database only (unset DATABASE_URL, no --db)\n";
    return kExitError;
  }
  pg::EmbeddedDb db(pg::EmbeddedDb::DefaultHome());
  const std::string home = db.home();
  Step(StrCat("starting the embedded PostgreSQL under ", home));
  absl::StatusOr<std::unique_ptr<pg::LogStore>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());

  const std::string stream_path = StrCat(home, "/demo-stream.jsonl");
  const std::string rejects_path = StrCat(home, "/demo-rejects.jsonl");
  Step(absl::StrFormat("generating %d events: %d markets, %d wallets, bursts, clawbacks, refunds, "
                       "bad and re-sent lines -> %s",
                       stream.events, stream.markets, stream.wallets, stream_path));
  int64_t lines = 0;
  {
    std::ofstream out(stream_path, std::ios::trunc | std::ios::binary);
    lines = GenerateStream(stream, out);
    if (!out.flush()) return Fail(absl::PermissionDeniedError("cannot write " + stream_path));
  }

  DemoTotals totals;
  Step("appending (validated, hash-chained, exactly once)");
  if (absl::Status s = AppendStream(store->get(), stream_path, rejects_path, lines, &totals);
      !s.ok()) {
    return Fail(s);
  }
  std::cout << absl::StrFormat("   %d appended, %d already in the log, %d refused (-> %s)\n",
                               totals.append.accepted, totals.append.duplicates,
                               totals.append.rejected, rejects_path);
  for (const auto& [code, count] : totals.rejected_by_code) {
    std::cout << absl::StrFormat("     %-24s %d\n", code, count);
  }

  Step("risk rules: velocity 3 bets within 1h, concentration above 25% of a side");
  absl::StatusOr<RulesOutcome> rules =
      RunRiskRules(store->get(), RiskRules{VelocityRule{}, ConcentrationRule{}}, NowMicros(),
                   /*dry_run=*/false);
  if (!rules.ok()) return Fail(rules.status());
  std::cout << absl::StrFormat("   %d bets hit a rule; %d FLAGGED events appended\n",
                               rules->hits.size(), rules->outcome.appended.accepted);

  Step("closing markets past their endDate");
  absl::StatusOr<DecisionOutcome> closed = CloseExpiredMarkets(store->get(), NowMicros(), false);
  if (!closed.ok()) return Fail(closed.status());
  for (const Event& e : closed->decided) std::cout << "   " << *e.market_id << ": " << *e.reason << "\n";
  if (closed->decided.empty()) std::cout << "   none expired\n";

  Step("projecting Bet, Market, FlaggedWallet, PoolSnapshot");
  CatchUpRunner runner(store->get(), ProjectorOptions{});
  absl::StatusOr<int64_t> applied = runner.RunOnce();
  if (!applied.ok()) return Fail(applied.status());

  Step("taking a digest and verifying chain, digest and projections");
  absl::StatusOr<std::pair<int64_t, Sha256>> head = (*store)->Head();
  if (!head.ok()) return Fail(head.status());
  const std::string digest_path = StrCat(home, "/digest.json");
  {
    std::ofstream digest(digest_path, std::ios::trunc);
    digest << boost::json::serialize(
                  boost::json::object{{"seq", head->first}, {"hash", ToHex(head->second)}})
           << "\n";
  }
  absl::StatusOr<VerifyReport> verify =
      Verify(store->get(), Digest{head->first, head->second}, ProjectorOptions{});
  if (!verify.ok()) return Fail(verify.status());
  std::cout << absl::StrFormat("   %d rows, head %d %s: %s\n", verify->rows, verify->head_seq,
                               ToHex(verify->head_hash).substr(0, 16),
                               verify->clean() ? "clean" : "FINDINGS (run ledger verify)");

  Step("reconciling clawbacks and refunds");
  absl::StatusOr<ReconcileReport> reconcile = Reconcile(store->get(), nullptr, NowMicros());
  if (!reconcile.ok()) return Fail(reconcile.status());
  std::map<std::string, int64_t> findings;
  for (const Finding& f : reconcile->findings) ++findings[f.kind];
  std::cout << absl::StrFormat("   %d clawbacks (%s USDT), %d refunds\n", reconcile->clawbacks,
                               UsdtText(reconcile->clawed_back_micros), reconcile->refunds);
  for (const auto& [kind, count] : findings) std::cout << "     " << kind << ": " << count << "\n";

  absl::StatusOr<std::string> largest = LargestMarket(store->get());
  if (!largest.ok()) return Fail(largest.status());
  Step(StrCat("audit report of the largest market, ", *largest));
  absl::StatusOr<AuditReport> audit = Audit(store->get(), *largest, std::nullopt);
  if (!audit.ok()) return Fail(audit.status());
  if (audit->markets.empty()) return Fail(absl::InternalError("audit of a market without statistics"));
  const MarketStats& largest_stats = audit->markets.front();
  const std::string report_path = StrCat(home, "/audit-", *largest, ".html");
  {
    std::ofstream html(report_path, std::ios::trunc);
    html << AuditHtml(*audit);
    if (!html.flush()) return Fail(absl::PermissionDeniedError("cannot write " + report_path));
  }

  std::cout << "\nSummary\n"
            << absl::StrFormat("  log            %d events, head %s (digest in %s)\n",
                               head->first, ToHex(head->second), digest_path)
            << absl::StrFormat("  this run       %d appended, %d duplicates, %d bad lines refused\n",
                               totals.append.accepted, totals.append.duplicates,
                               totals.append.rejected)
            << absl::StrFormat("  risk rules     %d new FLAGGED events\n",
                               rules->outcome.appended.accepted)
            << absl::StrFormat("  expiry         %d markets closed\n", closed->appended.accepted)
            << absl::StrFormat("  verify         %s\n", verify->clean() ? "clean" : "FINDINGS")
            << absl::StrFormat("  reconcile      %d findings (the sample leaves some clawbacks "
                               "unrefunded on purpose)\n",
                               reconcile->findings.size())
            << absl::StrFormat("  largest market %s: %s USDT YES, %s USDT NO\n", *largest,
                               UsdtText(largest_stats.yes_pool), UsdtText(largest_stats.no_pool))
            << "\nHTML audit report: " << report_path << "\n"
            << "Next: build/ledger stats --market " << *largest
            << ", build/ledger rules run --dry-run, build/ledger verify --digest " << digest_path
            << "\n";
  return verify->clean() ? kExitOk : kExitFindings;
}

}  // namespace ledger::cli
