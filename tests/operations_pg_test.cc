// Specification of the seed's operations as commands on the log, on a real PostgreSQL: the risk
// rules append FLAGGED events once (and a dry run appends nothing), expiry appends MARKET_CLOSED
// once, both with their reasons in the log; snapshot retention trims the table, verify stays clean,
// a rebuild restores the rows; the stats and history reports run the seed's queries on the
// projections.
#include <boost/test/unit_test.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "engine/appender.h"
#include "engine/automation.h"
#include "engine/pg/database.h"
#include "engine/time_format.h"
#include "projections/reports.h"
#include "projections/runner.h"
#include "replay/verify.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

using testing::FreshDatabase;
using testing::Scalar;

const std::string kW1 = "0x1111111111111111111111111111111111111111";
const std::string kW2 = "0x2222222222222222222222222222222222222222";

std::string MarketLine(const std::string& id, const std::string& end) {
  return R"({"action":"MARKET_CREATED","marketId":")" + id + R"(","question":"Will )" + id +
         R"( happen?","endDate":")" + end +
         R"(","contractAddress":"0x00000000000000000000000000000000000000c1","gnosisSafeAddress":"0x00000000000000000000000000000000000000a1","createdAt":"2026-02-16T08:00:00Z"})";
}
std::string PlaceLine(const std::string& bet, const std::string& wallet, const std::string& choice,
                      int64_t amount, int number, const std::string& at) {
  return R"({"action":"PLACED","betId":")" + bet + R"(","marketId":"m1","wallet":")" + wallet +
         R"(","choice":")" + choice + R"(","amount":)" + std::to_string(amount) +
         R"(,"betNumber":)" + std::to_string(number) + R"(,"createdAt":")" + at + "\"}";
}
std::string ConfirmLine(const std::string& bet) {
  return R"({"action":"CONFIRMED","betId":")" + bet + R"(","createdAt":"2026-02-16T09:30:00Z"})";
}

// m1 (open until 2099): W1 bursts three confirmed bets within 20 minutes (velocity), W2 bets once.
// 70 + 20 + 10 = 100 USDT on YES from W1 and 50 USDT on NO from W2.
std::string BurstStream() {
  return MarketLine("m1", "2099-01-01T00:00:00Z") + "\n" +
         PlaceLine("b1", kW1, "YES", 70000000, 1, "2026-02-16T09:00:00Z") + "\n" +
         PlaceLine("b2", kW1, "YES", 20000000, 2, "2026-02-16T09:10:00Z") + "\n" +
         PlaceLine("b3", kW1, "YES", 10000000, 3, "2026-02-16T09:20:00Z") + "\n" +
         PlaceLine("b4", kW2, "NO", 50000000, 1, "2026-02-16T07:00:00Z") + "\n" +
         ConfirmLine("b1") + "\n" + ConfirmLine("b2") + "\n" + ConfirmLine("b3") + "\n" +
         ConfirmLine("b4") + "\n";
}

void Append(pg::Database* store, const std::string& lines) {
  AppendOptions options;
  options.on_reject = [](int64_t line, const Rejection& r, std::string_view) {
    BOOST_TEST_MESSAGE("line " << line << ": " << ErrorCodeName(r.code) << ": " << r.message);
  };
  Appender appender(store, std::move(options));
  std::istringstream in(lines);
  AppendSummary summary;
  absl::Status s = appender.Run(in, &summary);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  BOOST_REQUIRE_EQUAL(summary.rejected, 0);
}

int64_t CatchUp(pg::Database* store, ProjectorOptions options = {}) {
  CatchUpRunner runner(store, options);
  absl::StatusOr<int64_t> applied = runner.RunOnce();
  BOOST_REQUIRE_MESSAGE(applied.ok(), applied.status().ToString());
  return runner.snapshots_trimmed();
}

void ExpectClean(pg::Database* store) {
  absl::StatusOr<VerifyReport> report = Verify(store, std::nullopt);
  BOOST_REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  BOOST_TEST(report->clean(),
             "drift: " << report->drift.size() << " breaks: " << report->breaks.size());
}

const RiskRules kVelocityOnly{VelocityRule{}, std::nullopt};

}  // namespace

BOOST_AUTO_TEST_SUITE(operations_on_the_log)

BOOST_AUTO_TEST_CASE(rules_run_flags_each_offending_bet_once_with_its_reason) {
  // Proves: a dry run appends nothing; a run appends one FLAGGED per offending confirmed bet with
  // the rule's figures as the reason, which the FlaggedWallet projection shows; a second run finds
  // nothing new; the projections still equal the log.
  const std::string conn = FreshDatabase();
  auto store = testing::OpenStore(conn);
  Append(store.get(), BurstStream());
  const TimeMicros now = *ParseRfc3339("2026-02-16T10:00:00Z");

  absl::StatusOr<RulesOutcome> dry = RunRiskRules(store.get(), kVelocityOnly, now, true);
  BOOST_REQUIRE_MESSAGE(dry.ok(), dry.status().ToString());
  BOOST_TEST(dry->hits.size() == 3u);
  BOOST_TEST(dry->outcome.decided_at_seq == 9);
  BOOST_TEST(dry->outcome.appended.accepted == 0);
  BOOST_TEST(Scalar(conn, R"(SELECT count(*) FROM "BetHistory")") == "9");

  absl::StatusOr<RulesOutcome> run = RunRiskRules(store.get(), kVelocityOnly, now, false);
  BOOST_REQUIRE_MESSAGE(run.ok(), run.status().ToString());
  BOOST_TEST(run->outcome.appended.accepted == 3);
  BOOST_TEST(run->outcome.refused.empty());
  BOOST_TEST(Scalar(conn, R"(SELECT string_agg(concat_ws('|', "betId", wallet, severity, reason,
      "createdAt"), E'\n' ORDER BY seq) FROM "BetHistory" WHERE action = 'FLAGGED')") ==
             "b1|" + kW1 +
                 "|LOW|velocity: 3 bets within 1h (rule: 3 within 1h)|2026-02-16 10:00:00\n"
                 "b2|" +
                 kW1 +
                 "|LOW|velocity: 3 bets within 1h (rule: 3 within 1h)|2026-02-16 10:00:00\n"
                 "b3|" +
                 kW1 + "|LOW|velocity: 3 bets within 1h (rule: 3 within 1h)|2026-02-16 10:00:00");

  CatchUp(store.get());
  BOOST_TEST(Scalar(conn, R"(SELECT concat_ws('|', wallet, "marketId", severity, "isActive", reason)
      FROM "FlaggedWallet")") == kW1 + "|m1|LOW|t|velocity: 3 bets within 1h (rule: 3 within 1h)");
  BOOST_TEST(Scalar(conn, R"(SELECT string_agg(status, ',' ORDER BY id) FROM "Bet")") ==
             "FLAGGED,FLAGGED,FLAGGED,CONFIRMED");

  absl::StatusOr<RulesOutcome> again = RunRiskRules(store.get(), kVelocityOnly, now, false);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(again->hits.empty());
  BOOST_TEST(again->outcome.appended.accepted == 0);
  BOOST_TEST(Scalar(conn, R"(SELECT count(*) FROM "BetHistory")") == "12");
  ExpectClean(store.get());
}

BOOST_AUTO_TEST_CASE(rules_on_the_log_below_at_and_above_each_threshold) {
  // Proves, through the log and `rules run`: velocity with 2 (below), 3 (at) and 5 (above) bets
  // within the hour flags the second and third wallets, LOW and MEDIUM; concentration on a second
  // market with stakes of exactly 25% (below: not more than), 25% + 1 micro-USDT (at: just past)
  // and 60% (above, HIGH) flags the last two.
  const std::string conn = FreshDatabase();
  auto store = testing::OpenStore(conn);
  std::string lines = MarketLine("m1", "2099-01-01T00:00:00Z") + "\n";
  int bet = 0;
  auto place = [&](const std::string& wallet, int n, const std::string& market, int64_t amount,
                   const std::string& at) {
    const std::string id = "t" + std::to_string(++bet);
    lines += R"({"action":"PLACED","betId":")" + id + R"(","marketId":")" + market +
             R"(","wallet":")" + wallet + R"(","choice":"YES","amount":)" + std::to_string(amount) +
             R"(,"betNumber":)" + std::to_string(n) + R"(,"createdAt":")" + at + "\"}\n" +
             ConfirmLine(id) + "\n";
  };
  const std::string below = "0x00000000000000000000000000000000000000b1";
  const std::string at = "0x00000000000000000000000000000000000000b2";
  const std::string above = "0x00000000000000000000000000000000000000b3";
  for (int i = 1; i <= 2; ++i)
    place(below, i, "m1", 1000000, "2026-02-16T09:0" + std::to_string(i) + ":00Z");
  for (int i = 1; i <= 3; ++i)
    place(at, i, "m1", 1000000, "2026-02-16T09:0" + std::to_string(i) + ":00Z");
  for (int i = 1; i <= 5; ++i)
    place(above, i, "m1", 1000000, "2026-02-16T09:0" + std::to_string(i) + ":00Z");
  Append(store.get(), lines);
  const TimeMicros now = *ParseRfc3339("2026-02-16T10:00:00Z");
  absl::StatusOr<RulesOutcome> velocity = RunRiskRules(store.get(), kVelocityOnly, now, false);
  BOOST_REQUIRE(velocity.ok());
  BOOST_TEST(Scalar(conn, R"(SELECT string_agg(DISTINCT wallet || '=' || severity, ',') FROM
      "BetHistory" WHERE action = 'FLAGGED')") == at + "=LOW," + above + "=MEDIUM");
  BOOST_TEST(velocity->outcome.appended.accepted == 8);

  // Concentration on m2, whose YES side is 100 USDT + 1 micro-USDT in the first case.
  lines = MarketLine("m2", "2099-01-01T00:00:00Z") + "\n";
  const std::string quarter = "0x00000000000000000000000000000000000000c1";
  const std::string past = "0x00000000000000000000000000000000000000c2";
  place(quarter, 1, "m2", 25000000, "2026-02-16T01:00:00Z");
  place(past, 1, "m2", 25000001, "2026-02-16T02:00:00Z");
  for (int i = 0; i < 2; ++i) {
    place("0x00000000000000000000000000000000000000d" + std::to_string(i), 1, "m2", 25000000,
          "2026-02-16T0" + std::to_string(3 + i) + ":00:00Z");
  }
  lines += MarketLine("m3", "2099-01-01T00:00:00Z") + "\n";
  const std::string whale = "0x00000000000000000000000000000000000000e1";
  place(whale, 1, "m3", 60000000, "2026-02-16T01:00:00Z");
  place("0x00000000000000000000000000000000000000e2", 1, "m3", 40000000, "2026-02-16T02:00:00Z");
  Append(store.get(), lines);
  absl::StatusOr<RulesOutcome> concentration = RunRiskRules(
      store.get(), RiskRules{std::nullopt, ConcentrationRule{250000, Micros(0)}}, now, false);
  BOOST_REQUIRE(concentration.ok());
  BOOST_TEST(Scalar(conn, R"(SELECT string_agg(wallet || '=' || severity, ',' ORDER BY wallet) FROM
      "BetHistory" WHERE action = 'FLAGGED' AND "marketId" <> 'm1')") ==
             past + "=LOW," + whale + "=HIGH,0x00000000000000000000000000000000000000e2=MEDIUM");
}

BOOST_AUTO_TEST_CASE(concentration_rule_on_the_log_flags_the_whale) {
  // Proves: with the default share (25%) and a minimum pool low enough for this market, W1's
  // 100 of 100 USDT on YES is flagged CRITICAL (4x the threshold) and W2's NO side (100% of 50)
  // too; with the default minimum pool (1,000 USDT) neither side is judged.
  const std::string conn = FreshDatabase();
  auto store = testing::OpenStore(conn);
  Append(store.get(), BurstStream());
  const TimeMicros now = *ParseRfc3339("2026-02-16T10:00:00Z");
  absl::StatusOr<RulesOutcome> defaults =
      RunRiskRules(store.get(), RiskRules{std::nullopt, ConcentrationRule{}}, now, true);
  BOOST_REQUIRE(defaults.ok());
  BOOST_TEST(defaults->hits.empty());

  absl::StatusOr<RulesOutcome> low = RunRiskRules(
      store.get(), RiskRules{std::nullopt, ConcentrationRule{250000, Micros(50000000)}}, now,
      false);
  BOOST_REQUIRE(low.ok());
  BOOST_TEST(low->outcome.appended.accepted == 4);
  BOOST_TEST(Scalar(conn, R"(SELECT string_agg(DISTINCT severity, ',') FROM "BetHistory"
      WHERE action = 'FLAGGED')") == "CRITICAL");
  BOOST_TEST(Scalar(conn, R"(SELECT reason FROM "BetHistory" WHERE action = 'FLAGGED'
      AND "betId" = 'b4')") ==
             "concentration: holds 100.00% of the NO pool of market m1 (50000000 of 50000000 "
             "micro-USDT; rule: more than 25.00% of a side of at least 50 USDT)");
}

BOOST_AUTO_TEST_CASE(close_expired_closes_once_with_the_reason_in_the_log) {
  // Proves: only the ACTIVE market whose endDate has passed is closed; the MARKET_CLOSED row says
  // why; the Market projection shows it CLOSED; a second run closes nothing; a bet on it is
  // refused.
  const std::string conn = FreshDatabase();
  auto store = testing::OpenStore(conn);
  Append(store.get(), MarketLine("m1", "2099-01-01T00:00:00Z") + "\n" +
                          MarketLine("past", "2026-02-16T09:00:00Z") + "\n");
  const TimeMicros now = NowMicros();
  absl::StatusOr<DecisionOutcome> dry = CloseExpiredMarkets(store.get(), now, true);
  BOOST_REQUIRE(dry.ok());
  BOOST_TEST(dry->decided.size() == 1u);
  BOOST_TEST(Scalar(conn, R"(SELECT count(*) FROM "BetHistory")") == "2");

  absl::StatusOr<DecisionOutcome> run = CloseExpiredMarkets(store.get(), now, false);
  BOOST_REQUIRE_MESSAGE(run.ok(), run.status().ToString());
  BOOST_TEST(run->appended.accepted == 1);
  BOOST_TEST(Scalar(conn, R"(SELECT concat_ws('|', "marketId", reason) FROM "BetHistory"
      WHERE action = 'MARKET_CLOSED')") ==
             "past|endDate 2026-02-16T09:00:00Z has passed (ledger markets close-expired)");
  CatchUp(store.get());
  BOOST_TEST(Scalar(conn, R"(SELECT string_agg("marketId" || '=' || status, ',' ORDER BY "marketId")
      FROM "Market")") == "m1=ACTIVE,past=CLOSED");

  absl::StatusOr<DecisionOutcome> again = CloseExpiredMarkets(store.get(), NowMicros(), false);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(again->decided.empty());
  Appender appender(store.get(), AppendOptions{});
  std::istringstream late(R"({"action":"PLACED","betId":"late","marketId":"past","wallet":")" +
                          kW1 + R"(","choice":"YES","amount":1000000,"betNumber":1})");
  AppendSummary summary;
  BOOST_REQUIRE(appender.Run(late, &summary).ok());
  BOOST_TEST(summary.rejected == 1);
  ExpectClean(store.get());
}

BOOST_AUTO_TEST_CASE(snapshot_retention_trims_the_table_and_a_rebuild_restores_it) {
  // Proves: a catch-up with retention deletes exactly the PoolSnapshot rows older than its horizon
  // (recorded in projection_retention), verify stays clean on the trimmed table, and a rebuild
  // brings every row back and forgets the horizon. The log is never trimmed.
  const std::string conn = FreshDatabase();
  auto store = testing::OpenStore(conn);
  Append(store.get(), testing::GeneratedStream(3000, 7));
  CatchUp(store.get());
  const int64_t all_rows = std::stoll(Scalar(conn, R"(SELECT count(*) FROM "PoolSnapshot")"));
  const std::string log_rows = Scalar(conn, R"(SELECT count(*) FROM "BetHistory")");
  // A horizon in the middle of the snapshots' time range (they are stamped in January 2026).
  const TimeMicros middle = *ParsePgTimestamp(Scalar(
      conn,
      R"(SELECT "createdAt" FROM "PoolSnapshot" ORDER BY "createdAt" OFFSET (SELECT count(*) / 2
      FROM "PoolSnapshot") LIMIT 1)"));
  ProjectorOptions retention;
  retention.snapshot_retention = NowMicros() - middle;
  const int64_t trimmed = CatchUp(store.get(), retention);

  const std::string horizon = Scalar(
      conn, R"(SELECT "keptFrom" FROM projection_retention WHERE projection = 'pool_snapshot')");
  const int64_t kept = std::stoll(Scalar(conn, R"(SELECT count(*) FROM "PoolSnapshot")"));
  BOOST_TEST(trimmed > 0);
  BOOST_TEST(kept > 0);
  BOOST_TEST(trimmed + kept == all_rows);
  BOOST_TEST(Scalar(conn, R"(SELECT count(*) FROM "PoolSnapshot" WHERE "createdAt" < ')" + horizon +
                              "'") == "0");
  BOOST_TEST(Scalar(conn, R"(SELECT count(*) FROM "BetHistory")") == log_rows);
  ExpectClean(store.get());

  absl::Status rebuilt = Rebuild(store.get(), ProjectorOptions{}, {Projection::kPoolSnapshot});
  BOOST_REQUIRE_MESSAGE(rebuilt.ok(), rebuilt.ToString());
  BOOST_TEST(std::stoll(Scalar(conn, R"(SELECT count(*) FROM "PoolSnapshot")")) == all_rows);
  BOOST_TEST(Scalar(conn, R"(SELECT count(*) FROM projection_retention)") == "0");
  BOOST_TEST(
      std::stoll(Scalar(conn, R"(SELECT count(*) FROM "PoolSnapshot" WHERE "createdAt" < ')" +
                                  horizon + "'")) == trimmed);
  ExpectClean(store.get());
}

BOOST_AUTO_TEST_CASE(stats_and_history_answer_the_seed_queries_from_the_projections) {
  // Proves: the market statistics and a wallet's history as the seed's queries define them (only
  // CONFIRMED bets counted; newest first), and that each report says how far the projections lag.
  const std::string conn = FreshDatabase();
  auto store = testing::OpenStore(conn);
  Append(store.get(),
         BurstStream() + PlaceLine("b5", kW2, "YES", 5000000, 2, "2026-02-16T09:40:00Z") + "\n");
  auto sql = testing::OpenSql(conn);
  absl::StatusOr<std::optional<MarketStatsReport>> stale = QueryMarketStats(sql.get(), "m1");
  BOOST_REQUIRE(stale.ok());
  BOOST_TEST(!stale->has_value());  // Nothing projected yet.

  CatchUp(store.get());
  absl::StatusOr<std::optional<MarketStatsReport>> stats = QueryMarketStats(sql.get(), "m1");
  BOOST_REQUIRE_MESSAGE(stats.ok(), stats.status().ToString());
  BOOST_REQUIRE(stats->has_value());
  const MarketStatsReport& s = **stats;
  BOOST_TEST(s.question == "Will m1 happen?");
  BOOST_TEST(s.status == "ACTIVE");
  BOOST_TEST(s.yes_pool == 100000000);  // b1 + b2 + b3; b5 is pending.
  BOOST_TEST(s.no_pool == 50000000);
  BOOST_TEST(s.total_pool == 150000000);
  BOOST_TEST(*s.yes_percent == "66.7");
  BOOST_TEST(s.total_bets == 4);
  BOOST_TEST(s.unique_wallets == 2);
  BOOST_TEST(s.freshness.projected_seq == 10);
  BOOST_TEST(s.freshness.log_seq == 10);
  absl::StatusOr<std::optional<MarketStatsReport>> missing = QueryMarketStats(sql.get(), "nope");
  BOOST_REQUIRE(missing.ok());
  BOOST_TEST(!missing->has_value());

  absl::StatusOr<WalletHistoryReport> history = QueryWalletHistory(sql.get(), kW2);
  BOOST_REQUIRE_MESSAGE(history.ok(), history.status().ToString());
  BOOST_REQUIRE(history->bets.size() == 2u);
  BOOST_TEST(history->bets[0].status == "PENDING");  // 09:40, newest first.
  BOOST_TEST(history->bets[0].amount == 5000000);
  BOOST_TEST(FormatRfc3339(history->bets[0].created_at) == "2026-02-16T09:40:00Z");
  BOOST_TEST(history->bets[1].choice == "NO");
  BOOST_TEST(history->bets[1].status == "CONFIRMED");
  BOOST_TEST(history->bets[1].market_status == "ACTIVE");
  BOOST_TEST(history->bets[1].question == "Will m1 happen?");

  Append(store.get(), ConfirmLine("b5") + "\n");
  absl::StatusOr<WalletHistoryReport> lagging = QueryWalletHistory(sql.get(), kW2);
  BOOST_REQUIRE(lagging.ok());
  BOOST_TEST(lagging->freshness.projected_seq == 10);
  BOOST_TEST(lagging->freshness.log_seq == 11);
  BOOST_TEST(*NormalizeWallet("0xABCDEF1234ABCDEF1234ABCDEF1234ABCDEF1234") ==
             "0xabcdef1234abcdef1234abcdef1234abcdef1234");
  BOOST_TEST(!NormalizeWallet("0x123").has_value());
  BOOST_TEST(!NormalizeWallet("0xg000000000000000000000000000000000000000").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
