// Integration specification of the audit tools on a real PostgreSQL: replay at every position
// equals the projections as they were after that prefix, and verify catches each kind of tampering
// by a superuser who disabled the triggers, and each kind of projection drift.
#include "replay/replay.h"

#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "engine/appender.h"
#include "engine/hash_chain.h"
#include "engine/pg/database.h"
#include "engine/pg/sql_session.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"
#include "projections/runner.h"
#include "replay/verify.h"
#include "sample/stream_generator.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

using testing::FreshDatabase;
constexpr auto& Open = testing::OpenStore;
using testing::Scalar;

void AppendInline(pg::Database* store, const std::string& lines) {
  InlineProjection projection{ProjectorOptions{}};
  BOOST_REQUIRE(projection.Init(store).ok());
  AppendOptions options;
  options.observer = &projection;
  Appender appender(store, options);
  std::istringstream in(lines);
  AppendSummary summary;
  absl::Status s = appender.Run(in, &summary);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
}

std::vector<std::string> StreamLines(int64_t events, uint64_t seed) {
  StreamOptions options;
  options.events = events;
  options.seed = seed;
  options.markets = 3;
  options.wallets = 40;
  std::ostringstream out;
  GenerateStream(options, out);
  std::vector<std::string> lines;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A database holding `events` generated events with inline projections, and its digest.
struct Ledger {
  std::string conn;
  std::unique_ptr<pg::Database> store;
  LogDigest digest;
};

Ledger MakeLedger(int64_t events) {
  Ledger l;
  l.conn = FreshDatabase();
  l.store = Open(l.conn);
  std::string all;
  for (const std::string& line : StreamLines(events, 77)) all += line + "\n";
  AppendInline(l.store.get(), all);
  absl::StatusOr<std::pair<int64_t, Sha256>> head = l.store->log().Head();
  BOOST_REQUIRE(head.ok());
  l.digest.seq = head->first;
  l.digest.hash = head->second;
  return l;
}

VerifyReport RunVerify(Ledger& l, bool with_digest = true) {
  absl::StatusOr<VerifyReport> report =
      Verify(l.store.get(), with_digest ? std::optional<LogDigest>(l.digest) : std::nullopt);
  BOOST_REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  return *report;
}

// Runs SQL as a superuser with triggers disabled for the session, as a tampering DBA would.
void Tamper(const std::string& conn, const std::string& sql) {
  auto session = pg::SqlSession::Open(conn);
  BOOST_REQUIRE(session.ok());
  absl::Status s = (*session)->Exec("SET session_replication_role = replica; " + sql);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(replay)

BOOST_AUTO_TEST_CASE(replay_at_every_position_equals_the_projections_after_that_prefix) {
  const std::string conn = FreshDatabase();
  auto store = Open(conn);
  const std::vector<std::string> lines = StreamLines(300, 5);
  std::vector<TimeMicros> recorded;
  for (size_t k = 0; k < lines.size(); ++k) {
    AppendInline(store.get(), lines[k] + "\n");
    absl::StatusOr<Projector> replayed =
        ReplayUntil(store.get(), ReplayPoint::AtSeq(int64_t(k + 1)));
    BOOST_REQUIRE(replayed.ok());
    BOOST_REQUIRE_EQUAL(replayed->head_seq(), int64_t(k + 1));
    std::vector<Drift> drift;
    BOOST_REQUIRE(CompareWithLive(store.get(), *replayed, &drift).ok());
    const std::string first =
        drift.empty() ? "" : drift[0].table + " " + drift[0].key + " " + drift[0].kind;
    BOOST_TEST_REQUIRE(drift.empty(), "drift after prefix " << k + 1 << ": " << first);
  }
  // By time: the last row recorded at or before a moment.
  absl::StatusOr<LoggedEvent> row = store->log().Read(150);
  BOOST_REQUIRE(row.ok());
  absl::StatusOr<Projector> by_time =
      ReplayUntil(store.get(), ReplayPoint::AtTime(row->recorded_at));
  BOOST_REQUIRE(by_time.ok());
  BOOST_TEST(by_time->head_seq() >= 150);
  absl::StatusOr<LoggedEvent> next = store->log().Read(by_time->head_seq() + 1);
  BOOST_REQUIRE(next.ok());
  BOOST_TEST(next->recorded_at > row->recorded_at);
  // A replay does not touch the live tables.
  BOOST_TEST(Scalar(conn, "SELECT min(seq) FROM projection_checkpoint") == "300");
}

// Every row of every projection but PoolSnapshot (its rows follow the intervals folded), sorted.
std::vector<std::string> StateRows(const Projector& state) {
  std::vector<std::string> rows;
  for (Projection p : {Projection::kMarket, Projection::kBet, Projection::kFlaggedWallet}) {
    state.ForEachRow(p, [&](const Row& row) {
      std::string text = std::string(ProjectionName(p));
      for (const std::optional<std::string>& field : row) text += "|" + field.value_or("NULL");
      rows.push_back(std::move(text));
    });
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

BOOST_AUTO_TEST_CASE(replay_by_event_time_cuts_by_when_events_happened_not_when_recorded) {
  // Proves: on a log whose events happened in log order, --event-time T gives the same state as
  // the prefix of events that happened by T, although every row was recorded long after T (the
  // README's loaded-later log, where --until T gives the empty state). Then, on a hand-made log
  // with a late arrival and a confirmation stamped before its placement, the late event is folded,
  // the placement after the cut is not, and the confirmation that needs it is held back, listed.
  const std::string conn = FreshDatabase();
  auto store = Open(conn);
  const std::vector<std::string> lines = StreamLines(400, 21);
  std::string all;
  for (const std::string& line : lines) all += line + "\n";
  AppendInline(store.get(), all);
  for (const int64_t k : {int64_t{1}, int64_t{137}, int64_t{399}}) {
    absl::StatusOr<LoggedEvent> row = store->log().Read(k);
    BOOST_REQUIRE(row.ok());
    EventTimeCut cut;
    absl::StatusOr<Projector> by_event = ReplayUntil(
        store.get(), ReplayPoint::AtEventTime(row->event.created_at), {}, nullptr, &cut);
    BOOST_REQUIRE(by_event.ok());
    absl::StatusOr<Projector> prefix = ReplayUntil(store.get(), ReplayPoint::AtSeq(cut.folded));
    BOOST_REQUIRE(prefix.ok());
    BOOST_TEST(cut.folded >= k);
    BOOST_TEST(cut.folded + cut.after_cut == 400);
    BOOST_TEST(cut.held_back_total == 0);
    BOOST_TEST((StateRows(*by_event) == StateRows(*prefix)), "cut at seq " << k);
    absl::StatusOr<Projector> by_recorded =
        ReplayUntil(store.get(), ReplayPoint::AtTime(row->event.created_at));
    BOOST_REQUIRE(by_recorded.ok());
    BOOST_TEST(by_recorded->head_seq() == 0, "recorded long after it happened");
  }

  const std::string late = FreshDatabase();
  auto late_store = Open(late);
  const std::string wallet =
      R"("wallet":"0x00000000000000000000000000000000000000b1","choice":"YES")";
  AppendInline(
      late_store.get(),
      R"({"action":"MARKET_CREATED","createdAt":"2026-01-15T00:00:00Z","marketId":"m",)"
      R"("question":"Q?","endDate":"2099-01-01T00:00:00Z",)"
      R"("contractAddress":"0x00000000000000000000000000000000000000c1",)"
      R"("gnosisSafeAddress":"0x00000000000000000000000000000000000000a1"})"
      "\n"
      R"({"action":"PLACED","createdAt":"2026-01-15T00:10:00Z","betId":"b1","marketId":"m",)" +
          wallet + R"(,"amount":100000000,"betNumber":1})" + "\n" +
          R"({"action":"PLACED","createdAt":"2026-01-15T00:40:00Z","betId":"b2","marketId":"m",)" +
          wallet + R"(,"amount":200000000,"betNumber":2})" + "\n" +
          R"({"action":"CONFIRMED","createdAt":"2026-01-15T00:20:00Z","betId":"b2"})" + "\n" +
          R"({"action":"PLACED","createdAt":"2026-01-15T00:05:00Z","betId":"b3","marketId":"m",)" +
          wallet + R"(,"amount":300000000,"betNumber":3})" + "\n");
  EventTimeCut cut;
  absl::StatusOr<Projector> state =
      ReplayUntil(late_store.get(), ReplayPoint::AtEventTime(*ParseRfc3339("2026-01-15T00:30:00Z")),
                  {}, nullptr, &cut);
  BOOST_REQUIRE(state.ok());
  BOOST_TEST(cut.folded == 3);  // The market, b1, and b3 (arrived late, happened early).
  BOOST_TEST(cut.after_cut == 1);
  BOOST_REQUIRE_EQUAL(cut.held_back_total, 1);
  BOOST_REQUIRE_EQUAL(cut.held_back.size(), 1u);
  BOOST_TEST(cut.held_back[0].seq == 4);
  BOOST_TEST(state->head_seq() == 5);
  std::vector<std::string> bets;
  state->ForEachRow(Projection::kBet, [&](const Row& row) { bets.push_back(*row[0]); });
  std::sort(bets.begin(), bets.end());
  BOOST_TEST((bets == std::vector<std::string>{"b1", "b3"}));
}

BOOST_AUTO_TEST_CASE(a_clean_log_verifies_clean) {
  Ledger l = MakeLedger(500);
  VerifyReport r = RunVerify(l);
  BOOST_TEST(r.clean());
  BOOST_TEST(r.rows == 500);
  BOOST_TEST((r.head_hash == l.digest.hash));
}

BOOST_AUTO_TEST_CASE(a_value_no_event_can_hold_stops_verify_with_the_position_and_the_value) {
  // Proves: a row whose column holds a value no event can have (a choice of 'MAYBE', written by a
  // tamperer past the triggers) is not folded as something else: reading the log stops with
  // DATA_LOSS naming the position, the column and the value.
  Ledger l = MakeLedger(200);
  const std::string seq =
      Scalar(l.conn, "SELECT min(seq) FROM \"BetHistory\" WHERE action = 'PLACED'");
  Tamper(l.conn, "UPDATE \"BetHistory\" SET choice = 'MAYBE' WHERE seq = " + seq);
  absl::StatusOr<VerifyReport> report = Verify(l.store.get(), std::nullopt);
  BOOST_REQUIRE(!report.ok());
  BOOST_TEST(absl::IsDataLoss(report.status()));
  BOOST_TEST(std::string(report.status().message()) ==
             "log row at seq " + seq + " has an unreadable choice: MAYBE");
}

BOOST_AUTO_TEST_CASE(verify_catches_an_altered_amount) {
  Ledger l = MakeLedger(500);
  const std::string seq = Scalar(l.conn,
                                 "SELECT seq FROM \"BetHistory\" WHERE action = 'PLACED' "
                                 "ORDER BY seq OFFSET 5 LIMIT 1");
  Tamper(l.conn, "UPDATE \"BetHistory\" SET amount = amount + 1 WHERE seq = " + seq);
  VerifyReport r = RunVerify(l);
  BOOST_REQUIRE(!r.breaks.empty());
  BOOST_TEST(r.breaks[0].seq == std::stoll(seq));
  BOOST_TEST(r.breaks[0].kind == "ALTERED_ROW");
}

BOOST_AUTO_TEST_CASE(verify_catches_a_deleted_row) {
  Ledger l = MakeLedger(500);
  Tamper(l.conn, "DELETE FROM \"BetHistory\" WHERE seq = 60");
  VerifyReport r = RunVerify(l);
  BOOST_REQUIRE(!r.breaks.empty());
  BOOST_TEST(r.breaks[0].seq == 60);
  BOOST_TEST(r.breaks[0].kind == "MISSING_POSITION");
}

BOOST_AUTO_TEST_CASE(verify_catches_an_inserted_forged_row) {
  Ledger l = MakeLedger(500);
  // Make room at position 70 and forge a row there that claims to follow row 69.
  Tamper(l.conn, R"(
      UPDATE "BetHistory" SET seq = seq + 1000000 WHERE seq >= 70;
      UPDATE "BetHistory" SET seq = seq - 999999 WHERE seq >= 1000000;
      INSERT INTO "BetHistory" (id, "betId", "marketId", wallet, action, reason, "createdAt", seq,
          "identityKey", "streamId", "streamVersion", "recordedAt", "prevHash", hash)
      SELECT gen_random_uuid()::text, NULL, "marketId", NULL, 'MARKET_CLOSED', NULL, "createdAt",
             70, 'forged', 'forged', 1, "recordedAt", hash, repeat('0', 64)
        FROM "BetHistory" WHERE seq = 69;)");
  VerifyReport r = RunVerify(l);
  BOOST_REQUIRE(!r.breaks.empty());
  BOOST_TEST(r.breaks[0].seq == 70);
  BOOST_TEST(r.breaks[0].kind == "ALTERED_ROW");
}

BOOST_AUTO_TEST_CASE(verify_catches_swapped_rows) {
  Ledger l = MakeLedger(500);
  Tamper(l.conn, R"(
      UPDATE "BetHistory" SET seq = 1000080 WHERE seq = 80;
      UPDATE "BetHistory" SET seq = 80 WHERE seq = 81;
      UPDATE "BetHistory" SET seq = 81 WHERE seq = 1000080;)");
  VerifyReport r = RunVerify(l);
  BOOST_REQUIRE(!r.breaks.empty());
  BOOST_TEST(r.breaks[0].seq == 80);
}

BOOST_AUTO_TEST_CASE(a_truncated_tail_is_caught_only_by_the_digest) {
  Ledger l = MakeLedger(500);
  Tamper(l.conn, "DELETE FROM \"BetHistory\" WHERE seq > 450");
  // What remains is a valid chain: without the digest only the projections give it away.
  VerifyReport without = RunVerify(l, /*with_digest=*/false);
  BOOST_TEST(without.breaks.empty());
  BOOST_TEST(!without.digest_problem.has_value());
  VerifyReport with = RunVerify(l);
  BOOST_REQUIRE(with.digest_problem.has_value());
  BOOST_TEST(with.digest_problem->find("truncated") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_full_rewrite_with_recomputed_hashes_is_caught_by_the_digest) {
  Ledger l = MakeLedger(500);
  // The attacker knows the algorithm: alter row 100 and re-chain every row after it.
  std::vector<LoggedEvent> rows;
  BOOST_REQUIRE(l.store->log()
                    .Scan(99,
                          [&rows](const LoggedEvent& row) {
                            rows.push_back(row);
                            return absl::OkStatus();
                          })
                    .ok());
  absl::StatusOr<LoggedEvent> before = l.store->log().Read(99);
  BOOST_REQUIRE(before.ok());
  Sha256 prev = before->hash;
  rows[0].event.reason = rows[0].event.reason ? *rows[0].event.reason + "!" : "rewritten";
  auto session = pg::SqlSession::Open(l.conn);
  BOOST_REQUIRE(session.ok());
  BOOST_REQUIRE((*session)->Exec("SET session_replication_role = replica").ok());
  BOOST_REQUIRE(
      (*session)
          ->Exec("UPDATE \"BetHistory\" SET reason = $1 WHERE seq = 100", {*rows[0].event.reason})
          .ok());
  for (LoggedEvent& row : rows) {
    row.prev_hash = prev;
    row.hash = ChainHash(prev, row);
    prev = row.hash;
    BOOST_REQUIRE(
        (*session)
            ->Exec("UPDATE \"BetHistory\" SET \"prevHash\" = $1, hash = $2 WHERE seq = $3",
                   {ToHex(row.prev_hash), ToHex(row.hash), std::to_string(row.seq)})
            .ok());
  }
  VerifyReport r = RunVerify(l);
  BOOST_TEST(r.breaks.empty());                 // The chain itself is consistent again ...
  BOOST_REQUIRE(r.digest_problem.has_value());  // ... but not with the digest kept outside.
  BOOST_TEST(r.digest_problem->find("rewritten") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(verify_reports_projection_drift_by_table_key_and_column) {
  Ledger l = MakeLedger(500);
  const std::string bet = Scalar(l.conn, "SELECT min(id) FROM \"Bet\"");
  Tamper(l.conn, R"(
      UPDATE "Market" SET "yesPool" = "yesPool" + 1 WHERE "marketId" = 'eden-haus-hackathon';
      DELETE FROM "Bet" WHERE id = ')" +
                     bet + R"(';
      INSERT INTO "FlaggedWallet" (id, wallet, "marketId", reason)
        VALUES ('zzz', '0xdead', 'eden-haus-hackathon', 'planted');)");
  VerifyReport r = RunVerify(l);
  BOOST_TEST(r.breaks.empty());
  BOOST_REQUIRE(r.drift.size() == 3u);
  bool pool = false, missing = false, unexpected = false;
  for (const Drift& d : r.drift) {
    pool = pool || (d.table == "Market" && d.kind == "DIFFERENT_VALUE" && d.column == "yesPool" &&
                    std::stoll(*d.found) == std::stoll(*d.expected) + 1);
    missing = missing || (d.table == "Bet" && d.kind == "MISSING_ROW" && d.key == bet);
    unexpected =
        unexpected || (d.table == "FlaggedWallet" && d.kind == "UNEXPECTED_ROW" && d.key == "zzz");
  }
  BOOST_TEST(pool);
  BOOST_TEST(missing);
  BOOST_TEST(unexpected);
  BOOST_TEST(r.drift_judged);
  for (const Drift& d : r.drift) {
    // A Market row is keyed by a UUID; its drift also names the market as people call it.
    BOOST_TEST(d.name == (d.table == "Market" ? "eden-haus-hackathon" : ""), d.table);
  }
}

BOOST_AUTO_TEST_CASE(verify_on_a_tampered_log_never_calls_a_correct_table_wrong) {
  // Proves: after a superuser divides a placement's amount by ten in the log (triggers bypassed),
  // the Bet table still holds the amount the bet was placed with. verify names the altered row,
  // and lists the differences the forged row causes as unjudged, the table's value as what the
  // table holds (the original), never as drift that calls the table wrong.
  Ledger l = MakeLedger(500);
  const std::string bet = Scalar(l.conn, R"(SELECT "betId" FROM "BetHistory" WHERE action = 'PLACED'
                                            ORDER BY seq OFFSET 5 LIMIT 1)");
  const std::string original =
      Scalar(l.conn, "SELECT amount FROM \"Bet\" WHERE id = '" + bet + "'");
  Tamper(l.conn,
         "UPDATE \"BetHistory\" SET amount = amount / 10 WHERE action = 'PLACED' AND "
         "\"betId\" = '" +
             bet + "'");
  VerifyReport r = RunVerify(l);
  BOOST_REQUIRE(!r.breaks.empty());
  BOOST_TEST(r.breaks[0].kind == "ALTERED_ROW");
  BOOST_TEST(!r.drift_judged);
  bool amount_listed = false;
  for (const Drift& d : r.drift) {
    if (d.table != "Bet" || d.key != bet || d.column != "amount") continue;
    amount_listed = true;
    BOOST_TEST(*d.found == original);
    BOOST_TEST(std::stoll(*d.expected) == std::stoll(original) / 10);
  }
  BOOST_TEST(amount_listed, "the forged amount's difference is listed for forensics");
  // Once the log is restored, the same tables are judged again, and match.
  Tamper(l.conn, "UPDATE \"BetHistory\" SET amount = " + original +
                     " WHERE action = 'PLACED' AND \"betId\" = '" + bet + "'");
  r = RunVerify(l);
  BOOST_TEST(r.clean());
  BOOST_TEST(r.drift_judged);
}

BOOST_AUTO_TEST_CASE(a_projection_behind_the_log_is_reported_behind_never_as_drift) {
  // Proves: rows appended without projecting leave every checkpoint behind the head. verify then
  // names each projection BEHIND with its checkpoint (a finding: the tables do not match the log
  // yet), compares none of them, and lists no drift; after `project` it is clean.
  Ledger l = MakeLedger(200);
  Appender appender(l.store.get(), AppendOptions{});
  std::istringstream in(
      R"({"action":"MARKET_CREATED","marketId":"late-market","question":"Q?",)"
      R"("endDate":"2099-01-01T00:00:00Z","contractAddress":"0x00000000000000000000000000000000000000c1",)"
      R"("gnosisSafeAddress":"0x00000000000000000000000000000000000000a1"})"
      "\n");
  AppendSummary summary;
  BOOST_REQUIRE(appender.Run(in, &summary).ok());
  BOOST_REQUIRE_EQUAL(summary.accepted, 1);
  VerifyReport r = RunVerify(l, /*with_digest=*/false);
  BOOST_TEST(!r.clean());
  BOOST_TEST(r.drift.empty(), r.drift.size() << " drift entries");
  BOOST_REQUIRE_EQUAL(r.behind.size(), static_cast<size_t>(kProjectionCount));
  for (const ProjectionBehind& b : r.behind) {
    BOOST_TEST(b.checkpoint == l.digest.seq, b.projection);
    BOOST_TEST(r.counts[b.table + " BEHIND"] == 1, b.table);
  }
  BOOST_TEST(r.head_seq == l.digest.seq + 1);
  CatchUpRunner runner(l.store.get(), ProjectorOptions{});
  BOOST_REQUIRE(runner.RunOnce().ok());
  r = RunVerify(l, /*with_digest=*/false);
  BOOST_TEST(r.clean());
  BOOST_TEST(r.behind.empty());
}

BOOST_AUTO_TEST_CASE(findings_past_the_maximum_are_counted_not_listed) {
  // Proves: with every Bet row altered, verify lists exactly findings_max of them and counts all.
  Ledger l = MakeLedger(300);
  const int64_t bets = std::stoll(Scalar(l.conn, R"(SELECT count(*) FROM "Bet")"));
  BOOST_REQUIRE_GT(bets, 20);
  Tamper(l.conn, R"(UPDATE "Bet" SET amount = amount + 1)");
  for (const size_t findings_max : {size_t{1}, size_t{7}}) {
    absl::StatusOr<VerifyReport> r =
        Verify(l.store.get(), l.digest, ProjectorOptions{}, findings_max);
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r->drift.size() == findings_max);
    BOOST_TEST(r->counts["Bet DIFFERENT_VALUE"] == bets);
  }
}

BOOST_AUTO_TEST_CASE(verify_compares_in_byte_order_whatever_the_database_collation) {
  // Proves: verify's merge of the expected rows with the live tables does not depend on the
  // database's collation. In an ICU "en-US" database (where "a_3" sorts before "B-2", unlike byte
  // order), ids of mixed case and punctuation verify clean; a merge in the database's own order
  // would report them missing and unexpected.
  const std::string name = StrCat("t_icu_", getpid());
  {
    std::unique_ptr<pg::SqlSession> admin =
        testing::OpenSql(testing::Cluster().ConnectionString("postgres"));
    // No parameters in CREATE DATABASE; the name is generated above.
    absl::Status s = admin->Exec(StrCat("CREATE DATABASE ", name, " TEMPLATE template0 LOCALE 'C' ",
                                        "LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"));
    BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  Ledger l;
  l.conn = testing::Cluster().ConnectionString(name);
  l.store = Open(l.conn);
  pg::MigrateReport migrated;
  BOOST_REQUIRE(l.store->Migrate(&migrated).ok());
  BOOST_REQUIRE(Scalar(l.conn, "SELECT 'a_3' < 'B-2'") == "t");  // Not byte order.
  std::string lines;
  int second = 0;
  auto at = [&second] { return absl::StrFormat("2026-03-01T00:00:%02dZ", ++second); };
  const std::vector<std::string> markets = {"Alpha", "alpha-2", "_beta", "Zeta"};
  for (const std::string& m : markets) {
    lines += absl::StrFormat(
        R"({"action":"MARKET_CREATED","createdAt":"%s","marketId":"%s","question":"Q %s?",)"
        R"("startDate":"2026-03-01T00:00:00Z","endDate":"2027-03-01T00:00:00Z",)"
        R"("contractAddress":"0x8eae8949000b53c91a38f74b3ab18a7514ec235c",)"
        R"("gnosisSafeAddress":"0x000dbaffe2b44167b769bfc0f5df2a8ce37f9531"})"
        "\n",
        at(), m, m);
  }
  const std::vector<std::string> bets = {"b-1", "B-2", "a_3", "A-4", "Z5", "z6", "_7", "~8"};
  for (size_t i = 0; i < bets.size(); ++i) {
    lines += absl::StrFormat(R"({"action":"PLACED","createdAt":"%s","betId":"%s","marketId":"%s",)"
                             R"("wallet":"0x%040x","choice":"YES","amount":1000000,"betNumber":1})"
                             "\n",
                             at(), bets[i], markets[i % markets.size()], 0xabc0 + i);
    lines += absl::StrFormat(R"({"action":"CONFIRMED","createdAt":"%s","betId":"%s"})"
                             "\n",
                             at(), bets[i]);
  }
  AppendInline(l.store.get(), lines);
  BOOST_REQUIRE(Scalar(l.conn, "SELECT count(*) FROM \"Bet\"") == std::to_string(bets.size()));
  VerifyReport r = RunVerify(l, /*with_digest=*/false);
  BOOST_TEST(r.breaks.empty());
  BOOST_TEST(r.drift.empty(),
             r.drift.size() << " drift findings, first: "
                            << (r.drift.empty() ? "" : r.drift[0].kind + " " + r.drift[0].key));
  // And a real drift is still found there.
  Tamper(l.conn, R"(UPDATE "Bet" SET amount = 7 WHERE id = 'B-2')");
  r = RunVerify(l, /*with_digest=*/false);
  BOOST_REQUIRE(r.drift.size() == 1u);
  BOOST_TEST(r.drift[0].key == "B-2");
  BOOST_TEST(r.drift[0].column == "amount");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
