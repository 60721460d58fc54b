// Integration specification of the projections on a real PostgreSQL: what each table holds after
// each action, PoolSnapshot's interval rule, the seed's own queries on the projected tables, the
// three ways of running them giving identical tables, and a rebuild that fails leaving the live
// tables alone.
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/appender.h"
#include "engine/pg/database.h"
#include "engine/pg/sql_session.h"
#include "projections/runner.h"
#include "sample/stream_generator.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

using testing::FreshDatabase;
using testing::GeneratedStream;
using testing::Scalar;
constexpr auto& Open = testing::OpenStore;
constexpr auto& Dump = testing::DumpProjections;

AppendSummary AppendLines(pg::Database* store, const std::string& input, bool inline_projection,
                          int64_t batch = kBatchEventsDefault) {
  InlineProjection projection(ProjectorOptions{});
  AppendOptions options;
  options.batch_events = batch;
  if (inline_projection) {
    BOOST_REQUIRE(projection.Init(store).ok());
    options.observer = &projection;
  }
  Appender appender(store, options);
  std::istringstream in(input);
  AppendSummary summary;
  absl::Status s = appender.Run(in, &summary);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  return summary;
}

void CatchUp(pg::Database* store) {
  CatchUpRunner runner(store, ProjectorOptions{});
  absl::StatusOr<int64_t> applied = runner.RunOnce();
  BOOST_REQUIRE_MESSAGE(applied.ok(), applied.status().ToString());
}

void RebuildAll(pg::Database* store) {
  absl::Status s = Rebuild(store, ProjectorOptions{}, {});
  BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
}

// The same input in three fresh databases: projected inline, by catch-up (in two steps, interleaved
// with the appends) and by a rebuild.
struct ThreeWays {
  std::string inline_db = FreshDatabase();
  std::string catchup_db = FreshDatabase();
  std::string rebuild_db = FreshDatabase();
  AppendSummary inline_summary;
};
ThreeWays ProjectThreeWays(const std::string& input, int64_t batch = kBatchEventsDefault) {
  ThreeWays out;
  auto a = Open(out.inline_db);
  auto b = Open(out.catchup_db);
  auto c = Open(out.rebuild_db);
  out.inline_summary = AppendLines(a.get(), input, /*inline_projection=*/true, batch);
  const size_t half = input.find('\n', input.size() / 2) + 1;
  AppendLines(b.get(), input.substr(0, half), false);
  CatchUp(b.get());
  AppendLines(b.get(), input.substr(half), false);
  CatchUp(b.get());
  AppendLines(c.get(), input, false);
  RebuildAll(c.get());
  return out;
}

const std::string kW1 = "0x1111111111111111111111111111111111111111";
const std::string kW2 = "0x2222222222222222222222222222222222222222";
const std::string kTx = "0x" + std::string(64, 'a');
const std::string kRefundTx = "0x" + std::string(64, 'b');

// A hand-made stream touching every action, with times chosen around 5-minute boundaries
// (09:00, 09:05, ...), including one createdAt that goes backwards.
std::string CraftedStream() {
  const std::string m =
      R"({"action":"MARKET_CREATED","marketId":"m1","question":"Will it?","startDate":"2026-02-01T00:00:00Z","endDate":"2026-03-01T00:00:00Z","contractAddress":"0x00000000000000000000000000000000000000c1","gnosisSafeAddress":"0x00000000000000000000000000000000000000a1","createdAt":"2026-02-16T09:00:00Z"})";
  auto place = [](const std::string& bet, const std::string& wallet, const std::string& choice,
                  int64_t amount, int n, const std::string& at, const std::string& extra = "") {
    return R"({"action":"PLACED","betId":")" + bet + R"(","marketId":"m1","wallet":")" + wallet +
           R"(","choice":")" + choice + R"(","amount":)" + std::to_string(amount) +
           R"(,"betNumber":)" + std::to_string(n) + extra + R"(,"createdAt":")" + at + "\"}";
  };
  auto act = [](const std::string& body, const std::string& at) {
    return "{" + body + R"(,"createdAt":")" + at + "\"}";
  };
  return m + "\n" + place("b1", kW1, "YES", 10000000, 1, "2026-02-16T09:01:00Z") + "\n" +
         place("b2", kW2, "NO", 4000000, 1, "2026-02-16T09:01:30Z") + "\n" +
         place("b3", kW1, "YES", 2000000, 2, "2026-02-16T09:02:00Z") + "\n" +
         act(R"("action":"CONFIRMED","betId":"b1","txHash":")" + kTx + "\"",
             "2026-02-16T09:02:00Z") +
         "\n" + act(R"("action":"CONFIRMED","betId":"b2")", "2026-02-16T09:03:00Z") + "\n" +
         // Interval 09:05-09:10: b3 confirmed, then b1 flagged (HIGH) and clawed back in part.
         act(R"("action":"CONFIRMED","betId":"b3")", "2026-02-16T09:06:00Z") + "\n" +
         act(R"("action":"FLAGGED","betId":"b1","reason":"Velocity exceeded","severity":"HIGH")",
             "2026-02-16T09:07:00Z") +
         "\n" +
         // createdAt goes backwards: still counted in the current interval (09:05-09:10).
         act(R"("action":"CLAWED_BACK","betId":"b1","clawbackAmount":6000000,"reason":"Sybil")",
             "2026-02-16T09:04:00Z") +
         "\n" +
         act(R"("action":"REFUNDED","betId":"b1","clawbackTxHash":")" + kRefundTx + "\"",
             "2026-02-16T09:08:00Z") +
         "\n" +
         act(R"("action":"WALLET_UNFLAGGED","wallet":")" + kW1 + R"(","reason":"Reviewed")",
             "2026-02-16T09:12:00Z") +
         "\n" + act(R"("action":"MARKET_CLOSED","marketId":"m1")", "2026-02-16T09:21:00Z") + "\n" +
         act(R"("action":"MARKET_RESOLVED","marketId":"m1","winner":"NO")",
             "2026-02-16T09:22:00Z") +
         "\n";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(projections)

BOOST_AUTO_TEST_CASE(every_field_of_every_table_after_every_action) {
  const std::string conn = FreshDatabase();
  auto store = Open(conn);
  BOOST_TEST(AppendLines(store.get(), CraftedStream(), /*inline=*/true).accepted == 13);

  // Market: status and winner from market actions; pools = confirmed minus clawed back; updatedAt =
  // createdAt of the last event that changed the row (the resolution).
  BOOST_TEST(
      Scalar(conn, R"(SELECT concat_ws('|', "marketId", question, status, winner, "yesPool",
      "noPool", "startDate", "endDate", "contractAddress", "gnosisSafeAddress", "createdAt",
      "updatedAt") FROM "Market")") ==
      "m1|Will it?|RESOLVED|NO|6000000|4000000|2026-02-01 00:00:00|2026-03-01 00:00:00|"
      "0x00000000000000000000000000000000000000c1|0x00000000000000000000000000000000000000a1|"
      "2026-02-16 09:00:00|2026-02-16 09:22:00");
  // Bet: one row per PLACED, id = betId, createdAt = the PLACED time, txHash from CONFIRMED when
  // PLACED had none.
  BOOST_TEST(Scalar(conn, R"(SELECT string_agg(concat_ws('|', id, "walletAddress", "marketId",
      choice, amount, "betNumber", status, coalesce("txHash", '-'), "createdAt"), E'\n' ORDER BY id)
      FROM "Bet")") == "b1|" + kW1 + "|m1|YES|10000000|1|CLAWED_BACK|" + kTx +
                           "|2026-02-16 09:01:00\n"
                           "b2|" +
                           kW2 +
                           "|m1|NO|4000000|1|CONFIRMED|-|2026-02-16 09:01:30\n"
                           "b3|" +
                           kW1 + "|m1|YES|2000000|2|CONFIRMED|-|2026-02-16 09:02:00");
  // FlaggedWallet: from the latest FLAGGED, then unflagged.
  BOOST_TEST(Scalar(conn, R"(SELECT concat_ws('|', wallet, "marketId", reason, severity,
      "isActive", "createdAt", "unflaggedAt") FROM "FlaggedWallet")") ==
             kW1 + "|m1|Velocity exceeded|HIGH|f|2026-02-16 09:07:00|2026-02-16 09:12:00");
  // PoolSnapshot: one row per interval with a change, stamped at the interval's end, as of its last
  // event; totalBets counts CONFIRMED bets. The 09:10 row includes the backwards-dated clawback.
  BOOST_TEST(Scalar(conn, R"(SELECT string_agg(concat_ws('|', "marketId", "createdAt", "yesPool",
      "noPool", "totalBets"), E'\n' ORDER BY "createdAt") FROM "PoolSnapshot")") ==
             "m1|2026-02-16 09:05:00|10000000|4000000|2\n"
             "m1|2026-02-16 09:10:00|6000000|4000000|2");
  // Row ids are deterministic: a rebuild gives byte-identical tables.
  const std::string before = Dump(conn);
  RebuildAll(store.get());
  BOOST_TEST(Dump(conn) == before);
}

BOOST_AUTO_TEST_CASE(seed_queries_run_as_written_on_the_projections) {
  const std::string conn = FreshDatabase();
  auto store = Open(conn);
  AppendLines(store.get(), CraftedStream(), false);
  // Three bets from one wallet in the last hour, for the seed's velocity query (which uses NOW()).
  std::string recent;
  const std::string market =
      R"({"action":"MARKET_CREATED","marketId":"live","question":"Q","endDate":"2199-01-01T00:00:00Z","contractAddress":"0x00000000000000000000000000000000000000c1","gnosisSafeAddress":"0x00000000000000000000000000000000000000a1"})";
  recent += market + "\n";
  for (int i = 1; i <= 3; ++i) {
    recent +=
        R"({"action":"PLACED","betId":"v)" + std::to_string(i) +
        R"(","marketId":"live","wallet":"0x3333333333333333333333333333333333333333","choice":"YES","amount":1000000,"betNumber":)" +
        std::to_string(i) + "}\n";
  }
  AppendLines(store.get(), recent, false);
  CatchUp(store.get());
  auto sql = pg::SqlSession::Open(conn);
  BOOST_REQUIRE(sql.ok());

  // 1. Get Market with Statistics (the seed's text, market id as written there replaced by ours).
  absl::StatusOr<std::vector<pg::SqlRow>> stats = (*sql)->Query(R"(
SELECT
    m."marketId",
    m.question,
    m.status,
    m."yesPool",
    m."noPool",
    (m."yesPool" + m."noPool") as "totalPool",
    ROUND(100.0 * m."yesPool" / NULLIF(m."yesPool" + m."noPool", 0), 1) as "yesPercent",
    COUNT(b.id) as "totalBets",
    COUNT(DISTINCT b."walletAddress") as "uniqueWallets"
FROM "Market" m
LEFT JOIN "Bet" b ON m."marketId" = b."marketId" AND b.status = 'CONFIRMED'
WHERE m."marketId" = 'm1'
GROUP BY m.id;)");
  BOOST_REQUIRE_MESSAGE(stats.ok(), stats.status().ToString());
  BOOST_REQUIRE(stats->size() == 1u);
  const pg::SqlRow& row = (*stats)[0];
  BOOST_TEST(*row[5] == "10000000");
  BOOST_TEST(*row[6] == "60.0");
  BOOST_TEST(*row[7] == "2");
  BOOST_TEST(*row[8] == "2");

  // 2. Get User Bet History.
  absl::StatusOr<std::vector<pg::SqlRow>> history = (*sql)->Query(R"(
SELECT
    b.choice,
    b.amount,
    b.status,
    b."txHash",
    b."createdAt",
    m.question,
    m.status as "marketStatus"
FROM "Bet" b
JOIN "Market" m ON b."marketId" = m."marketId"
WHERE b."walletAddress" = ')" + kW1 + R"('
ORDER BY b."createdAt" DESC;)");
  BOOST_REQUIRE_MESSAGE(history.ok(), history.status().ToString());
  BOOST_REQUIRE(history->size() == 2u);
  BOOST_TEST(*(*history)[0][2] == "CONFIRMED");    // b3, the later one.
  BOOST_TEST(*(*history)[1][2] == "CLAWED_BACK");  // b1.
  BOOST_TEST(*(*history)[1][6] == "RESOLVED");

  // 3. Detect High Velocity Wallets.
  absl::StatusOr<std::vector<pg::SqlRow>> velocity = (*sql)->Query(R"(
SELECT
    "walletAddress",
    COUNT(*) as bet_count,
    SUM(amount) as total_amount
FROM "Bet"
WHERE "createdAt" > NOW() - INTERVAL '1 hour'
GROUP BY "walletAddress"
HAVING COUNT(*) >= 3
ORDER BY bet_count DESC;)");
  BOOST_REQUIRE_MESSAGE(velocity.ok(), velocity.status().ToString());
  BOOST_REQUIRE(velocity->size() == 1u);
  BOOST_TEST(*(*velocity)[0][0] == "0x3333333333333333333333333333333333333333");
  BOOST_TEST(*(*velocity)[0][1] == "3");
  BOOST_TEST(*(*velocity)[0][2] == "3000000");

  // 4. Pool History (Time Series).
  absl::StatusOr<std::vector<pg::SqlRow>> pool = (*sql)->Query(R"(
SELECT
    "createdAt",
    "yesPool",
    "noPool",
    "totalBets"
FROM "PoolSnapshot"
WHERE "marketId" = 'm1'
ORDER BY "createdAt" DESC
LIMIT 50;)");
  BOOST_REQUIRE_MESSAGE(pool.ok(), pool.status().ToString());
  BOOST_REQUIRE(pool->size() == 2u);
  BOOST_TEST(*(*pool)[0][0] == "2026-02-16 09:10:00");
}

BOOST_AUTO_TEST_CASE(inline_catch_up_and_rebuild_give_identical_tables) {
  // 100k events with rejected and duplicate lines mixed in, three databases, three ways.
  const ThreeWays ways = ProjectThreeWays(GeneratedStream(100000, 2026, 997, 1009), 5000);
  BOOST_TEST(ways.inline_summary.accepted == 100000);
  BOOST_TEST(ways.inline_summary.rejected > 0);
  BOOST_TEST(ways.inline_summary.duplicates > 0);
  const std::string& inline_db = ways.inline_db;
  const std::string& catchup_db = ways.catchup_db;
  const std::string& rebuild_db = ways.rebuild_db;

  const std::string expected = Dump(rebuild_db);
  BOOST_TEST(expected.size() > 1000000u);
  BOOST_TEST((Dump(inline_db) == expected));
  BOOST_TEST((Dump(catchup_db) == expected));
  // Pools cross-checked against plain SQL over the log: confirmed minus clawed back, per choice.
  BOOST_TEST(Scalar(rebuild_db, R"(
      WITH bets AS (SELECT "betId", choice, amount FROM "BetHistory" WHERE action = 'PLACED'),
      flows AS (
        SELECT b.choice, CASE h.action WHEN 'CONFIRMED' THEN b.amount ELSE -h."clawbackAmount" END AS v,
               h."marketId"
          FROM "BetHistory" h JOIN bets b ON b."betId" = h."betId"
         WHERE h.action IN ('CONFIRMED', 'CLAWED_BACK'))
      SELECT count(*) FROM "Market" m WHERE
        m."yesPool" <> coalesce((SELECT sum(v) FROM flows f WHERE f."marketId" = m."marketId" AND f.choice = 'YES'), 0)
        OR m."noPool" <> coalesce((SELECT sum(v) FROM flows f WHERE f."marketId" = m."marketId" AND f.choice = 'NO'), 0))") ==
             "0");
}

BOOST_AUTO_TEST_CASE(readers_never_see_an_empty_or_half_built_table_during_rebuild) {
  const std::string conn = FreshDatabase();
  auto store = Open(conn);
  AppendLines(store.get(), GeneratedStream(20000, 8, 0, 0), true);
  const std::string bets = Scalar(conn, "SELECT count(*) FROM \"Bet\"");
  const std::string snapshots = Scalar(conn, "SELECT count(*) FROM \"PoolSnapshot\"");
  std::atomic<bool> rebuilding{true};
  std::atomic<int> reads{0};
  std::string seen_wrong;
  std::thread reader([&] {
    auto sql = pg::SqlSession::Open(conn);
    if (!sql.ok()) return;
    while (rebuilding.load()) {
      // One statement, one snapshot: both counts come from the same moment.
      absl::StatusOr<std::vector<pg::SqlRow>> rows = (*sql)->Query(
          "SELECT (SELECT count(*) FROM \"Bet\"), (SELECT count(*) FROM \"PoolSnapshot\")");
      if (!rows.ok()) continue;
      if (*(*rows)[0][0] != bets || *(*rows)[0][1] != snapshots) {
        seen_wrong = *(*rows)[0][0] + " bets, " + *(*rows)[0][1] + " snapshots";
      }
      ++reads;
    }
  });
  for (int i = 0; i < 3; ++i) RebuildAll(store.get());
  rebuilding = false;
  reader.join();
  BOOST_TEST(seen_wrong.empty(), "a reader saw " << seen_wrong);
  BOOST_TEST(reads.load() > 3);
}

BOOST_AUTO_TEST_CASE(single_projection_rebuild_and_failed_rebuild_leave_the_rest_alone) {
  const std::string conn = FreshDatabase();
  auto store = Open(conn);
  AppendLines(store.get(), GeneratedStream(5000, 4, 0, 0), true);
  const std::string before = Dump(conn);

  absl::Status bet_only = Rebuild(store.get(), ProjectorOptions{}, {Projection::kBet});
  BOOST_REQUIRE_MESSAGE(bet_only.ok(), bet_only.ToString());
  absl::Status market_only = Rebuild(store.get(), ProjectorOptions{}, {Projection::kMarket});
  BOOST_REQUIRE_MESSAGE(market_only.ok(), market_only.ToString());
  BOOST_TEST((Dump(conn) == before));

  // Make the swap fail halfway (an insert into the live Bet table errors): nothing changes.
  auto sql = pg::SqlSession::Open(conn);
  BOOST_REQUIRE(sql.ok());
  BOOST_REQUIRE((*sql)
                    ->Exec(R"(
      CREATE FUNCTION fail_insert() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure'; END $$;
      CREATE TRIGGER fail_insert BEFORE INSERT ON "Bet" FOR EACH ROW EXECUTE FUNCTION fail_insert();)")
                    .ok());
  absl::Status failed = Rebuild(store.get(), ProjectorOptions{}, {});
  BOOST_TEST(!failed.ok());
  BOOST_TEST((Dump(conn) == before));
  BOOST_TEST(
      Scalar(conn, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'ledger_shadow_%'") ==
      "4");  // Left for inspection; the next rebuild replaces them.
}

BOOST_AUTO_TEST_CASE(text_with_quotes_escapes_and_unicode_is_written_alike_by_all_three_ways) {
  // Inline and catch-up send rows as one JSON parameter, rebuild as COPY text: a value that either
  // encoding could mangle must land byte for byte the same.
  const std::string odd = R"(He said \"yes\" \\ back\tslash\nnew line, 100% é ü 😀 'quoted' {}[],:)";
  const std::string input =
      R"({"action":"MARKET_CREATED","marketId":"m-odd","question":")" + odd +
      R"(","endDate":"2027-03-01T00:00:00Z","contractAddress":"0x00000000000000000000000000000000000000c1","gnosisSafeAddress":"0x00000000000000000000000000000000000000a1","createdAt":"2026-02-16T09:00:00Z"})"
      "\n" +
      R"({"action":"PLACED","betId":"b\"odd\"\\é","marketId":"m-odd","wallet":")" + kW1 +
      R"(","choice":"YES","amount":5000000,"betNumber":1,"createdAt":"2026-02-16T09:01:00Z"})"
      "\n" +
      R"({"action":"CONFIRMED","betId":"b\"odd\"\\é","createdAt":"2026-02-16T09:01:30Z"})"
      "\n" +
      R"({"action":"FLAGGED","betId":"b\"odd\"\\é","reason":")" + odd +
      R"(","severity":"HIGH","createdAt":"2026-02-16T09:02:00Z"})"
      "\n";
  const ThreeWays ways = ProjectThreeWays(input);
  BOOST_TEST(ways.inline_summary.accepted == 4);
  const std::string& inline_db = ways.inline_db;
  const std::string& rebuild_db = ways.rebuild_db;
  BOOST_TEST(Scalar(rebuild_db, "SELECT question FROM \"Market\"") ==
             "He said \"yes\" \\ back\tslash\nnew line, 100% é ü 😀 'quoted' {}[],:");
  BOOST_TEST(Scalar(inline_db, "SELECT id FROM \"Bet\"") == "b\"odd\"\\é");
  const std::string expected = Dump(rebuild_db);
  BOOST_TEST((Dump(inline_db) == expected));
  BOOST_TEST((Dump(ways.catchup_db) == expected));
}

BOOST_AUTO_TEST_CASE(each_projection_commit_notifies_listeners_and_a_failed_one_does_not) {
  const std::string conn = FreshDatabase();
  auto writer = Open(conn);
  auto listener = Open(conn);
  BOOST_REQUIRE(listener->projections().WaitForProjection(0).ok());  // LISTEN from now on.
  // One stream in three parts: 2000 events, 2000 more, the last 100.
  const std::string input = GeneratedStream(4100, 5, 0, 0);
  std::vector<size_t> cuts = {0};
  for (size_t at = 0, lines = 0; (at = input.find('\n', at)) != std::string::npos; ++at) {
    if (++lines % 2000 == 0) cuts.push_back(at + 1);
  }
  BOOST_REQUIRE(cuts.size() == 3u);
  AppendLines(writer.get(), input.substr(0, cuts[1]), false);
  absl::StatusOr<bool> appended_only = listener->projections().WaitForProjection(300);
  BOOST_REQUIRE(appended_only.ok());
  BOOST_TEST(!*appended_only);  // Appending is not projecting.

  CatchUp(writer.get());
  absl::StatusOr<bool> caught_up = listener->projections().WaitForProjection(5000);
  BOOST_REQUIRE(caught_up.ok());
  BOOST_TEST(*caught_up);
  BOOST_TEST(Scalar(conn, "SELECT min(seq) FROM projection_checkpoint") == "2000");

  // A projection write that fails is rolled back: no rows, no checkpoint, no notification.
  auto sql = pg::SqlSession::Open(conn);
  BOOST_REQUIRE(sql.ok());
  BOOST_REQUIRE((*sql)
                    ->Exec(R"(
      CREATE FUNCTION fail_insert() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure'; END $$;
      CREATE TRIGGER fail_insert BEFORE INSERT OR UPDATE ON "Market" FOR EACH ROW
        EXECUTE FUNCTION fail_insert();)")
                    .ok());
  AppendLines(writer.get(), input.substr(cuts[1], cuts[2] - cuts[1]), false);
  CatchUpRunner runner(writer.get(), ProjectorOptions{});
  BOOST_TEST(!runner.RunOnce().ok());
  absl::StatusOr<bool> failed = listener->projections().WaitForProjection(300);
  BOOST_REQUIRE(failed.ok());
  BOOST_TEST(!*failed);
  BOOST_TEST(Scalar(conn, "SELECT max(seq) FROM projection_checkpoint") == "2000");

  // Inline projections notify in the append's own commit.
  BOOST_REQUIRE((*sql)->Exec("DROP TRIGGER fail_insert ON \"Market\"").ok());
  CatchUp(writer.get());
  BOOST_REQUIRE(listener->projections().WaitForProjection(5000).ok());
  BOOST_TEST(AppendLines(writer.get(), input.substr(cuts[2]), true).accepted == 100);
  absl::StatusOr<bool> inline_commit = listener->projections().WaitForProjection(5000);
  BOOST_REQUIRE(inline_commit.ok());
  BOOST_TEST(*inline_commit);
}

// A catch-up's commits do not wait for the WAL flush; a commit that also holds log rows (inline)
// and a rebuild's swap do. What each transaction ran under is recorded by a trigger on the log and
// on the checkpoints, and a pooled connection keeps its default afterwards.
BOOST_AUTO_TEST_CASE(catch_up_commits_do_not_wait_for_the_wal_flush_and_log_commits_do) {
  const std::string conn = FreshDatabase();
  auto store = Open(conn);
  auto sql = pg::SqlSession::Open(conn);
  BOOST_REQUIRE(sql.ok());
  BOOST_REQUIRE((*sql)
                    ->Exec(R"(
      CREATE TABLE commit_setting (n bigserial, what text, setting text);
      CREATE FUNCTION note_setting() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO commit_setting (what, setting)
          VALUES (TG_ARGV[0], current_setting('synchronous_commit'));
        RETURN NULL;
      END $$;
      CREATE TRIGGER note_log AFTER INSERT ON "BetHistory" FOR EACH STATEMENT
        EXECUTE FUNCTION note_setting('log');
      CREATE TRIGGER note_checkpoint AFTER INSERT OR UPDATE ON projection_checkpoint
        FOR EACH STATEMENT EXECUTE FUNCTION note_setting('checkpoint');
      CREATE TRIGGER note_market AFTER INSERT ON "Market" FOR EACH STATEMENT
        EXECUTE FUNCTION note_setting('market');)")
                    .ok());
  const std::string input = GeneratedStream(600, 3, 0, 0);
  const size_t half = input.find('\n', input.size() / 2) + 1;
  auto settings = [&](const std::string& what) {
    const std::string seen =
        Scalar(conn,
               "SELECT coalesce(string_agg(DISTINCT setting, ','), '') FROM commit_setting WHERE "
               "what = '" +
                   what + "'");
    return seen;
  };
  auto clear = [&] { BOOST_REQUIRE((*sql)->Exec("TRUNCATE commit_setting").ok()); };

  AppendLines(store.get(), input.substr(0, half), false);
  BOOST_TEST(settings("log") == "on");
  clear();
  CatchUp(store.get());
  BOOST_TEST(settings("checkpoint") == "off");
  BOOST_TEST(settings("market") == "off");
  clear();
  // The same connection's next transaction is back to the default.
  BOOST_TEST(Scalar(conn, "SELECT current_setting('synchronous_commit')") == "on");

  AppendLines(store.get(), input.substr(half), /*inline_projection=*/true);
  BOOST_TEST(settings("log") == "on");
  BOOST_TEST(settings("checkpoint") == "on");
  BOOST_TEST(settings("market") == "on");
  clear();
  RebuildAll(store.get());  // Its swap copies the rows into the live tables.
  BOOST_TEST(settings("market") == "on");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
