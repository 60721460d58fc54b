// `ledger rules run`, `ledger markets close-expired`, `ledger stats`, `ledger history`: the seed's
// operations as commands on the log (docs/operations.md).
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "cli/command.h"
#include "cli/common.h"
#include "engine/automation.h"
#include "engine/event_codec.h"
#include "engine/pg/sql_session.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"
#include "projections/reports.h"

namespace ledger::cli {
namespace {

// --velocity and --concentration ("off" disables a rule), --min-pool; nullopt after a message.
std::optional<RiskRules> RulesFlags(const Args& args) {
  RiskRules rules{VelocityRule{}, ConcentrationRule{}};
  if (std::string v = args.Flag("velocity"); v == "off") {
    rules.velocity.reset();
  } else if (!v.empty()) {
    rules.velocity = ParseVelocity(v);
    if (!rules.velocity) {
      std::cerr << "ledger: --velocity must be BETS/WINDOW like 3/1h (2 to " << kVelocityBetsMax
                << " bets, a window of 1s to 366d) or off, got " << v << "\n";
      return std::nullopt;
    }
  }
  if (std::string c = args.Flag("concentration"); c == "off") {
    rules.concentration.reset();
  } else if (!c.empty()) {
    std::optional<int64_t> share = ParseShare(c);
    if (!share) {
      std::cerr << "ledger: --concentration must be a share strictly between 0 and 1 like 0.25 "
                   "or 25%, or off, got "
                << c << "\n";
      return std::nullopt;
    }
    rules.concentration->share = *share;
  }
  if (args.Has("min-pool") && rules.concentration) {
    rules.concentration->side_pool_min = Micros(args.Integer("min-pool", 0));
  }
  return rules;
}

boost::json::array RefusedJson(const DecisionOutcome& outcome) {
  boost::json::array out;
  for (const Rejection& r : outcome.refused) {
    out.push_back(boost::json::object{{"code", ErrorCodeName(r.code)}, {"message", r.message}});
  }
  return out;
}

// The exit code of a decision run: refused decisions are input the log refused.
int DecisionExit(const DecisionOutcome& outcome) {
  for (const Rejection& r : outcome.refused) {
    std::cerr << "refused: " << ErrorCodeName(r.code) << ": " << r.message << "\n";
  }
  return outcome.refused.empty() ? kExitOk : kExitRejected;
}

int RunRulesRun(const Args& args) {
  std::optional<RiskRules> rules = RulesFlags(args);
  std::optional<TimeMicros> now = NowFlag(args);
  std::optional<std::string> format = OutputFormat(args, {"json", "table"});
  if (!rules || !now || !format) return kExitError;
  absl::StatusOr<std::unique_ptr<pg::Database>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  const bool dry_run = args.Has("dry-run");
  absl::StatusOr<RulesOutcome> result = RunRiskRules(store->get(), *rules, *now, dry_run);
  if (!result.ok()) return Fail(result.status());
  boost::json::array hits;
  for (const RiskHit& h : result->hits) {
    boost::json::array which;
    if (h.velocity) which.emplace_back("velocity");
    if (h.concentration) which.emplace_back("concentration");
    hits.push_back(boost::json::object{{"betId", h.bet_id},
                                       {"wallet", h.wallet},
                                       {"marketId", h.market_id},
                                       {"severity", SeverityName(h.severity)},
                                       {"rules", which},
                                       {"reason", h.reason}});
  }
  const DecisionOutcome& out = result->outcome;
  if (*format == "table") {
    PrintTable(dry_run ? "would flag" : "flagged", hits,
               {"betId", "wallet", "marketId", "severity", "reason"});
    std::cout << absl::StrFormat("%d bets %s at log position %d; %d new, %d already flagged\n",
                                 hits.size(), dry_run ? "would be flagged" : "flagged",
                                 out.decided_at_seq, out.appended.accepted,
                                 out.appended.duplicates);
  } else {
    std::cout << boost::json::serialize(boost::json::object{{"dryRun", dry_run},
                                                            {"decidedAtSeq", out.decided_at_seq},
                                                            {"hits", hits},
                                                            {"flagged", out.appended.accepted},
                                                            {"duplicates", out.appended.duplicates},
                                                            {"refused", RefusedJson(out)}})
              << "\n";
  }
  return DecisionExit(out);
}

int RunRules(const Args& args) {
  if (args.positional.size() != 2 || args.positional[1] != "run") {
    std::cerr << "usage: ledger rules run [--velocity 3/1h|off] [--concentration 0.25|off] "
                 "[--min-pool MICROS] [--dry-run] [--now TIME] [--format json|table]\n";
    return kExitError;
  }
  return RunRulesRun(args);
}

int RunMarkets(const Args& args) {
  if (args.positional.size() != 2 || args.positional[1] != "close-expired") {
    std::cerr
        << "usage: ledger markets close-expired [--dry-run] [--now TIME] [--format json|table]\n";
    return kExitError;
  }
  std::optional<TimeMicros> now = NowFlag(args);
  std::optional<std::string> format = OutputFormat(args, {"json", "table"});
  if (!now || !format) return kExitError;
  absl::StatusOr<std::unique_ptr<pg::Database>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  const bool dry_run = args.Has("dry-run");
  absl::StatusOr<DecisionOutcome> out = CloseExpiredMarkets(store->get(), *now, dry_run);
  if (!out.ok()) return Fail(out.status());
  boost::json::array closed;
  for (const Event& e : out->decided) {
    closed.push_back(boost::json::object{{"marketId", *e.market_id}, {"reason", *e.reason}});
  }
  if (*format == "table") {
    PrintTable(dry_run ? "would close" : "closed", closed, {"marketId", "reason"});
  } else {
    std::cout << boost::json::serialize(boost::json::object{{"dryRun", dry_run},
                                                            {"decidedAtSeq", out->decided_at_seq},
                                                            {"now", FormatRfc3339(*now)},
                                                            {"markets", closed},
                                                            {"closed", out->appended.accepted},
                                                            {"refused", RefusedJson(*out)}})
              << "\n";
  }
  return DecisionExit(*out);
}

boost::json::object FreshnessJson(const Freshness& f) {
  return {{"projectedSeq", f.projected_seq}, {"logSeq", f.log_seq}};
}

void PrintFreshness(const Freshness& f) {
  if (f.projected_seq < f.log_seq) {
    std::cout << absl::StrFormat(
        "(projections at position %d, the log at %d: run `ledger project` for the latest)\n",
        f.projected_seq, f.log_seq);
  }
}

int RunStats(const Args& args) {
  const std::string market = args.Flag("market");
  std::optional<std::string> format = OutputFormat(args, {"json", "table"});
  if (!format) return kExitError;
  if (market.empty()) {
    std::cerr << "usage: ledger stats --market ID [--format json|table]\n";
    return kExitError;
  }
  absl::StatusOr<std::unique_ptr<pg::SqlSession>> session = OpenSqlSession(args);
  if (!session.ok()) return Fail(session.status());
  absl::StatusOr<std::optional<MarketStatsReport>> stats = QueryMarketStats(session->get(), market);
  if (!stats.ok()) return Fail(stats.status());
  if (!*stats)
    return Fail(absl::NotFoundError(StrCat("market ", market, " is not in the Market table")));
  const MarketStatsReport& s = **stats;
  boost::json::object o{{"marketId", s.market_id},
                        {"question", s.question},
                        {"status", s.status},
                        {"yesPool", s.yes_pool},
                        {"noPool", s.no_pool},
                        {"totalPool", s.total_pool},
                        {"yesPercent", s.yes_percent ? boost::json::value(*s.yes_percent)
                                                     : boost::json::value(nullptr)},
                        {"totalBets", s.total_bets},
                        {"uniqueWallets", s.unique_wallets},
                        {"freshness", FreshnessJson(s.freshness)}};
  if (*format == "json") {
    std::cout << boost::json::serialize(o) << "\n";
    return kExitOk;
  }
  std::cout << s.market_id << ": " << s.question << "\n"
            << absl::StrFormat("  status         %s\n", s.status)
            << absl::StrFormat("  YES pool       %s USDT (%s%%)\n", UsdtText(s.yes_pool),
                               s.yes_percent.value_or("-"))
            << absl::StrFormat("  NO pool        %s USDT\n", UsdtText(s.no_pool))
            << absl::StrFormat("  total pool     %s USDT\n", UsdtText(s.total_pool))
            << absl::StrFormat("  confirmed bets %d from %d wallets\n", s.total_bets,
                               s.unique_wallets);
  PrintFreshness(s.freshness);
  return kExitOk;
}

int RunHistory(const Args& args) {
  std::optional<std::string> wallet = NormalizeWallet(args.Flag("wallet"));
  std::optional<std::string> format = OutputFormat(args, {"json", "table"});
  if (!format) return kExitError;
  if (!wallet) {
    std::cerr << "usage: ledger history --wallet 0x<40 hex digits> [--format json|table]\n";
    return kExitError;
  }
  absl::StatusOr<std::unique_ptr<pg::SqlSession>> session = OpenSqlSession(args);
  if (!session.ok()) return Fail(session.status());
  absl::StatusOr<WalletHistoryReport> report = QueryWalletHistory(session->get(), *wallet);
  if (!report.ok()) return Fail(report.status());
  boost::json::array bets;
  for (const HistoryRow& h : report->bets) {
    bets.push_back(boost::json::object{
        {"choice", h.choice},
        {"amount", h.amount},
        {"status", h.status},
        {"txHash", h.tx_hash ? boost::json::value(*h.tx_hash) : boost::json::value(nullptr)},
        {"createdAt", FormatRfc3339(h.created_at)},
        {"question", h.question},
        {"marketStatus", h.market_status}});
  }
  if (*format == "json") {
    std::cout << boost::json::serialize(
                     boost::json::object{{"wallet", report->wallet},
                                         {"bets", bets},
                                         {"freshness", FreshnessJson(report->freshness)}})
              << "\n";
    return kExitOk;
  }
  for (boost::json::value& b : bets) {
    b.as_object()["amount"] = UsdtText(b.at("amount").as_int64());
  }
  PrintTable(StrCat("bets of ", report->wallet, ", newest first (amounts in USDT)"), bets,
             {"createdAt", "choice", "amount", "status", "marketStatus", "question"});
  PrintFreshness(report->freshness);
  return kExitOk;
}

}  // namespace

std::vector<Command> OperationsCommands() {
  return {
      {"rules",
       "rules run [--velocity 3/1h|off] [--concentration 0.25|off] [--min-pool MICROS] [--dry-run]",
       "flag (append FLAGGED for) the confirmed bets of high-velocity and concentrated wallets;\n"
       "--dry-run only prints them; --now decides as of another time",
       {kDbFlag, Text("velocity", "BETS/WINDOW|off"), Text("concentration", "SHARE|off"),
        Integer("min-pool", "MICROS", 0, kInt64Max), kDryRunFlag, kNowFlag, kFormatFlag},
       1,
       RunRules,
       {DatabaseUse::kWritesUnless, "dry-run"}},
      {"markets",
       "markets close-expired [--dry-run]",
       "append MARKET_CLOSED for every ACTIVE market past its endDate; --now decides as of "
       "another\n"
       "time",
       {kDbFlag, kDryRunFlag, kNowFlag, kFormatFlag},
       1,
       RunMarkets,
       {DatabaseUse::kWritesUnless, "dry-run"}},
      {"stats",
       "stats --market ID",
       "the seed's market statistics, from the projections",
       {kDbFlag, Text("market", "ID"), kFormatFlag},
       0,
       RunStats,
       kReadsDatabase},
      {"history",
       "history --wallet ADDR",
       "the seed's bet history of a wallet, from the projections",
       {kDbFlag, Text("wallet", "ADDR"), kFormatFlag},
       0,
       RunHistory,
       kReadsDatabase},
  };
}

}  // namespace ledger::cli
