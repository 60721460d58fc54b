// Integration specification of the audit report (statistics, parimutuel settlement and its
// conservation, the three renderings) and of clawback reconciliation (each planted discrepancy is
// found, and nothing on a clean stream).
#include "replay/audit.h"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <sstream>
#include <string>

#include "engine/appender.h"
#include "engine/pg/database.h"
#include "engine/pg/sql_session.h"
#include "engine/time_format.h"
#include "engine/version.h"
#include "projections/runner.h"
#include "replay/digest.h"
#include "replay/reconcile.h"
#include "replay/replay.h"
#include "sample/stream_generator.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

using testing::FreshDatabase;
constexpr auto& Open = testing::OpenStore;

void Append(pg::Database* store, const std::string& lines) {
  Appender appender(store, AppendOptions{});
  std::istringstream in(lines);
  AppendSummary summary;
  BOOST_REQUIRE(appender.Run(in, &summary).ok());
  BOOST_REQUIRE_MESSAGE(summary.rejected == 0, "a line was rejected");
}

const std::string kSafe = "0x00000000000000000000000000000000000000a1";
std::string Wallet(int i) { return "0x" + std::string(39, '0') + std::to_string(i); }
std::string Tx(int i) { return "0x" + std::string(63, 'f') + std::to_string(i); }

std::string Market() {
  return R"({"action":"MARKET_CREATED","marketId":"m1","question":"Q?","endDate":"2099-01-01T00:00:00Z","contractAddress":"0x00000000000000000000000000000000000000c1","gnosisSafeAddress":")" +
         kSafe + "\"}\n";
}
std::string Bet(const std::string& id, int wallet, const std::string& choice, int64_t amount) {
  return R"({"action":"PLACED","betId":")" + id + R"(","marketId":"m1","wallet":")" +
         Wallet(wallet) + R"(","choice":")" + choice + R"(","amount":)" + std::to_string(amount) +
         R"(,"betNumber":1})"
         "\n"
         R"({"action":"CONFIRMED","betId":")" +
         id + "\"}\n";
}
std::string Clawback(const std::string& id, int64_t amount) {
  return R"({"action":"CLAWED_BACK","betId":")" + id + R"(","clawbackAmount":)" +
         std::to_string(amount) + "}\n";
}
std::string Refund(const std::string& id, int tx) {
  return R"({"action":"REFUNDED","betId":")" + id + R"(","clawbackTxHash":")" + Tx(tx) + "\"}\n";
}

ReconcileReport RunReconcile(pg::Database* store, const std::string& chain_csv,
                             ChainTrust* trust = nullptr) {
  std::istringstream chain(chain_csv);
  absl::StatusOr<ReconcileReport> r =
      Reconcile(store, chain_csv.empty() ? nullptr : &chain, 4102444800LL * 1000000, trust);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return *r;
}

// A fresh database holding a generated stream of 3000 events over 4 markets.
std::unique_ptr<pg::Database> GeneratedLedger(std::string* conn) {
  *conn = FreshDatabase();
  auto store = Open(*conn);
  StreamOptions options;
  options.events = 3000;
  options.markets = 4;
  std::ostringstream stream;
  GenerateStream(options, stream);
  Append(store.get(), stream.str());
  return store;
}

int Count(const ReconcileReport& r, const std::string& kind) {
  int n = 0;
  for (const Finding& f : r.findings) n += f.kind == kind ? 1 : 0;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(audit)

BOOST_AUTO_TEST_CASE(settlement_is_parimutuel_floor_rounded_and_conserved) {
  const std::string conn = FreshDatabase();
  auto store = Open(conn);
  // YES: a=10, b=20 (5 clawed back); NO: c=7, d=4 placed but never confirmed. YES wins.
  Append(store.get(), Market() + Bet("a", 1, "YES", 10) + Bet("b", 2, "YES", 20) +
                          Bet("c", 3, "NO", 7) + Clawback("b", 5) +
                          R"({"action":"PLACED","betId":"d","marketId":"m1","wallet":")" +
                          Wallet(4) +
                          R"(","choice":"NO","amount":4,"betNumber":1})"
                          "\n" +
                          R"({"action":"MARKET_RESOLVED","marketId":"m1","winner":"YES"})"
                          "\n");
  absl::StatusOr<AuditReport> r = Audit(store.get(), std::string("m1"), std::nullopt);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  BOOST_REQUIRE(r->settlement.has_value());
  const Settlement& s = *r->settlement;
  // Pool 10 + 15 + 7 = 32 shared by winning stakes 25: floor(10*32/25) = 12, floor(15*32/25) = 19.
  BOOST_TEST(s.total_pool == 32);
  BOOST_TEST(s.winning_stakes == 25);
  BOOST_REQUIRE(s.payouts.size() == 2u);
  BOOST_TEST(s.payouts[0].payout == 12);
  BOOST_TEST(s.payouts[1].stake == 15);
  BOOST_TEST(s.payouts[1].payout == 19);
  BOOST_TEST(s.breakage == 1);
  BOOST_TEST(s.confirmed_stakes == 37);
  BOOST_TEST(s.clawbacks == 5);
  BOOST_TEST(s.conserved);
  // The seed's statistics: ROUND(100.0 * 25 / 32, 1) = 78.1, confirmed bets a and c.
  BOOST_REQUIRE(r->markets.size() == 1u);
  BOOST_TEST(*r->markets[0].yes_percent == "78.1");
  BOOST_TEST(r->markets[0].total_bets == 2);
  BOOST_TEST(r->markets[0].unique_wallets == 2);
  // Every event of the market, in order, with the state it produced.
  BOOST_REQUIRE(r->timeline.size() == 10u);
  BOOST_TEST(r->timeline.back().state_after == "RESOLVED yesPool=25 noPool=7");
  BOOST_TEST(r->timeline[2].seq == 3);
  BOOST_TEST(r->timeline[2].hash.size() == 64u);

  const std::string csv = AuditCsv(*r);
  // The header as '#' lines, then the column names and one line per event.
  std::istringstream csv_lines(csv);
  int rows = 0;
  for (std::string line; std::getline(csv_lines, line);) rows += line.rfind("# ", 0) == 0 ? 0 : 1;
  BOOST_TEST(rows == 11);
  const std::string html = AuditHtml(*r);
  BOOST_TEST(html.find("<!DOCTYPE html>") == 0u);
  BOOST_TEST(html.find("holds") != std::string::npos);
  // Self-contained: nothing loaded from elsewhere.
  BOOST_TEST(html.find(" src=") == std::string::npos);
  BOOST_TEST(html.find("http://") == html.find("http://www.w3.org/2000/svg"));
  BOOST_TEST(html.find("https://") == std::string::npos);
  BOOST_TEST(AuditJson(*r).find("\"breakage\":1") != std::string::npos);

  absl::StatusOr<AuditReport> wallet = Audit(store.get(), std::nullopt, Wallet(2));
  BOOST_REQUIRE(wallet.ok());
  BOOST_TEST(wallet->timeline.size() == 3u);  // Placed, confirmed, clawed back.
  BOOST_TEST(wallet->timeline.back().state_after == "bet CLAWED_BACK");
  BOOST_TEST(absl::IsNotFound(Audit(store.get(), std::string("nope"), std::nullopt).status()));
}

BOOST_AUTO_TEST_CASE(html_report_charts_the_pool_history) {
  std::string conn;
  auto store = GeneratedLedger(&conn);
  // The generator resolves the last third of the markets: market-0003 here.
  absl::StatusOr<AuditReport> r = Audit(store.get(), std::string("market-0003"), std::nullopt);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  BOOST_TEST(r->pool_history.size() > 2u);
  BOOST_REQUIRE(r->settlement.has_value());
  BOOST_TEST(r->settlement->conserved);
  const std::string html = AuditHtml(*r);
  BOOST_TEST(html.find("<svg") != std::string::npos);
  BOOST_TEST(html.find("<path fill='none' stroke='#1a7f37'") != std::string::npos);  // YES.
  BOOST_TEST(html.find("time (UTC)") != std::string::npos);                          // Axes.
  BOOST_TEST(html.find("pool, USDT") != std::string::npos);
  BOOST_TEST(html.find(">YES pool</text>") != std::string::npos);  // Legend.
  BOOST_TEST(html.find(">resolved</text>") != std::string::npos);  // Marker.
}

BOOST_AUTO_TEST_CASE(every_format_starts_with_where_the_report_comes_from_and_the_findings) {
  // Proves: the header (generated at, version, database, head seq and full hash, digest and verify
  // results, range) in JSON, CSV and HTML; USDT with separators and six decimals in HTML, integers
  // of micro-USDT in JSON; the unrefunded clawback with its age; a wallet's totals and settlement;
  // a digest that does not match and a tampered projected row are reported, not hidden.
  const std::string conn = FreshDatabase();
  auto store = Open(conn);
  Append(store.get(), Market() + Bet("a", 1, "YES", 1234567890123) + Bet("b", 2, "YES", 20000000) +
                          Bet("c", 3, "NO", 7000000) + Clawback("b", 5000000) +
                          R"({"action":"MARKET_RESOLVED","marketId":"m1","winner":"YES"})"
                          "\n");
  CatchUpRunner runner(store.get(), ProjectorOptions{});
  BOOST_REQUIRE(runner.RunOnce().ok());
  absl::StatusOr<LogDigest> digest = TakeDigest(store.get(), NowMicros());
  BOOST_REQUIRE(digest.ok());
  AuditOptions options;
  options.digest = *digest;
  options.database = "the test cluster";
  absl::StatusOr<AuditReport> first = Audit(store.get(), std::string("m1"), std::nullopt, options);
  BOOST_REQUIRE_MESSAGE(first.ok(), first.status().ToString());
  TimeMicros clawed_at = 0;
  for (const TimelineEntry& t : first->timeline) {
    if (t.event.action == Action::kClawedBack) clawed_at = t.event.created_at;
  }
  options.now = clawed_at + (86400 + 3600 + 60) * int64_t{1000000};  // 1 day, 1 hour, 1 minute.
  absl::StatusOr<AuditReport> r = Audit(store.get(), std::string("m1"), std::nullopt, options);
  BOOST_REQUIRE(r.ok());
  const ReportHeader& h = r->header;
  BOOST_TEST(h.generated_at == options.now);
  BOOST_TEST(h.ledger_version == kLedgerVersion);
  BOOST_TEST(h.head_seq == digest->seq);
  BOOST_TEST(h.head_hash == ToHex(digest->hash));
  BOOST_TEST(h.digest == "matches at seq " + std::to_string(digest->seq));
  BOOST_TEST(h.verify_ok, h.verify);
  BOOST_TEST(h.verify.find("match the tables") != std::string::npos, h.verify);
  BOOST_TEST(h.range == "the whole log");
  BOOST_REQUIRE_EQUAL(r->findings.unrefunded.size(), 1u);
  BOOST_TEST(r->findings.unrefunded[0].bet_id == "b");
  BOOST_TEST(r->findings.unrefunded[0].age_seconds == 86400 + 3600 + 60);
  BOOST_TEST(r->findings.unrefunded[0].amount == 5000000);

  const boost::json::object json = boost::json::parse(AuditJson(*r)).as_object();
  const boost::json::object& header = json.at("header").as_object();
  for (const char* key : {"generatedAt", "ledgerVersion", "database", "headSeq", "headHash",
                          "stateSeq", "range", "digest", "digestOk", "verify", "verifyOk"}) {
    BOOST_TEST(header.contains(key), key);
  }
  BOOST_TEST(header.at("headHash").as_string() == ToHex(digest->hash));
  BOOST_TEST(header.at("database").as_string() == "the test cluster");
  BOOST_TEST(json.at("markets").at(0).at("yesPool").as_int64() == 1234567890123 + 15000000);
  const std::string csv = AuditCsv(*r);
  BOOST_TEST(csv.find("# headHash: " + ToHex(digest->hash) + "\n") != std::string::npos);
  BOOST_TEST(csv.find("# generatedAt: " + FormatRfc3339(options.now) + "\n") != std::string::npos);
  const std::string html = AuditHtml(*r);
  for (const std::string& expected :
       {ToHex(digest->hash), std::string("1,234,582.890123"),  // The YES pool, in USDT.
        std::string("1d 01h 01m"), std::string("matches at seq "), std::string("0.1.0"),
        std::string("the test cluster"), std::string("1 clawbacks not refunded, 5.000000 USDT")}) {
    BOOST_TEST(html.find(expected) != std::string::npos, expected);
  }
  BOOST_TEST(html.find(">1234567890123<") == std::string::npos, "a raw micro-USDT amount");

  // The wallet of bet b: staked 20, 5 clawed back and not refunded, paid its share of the pool.
  absl::StatusOr<AuditReport> w = Audit(store.get(), std::nullopt, Wallet(2), options);
  BOOST_REQUIRE(w.ok());
  BOOST_REQUIRE_EQUAL(w->wallet_totals.size(), 1u);
  const WalletMarketTotals& t = w->wallet_totals[0];
  const Settlement& s = *r->settlement;
  const auto paid = std::find_if(s.payouts.begin(), s.payouts.end(),
                                 [](const Payout& p) { return p.bet_id == "b"; });
  BOOST_REQUIRE(paid != s.payouts.end());
  BOOST_TEST(t.staked == 20000000);
  BOOST_TEST(t.clawed_back == 5000000);
  BOOST_TEST(t.refunded == 0);
  BOOST_TEST(*t.payout == paid->payout);
  BOOST_TEST(t.net == paid->payout - 20000000);
  BOOST_TEST(AuditHtml(*w).find("Totals per market") != std::string::npos);

  // A digest whose hash was edited, and a projected row changed behind the ledger's back.
  options.digest->hash[0] ^= 1;
  auto sql = pg::SqlSession::Open(conn);
  BOOST_REQUIRE(sql.ok());
  BOOST_REQUIRE((*sql)->Exec(R"(UPDATE "Bet" SET amount = amount + 1 WHERE id = 'a')").ok());
  r = Audit(store.get(), std::string("m1"), std::nullopt, options);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(!r->header.digest_ok);
  BOOST_TEST(r->header.digest.find("DOES NOT MATCH") == 0u, r->header.digest);
  BOOST_TEST(!r->header.verify_ok);
  BOOST_TEST(r->header.verify.find("1 projected rows of market m1 differ") != std::string::npos,
             r->header.verify);
}

BOOST_AUTO_TEST_CASE(audit_ranges_cut_the_timeline_and_state_by_position_and_by_event_time) {
  // Proves: --from/--until as positions list exactly the market's events in the range, with the
  // statistics of the fold up to --until; as times, the events that happened in it, with the state
  // of an event-time replay to --until.
  std::string conn;
  auto store = GeneratedLedger(&conn);
  const std::string market = "market-0001";
  AuditOptions options;
  options.range.from_seq = 500;
  options.range.until_seq = 1500;
  absl::StatusOr<AuditReport> r = Audit(store.get(), market, std::nullopt, options);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  const int64_t in_range = std::stoll(testing::Scalar(
      conn,
      R"(SELECT count(*) FROM "BetHistory" WHERE "marketId" = 'market-0001' AND seq BETWEEN 500 AND 1500)"));
  BOOST_TEST(static_cast<int64_t>(r->timeline.size()) == in_range);
  BOOST_TEST(in_range > 0);
  for (const TimelineEntry& t : r->timeline) BOOST_TEST((t.seq >= 500 && t.seq <= 1500), t.seq);
  BOOST_TEST(r->header.state_seq == 1500);
  BOOST_TEST(r->header.head_seq == 3000);
  BOOST_TEST(r->header.range == "positions from seq 500 until seq 1500");
  absl::StatusOr<Projector> at = ReplayUntil(store.get(), ReplayPoint::AtSeq(1500));
  BOOST_REQUIRE(at.ok());
  const MarketState& m = *at->state().FindMarket(market);
  BOOST_TEST(r->markets[0].yes_pool == m.yes_pool.value());
  BOOST_TEST(r->markets[0].no_pool == m.no_pool.value());

  absl::StatusOr<LoggedEvent> from_row = store->log().Read(400);
  absl::StatusOr<LoggedEvent> until_row = store->log().Read(2200);
  BOOST_REQUIRE(from_row.ok() && until_row.ok());
  AuditOptions by_time;
  by_time.range.from_time = from_row->event.created_at;
  by_time.range.until_time = until_row->event.created_at;
  r = Audit(store.get(), market, std::nullopt, by_time);
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE(!r->timeline.empty());
  for (const TimelineEntry& t : r->timeline) {
    BOOST_TEST((t.event.created_at >= *by_time.range.from_time &&
                t.event.created_at <= *by_time.range.until_time));
  }
  absl::StatusOr<Projector> happened =
      ReplayUntil(store.get(), ReplayPoint::AtEventTime(*by_time.range.until_time));
  BOOST_REQUIRE(happened.ok());
  BOOST_TEST(r->markets[0].yes_pool == happened->state().FindMarket(market)->yes_pool.value());
  BOOST_TEST(r->header.state_seq == happened->head_seq());
  BOOST_TEST(r->header.verify.find("not compared") != std::string::npos, r->header.verify);
}

BOOST_AUTO_TEST_CASE(html_escapes_what_producers_wrote) {
  const std::string conn = FreshDatabase();
  auto store = Open(conn);
  Append(
      store.get(),
      R"({"action":"MARKET_CREATED","marketId":"<m>","question":"<script>alert(1)</script>","endDate":"2099-01-01T00:00:00Z","contractAddress":"0x00000000000000000000000000000000000000c1","gnosisSafeAddress":"0x00000000000000000000000000000000000000a1"})"
      "\n");
  absl::StatusOr<AuditReport> r = Audit(store.get(), std::string("<m>"), std::nullopt);
  BOOST_REQUIRE(r.ok());
  const std::string html = AuditHtml(*r);
  BOOST_TEST(html.find("<m>") == std::string::npos);
  BOOST_TEST(html.find("&lt;m&gt;") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(reconcile_is_clean_on_a_clean_stream) {
  const std::string conn = FreshDatabase();
  auto store = Open(conn);
  Append(store.get(), Market() + Bet("a", 1, "YES", 10) + Clawback("a", 10) + Refund("a", 1));
  ReconcileReport r =
      RunReconcile(store.get(), "txHash,from,to,amount,timestamp\n" + Tx(1) + "," + kSafe + "," +
                                    Wallet(1) + ",10,2026-02-16T09:00:00Z\n");
  BOOST_TEST(r.reconciled(), (r.findings.empty() ? "" : r.findings[0].kind));
  BOOST_TEST(r.clawbacks == 1);
  BOOST_TEST(r.refunds == 1);
  BOOST_TEST(r.chain_transfers == 1);
}

BOOST_AUTO_TEST_CASE(reconcile_finds_each_planted_discrepancy) {
  const std::string conn = FreshDatabase();
  auto store = Open(conn);
  std::string lines = Market();
  for (int i = 1; i <= 7; ++i) lines += Bet("b" + std::to_string(i), i, "YES", 100);
  for (int i = 1; i <= 7; ++i) lines += Clawback("b" + std::to_string(i), 100);
  lines += Refund("b1", 1);  // Correct.
  // b2: never refunded.
  lines += Refund("b3", 3);  // On chain to the wrong wallet.
  lines += Refund("b4", 4);  // On chain for the wrong amount.
  lines += Refund("b5", 5);  // On chain from the wrong address.
  lines += Refund("b6", 6);  // Not on chain at all.
  lines += Refund("b7", 1);  // Reuses b1's refund transaction.
  Append(store.get(), lines);
  // Rows the ledger would refuse, planted directly by someone with INSERT on the log: a second
  // refund of b1 and a refund of a bet never clawed back.
  auto sql = pg::SqlSession::Open(conn);
  BOOST_REQUIRE(sql.ok());
  BOOST_REQUIRE((*sql)
                    ->Exec(R"(
      INSERT INTO "BetHistory" (id, "betId", "marketId", wallet, action, "clawbackTxHash",
          "createdAt", seq, "identityKey", "streamId", "streamVersion", "prevHash", hash)
      VALUES ('p1', 'b1', 'm1', ')" +
                           Wallet(1) + R"(', 'REFUNDED', ')" + Tx(8) + R"(',
              now(), 1001, 'planted-1', 'bet:b1', 99, repeat('0', 64), repeat('0', 64)),
             ('p2', 'zz', 'm1', ')" +
                           Wallet(9) + R"(', 'REFUNDED', ')" + Tx(9) + R"(',
              now(), 1002, 'planted-2', 'bet:zz', 1, repeat('0', 64), repeat('0', 64));)")
                    .ok());
  const std::string chain =
      "txHash,from,to,amount,timestamp\n" + Tx(1) + "," + kSafe + "," + Wallet(1) + ",100,t\n" +
      Tx(3) + "," + kSafe + "," + Wallet(9) + ",100,t\n" + Tx(4) + "," + kSafe + "," + Wallet(4) +
      ",99,t\n" + Tx(5) + ",0x00000000000000000000000000000000000000ee," + Wallet(5) + ",100,t\n" +
      Tx(7) + "," + kSafe + "," + Wallet(7) + ",100,t\n" +  // Unclaimed.
      "not,a,valid,line\n";
  // The planted rows break the chain (positions 29 to 1000 missing, no valid links): reconcile
  // refuses the log as it is, and reads it only for forensics, saying where the chain broke.
  std::istringstream refused_chain(chain);
  absl::StatusOr<ReconcileReport> refused =
      Reconcile(store.get(), &refused_chain, 4102444800LL * 1000000);
  BOOST_TEST(IsBrokenChain(refused.status()), refused.status().ToString());
  ChainTrust forensics{/*allow_broken=*/true, std::nullopt};
  ReconcileReport r = RunReconcile(store.get(), chain, &forensics);
  BOOST_REQUIRE(forensics.first_break.has_value());
  BOOST_TEST(forensics.first_break->seq == 29);
  BOOST_TEST(forensics.first_break->kind == "MISSING_POSITION");
  BOOST_TEST(!r.reconciled());
  BOOST_TEST(Count(r, "CLAWBACK_NOT_REFUNDED") == 1);
  BOOST_TEST(Count(r, "REFUND_WRONG_WALLET") == 2);  // b3, and b7 (its reused tx paid b1's wallet).
  BOOST_TEST(Count(r, "REFUND_AMOUNT_MISMATCH") == 1);
  BOOST_TEST(Count(r, "REFUND_WRONG_SOURCE") == 1);
  BOOST_TEST(Count(r, "REFUND_TX_REUSED") == 1);
  BOOST_TEST(Count(r, "DOUBLE_REFUND") == 1);
  BOOST_TEST(Count(r, "REFUND_WITHOUT_CLAWBACK") == 1);
  BOOST_TEST(Count(r, "UNKNOWN_ONCHAIN_REFUND") == 1);
  BOOST_TEST(Count(r, "BAD_CHAIN_LINE") == 1);
  // Not on chain: b6, and the two planted refunds' transactions.
  BOOST_TEST(Count(r, "REFUND_NOT_ON_CHAIN") == 3);
  for (const Finding& f : r.findings) {
    if (f.kind == "CLAWBACK_NOT_REFUNDED") {
      BOOST_TEST(f.bet_id == "b2");
      BOOST_TEST(f.age_seconds > 0);
    }
    if (f.kind == "BAD_CHAIN_LINE") BOOST_TEST(f.detail.find("chain line 7") == 0u);
  }
  // From the log alone: what needs no chain export.
  ReconcileReport log_only = RunReconcile(store.get(), "", &forensics);
  BOOST_TEST(Count(log_only, "CLAWBACK_NOT_REFUNDED") == 1);
  BOOST_TEST(Count(log_only, "REFUND_NOT_ON_CHAIN") == 0);
}

BOOST_AUTO_TEST_CASE(reconcile_reads_the_export_by_its_header_and_decimal_usdt_exactly) {
  // Proves that the chain export is read by its header (columns in any order, case-insensitive,
  // extra columns ignored) and that amounts in decimal USDT convert exactly: 0.00001 USDT is the 10
  // micro-USDT clawed back. Bad amounts are findings naming the line, the column and the value,
  // and the good lines around them are still used.
  const std::string conn = FreshDatabase();
  auto store = Open(conn);
  Append(store.get(), Market() + Bet("a", 1, "YES", 10) + Clawback("a", 10) + Refund("a", 1) +
                          Bet("b", 2, "NO", 133350001) + Clawback("b", 133350001) + Refund("b", 2));
  ReconcileReport r =
      RunReconcile(store.get(),
                   "Amount,TO,timestamp,from,txHash,blockNumber\n"
                   "0.00001," +
                       Wallet(1) + ",2026-02-16T09:00:00Z," + kSafe + "," + Tx(1) + ",7\n" +
                       "133.350001," + Wallet(2) + ",t," + kSafe + "," + Tx(2) + ",8\n" +
                       "133.3500011," + Wallet(3) + ",t," + kSafe + "," + Tx(3) + ",9\n" + "1e6," +
                       Wallet(4) + ",t," + kSafe + "," + Tx(4) + ",10\n");
  BOOST_TEST(r.chain_transfers == 2);
  BOOST_TEST(Count(r, "REFUND_AMOUNT_MISMATCH") == 0);
  BOOST_TEST(Count(r, "REFUND_NOT_ON_CHAIN") == 0);
  BOOST_REQUIRE_EQUAL(Count(r, "BAD_CHAIN_LINE"), 2);
  std::vector<std::string> details;
  for (const Finding& f : r.findings) {
    if (f.kind == "BAD_CHAIN_LINE") details.push_back(f.detail);
  }
  std::sort(details.begin(), details.end());
  BOOST_TEST(details[0].find("chain line 4: column amount must be") == 0u, details[0]);
  BOOST_TEST(details[0].find("got 133.3500011") != std::string::npos, details[0]);
  BOOST_TEST(details[1].find("chain line 5: column amount") == 0u, details[1]);
  BOOST_TEST(details[1].find("got 1e6") != std::string::npos, details[1]);
  // A header without an amount column: one finding that says so, and no line read as a transfer.
  ReconcileReport headless = RunReconcile(
      store.get(), "txHash,from,to,value\n" + Tx(1) + "," + kSafe + "," + Wallet(1) + ",10\n");
  BOOST_TEST(headless.chain_transfers == 0);
  BOOST_REQUIRE_EQUAL(Count(headless, "BAD_CHAIN_LINE"), 1);
  for (const Finding& f : headless.findings) {
    if (f.kind == "BAD_CHAIN_LINE") {
      BOOST_TEST(f.detail.find("chain line 1: the header has no amount column") == 0u, f.detail);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
