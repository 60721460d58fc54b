// Integration specification of the log on a real PostgreSQL: migrations, append with duplicates,
// conflicts and rejections, immutability enforced by the database, the hash chain as stored,
// catch-up between appenders, and all-or-nothing batches.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "engine/appender.h"
#include "engine/byte_codec.h"
#include "engine/chain_guard.h"
#include "engine/hash_chain.h"
#include "engine/pg/database.h"
#include "engine/pg/log_row.h"
#include "engine/pg/sql_session.h"
#include "engine/sequencer.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"
#include "sample/stream_generator.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

using testing::FreshDatabase;
using testing::GeneratedStream;
using testing::OpenSql;
using testing::OpenStore;
using testing::Scalar;

struct AppendRun {
  absl::Status status;
  AppendSummary summary;
  std::vector<std::pair<int64_t, Rejection>> rejections;
};

AppendRun Append(pg::Database* store, const std::string& input,
                 int64_t batch = kBatchEventsDefault) {
  AppendRun run;
  AppendOptions options;
  options.batch_events = batch;
  options.on_reject = [&run](int64_t line, const Rejection& r, std::string_view) {
    run.rejections.emplace_back(line, r);
  };
  Appender appender(store, options);
  std::istringstream in(input);
  run.status = appender.Run(in, &run.summary);
  return run;
}

// Replays the whole stored log through a fresh Sequencer, which checks every row's hash, continuity
// and rules. Returns the number of rows.
int64_t VerifyChain(pg::Database* store) {
  Sequencer reader;
  absl::Status s =
      store->log().Scan(0, [&reader](const LoggedEvent& row) { return reader.Replay(row); });
  BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  absl::StatusOr<std::pair<int64_t, Sha256>> head = store->log().Head();
  BOOST_REQUIRE(head.ok());
  BOOST_TEST(head->first == reader.head_seq());
  BOOST_TEST((head->second == reader.head_hash()));
  return reader.head_seq();
}

const std::string kMarket =
    R"({"action":"MARKET_CREATED","marketId":"m1","question":"Q?","endDate":"2027-01-01T00:00:00Z","contractAddress":"0x0000000000000000000000000000000000000001","gnosisSafeAddress":"0x0000000000000000000000000000000000000002"})";
std::string Place(const std::string& bet, int64_t amount, int number) {
  return R"({"action":"PLACED","betId":")" + bet +
         R"(","marketId":"m1","wallet":"0x1111111111111111111111111111111111111111","choice":"YES","amount":)" +
         std::to_string(amount) + R"(,"betNumber":)" + std::to_string(number) + "}";
}

InputLine Line(int64_t number, std::string text, int64_t group) {
  InputLine l;
  l.number = number;
  l.text = std::move(text);
  l.group = group;
  return l;
}

// "status seq code" per result, as a test compares them.
std::vector<std::string> Verdicts(const std::vector<LineResult>& results) {
  std::vector<std::string> out;
  for (const LineResult& r : results) {
    out.push_back(StrCat(LineStatusName(r.status), " ", r.seq.value_or(0), " ",
                         r.rejection ? ErrorCodeName(r.rejection->code) : ""));
  }
  return out;
}

// Appends `texts` as one batch (AppendLines), each line on its own (group 0).
std::vector<std::string> AppendBatchOf(Appender& appender, const std::vector<std::string>& texts) {
  std::vector<InputLine> lines;
  for (const std::string& text : texts) {
    lines.push_back(Line(static_cast<int64_t>(lines.size()) + 1, text, 0));
  }
  std::vector<LineResult> results;
  AppendSummary summary;
  const absl::Status status = appender.AppendLines(lines, &results, &summary);
  BOOST_REQUIRE_MESSAGE(status.ok(), status.ToString());
  return Verdicts(results);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(append)

BOOST_AUTO_TEST_CASE(migrate_is_idempotent_and_refuses_edited_migrations) {
  const std::string conn = FreshDatabase(/*migrate=*/false);
  auto store = OpenStore(conn);
  pg::MigrateReport first;
  BOOST_REQUIRE(store->Migrate(&first).ok());
  BOOST_TEST(first.applied.size() == pg::EmbeddedMigrations().size());
  pg::MigrateReport second;
  BOOST_REQUIRE(store->Migrate(&second).ok());
  BOOST_TEST(second.applied.empty());
  BOOST_TEST(second.already_applied == static_cast<int>(pg::EmbeddedMigrations().size()));

  auto sql = OpenSql(conn);
  BOOST_REQUIRE(
      sql->Exec("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1").ok());
  pg::MigrateReport third;
  absl::Status edited = store->Migrate(&third);
  BOOST_TEST(absl::IsFailedPrecondition(edited));
  BOOST_TEST(std::string(edited.message()).find("001_seed_schema.sql") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(migrate_refuses_a_database_newer_than_the_binary) {
  const std::string conn = FreshDatabase();
  auto sql = OpenSql(conn);
  BOOST_REQUIRE(sql->Exec("INSERT INTO schema_migrations (version, name, checksum) "
                          "VALUES (999, '999_future.sql', 'x')")
                    .ok());
  auto store = OpenStore(conn);
  pg::MigrateReport report;
  BOOST_TEST(absl::IsFailedPrecondition(store->Migrate(&report)));
}

BOOST_AUTO_TEST_CASE(seed_tables_keep_their_columns_and_the_planned_indexes) {
  const std::string conn = FreshDatabase();
  // The index plan (schema/008, 009 and 011, docs/indexes.md): the seed's indexes that a query
  // reads, and the three composites; what the plan dropped is gone.
  const std::string kept =
      "idx_bet_createdat,idx_bet_marketid_status,idx_bet_wallet,idx_bethistory_action,"
      "idx_bethistory_createdat,idx_bethistory_marketid_seq,idx_bethistory_wallet,"
      "idx_flaggedwallet_isactive,idx_flaggedwallet_marketid,idx_market_status,"
      "idx_poolsnapshot_createdat,idx_poolsnapshot_marketid_createdat";
  BOOST_TEST(Scalar(conn,
                    "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes "
                    "WHERE schemaname = 'public' AND indexname LIKE 'idx_%'") == kept);
  // The seed's BetHistory columns are still there with their types.
  BOOST_TEST(Scalar(conn,
                    "SELECT string_agg(column_name || ':' || data_type, ',' ORDER BY column_name) "
                    "FROM information_schema.columns WHERE table_name = 'BetHistory' AND "
                    "column_name IN ('id','betId','marketId','wallet','action','reason',"
                    "'clawbackAmount','clawbackTxHash','createdAt')") ==
             "action:text,betId:text,clawbackAmount:bigint,clawbackTxHash:text,"
             "createdAt:timestamp without time zone,id:text,marketId:text,reason:text,wallet:text");
  // No foreign key from the log to its projections, nor between projections (schema/010).
  BOOST_TEST(Scalar(conn,
                    "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid IN "
                    "('\"BetHistory\"'::regclass, '\"Bet\"'::regclass, '\"Market\"'::regclass, "
                    "'\"FlaggedWallet\"'::regclass, '\"PoolSnapshot\"'::regclass)") == "0");
  // The seed's UNIQUE constraint on a market's bets is kept: its clients upsert on it.
  BOOST_TEST(Scalar(conn,
                    "SELECT count(*) FROM pg_constraint WHERE contype = 'u' AND "
                    "conrelid = '\"Bet\"'::regclass") == "1");
}

BOOST_AUTO_TEST_CASE(append_counts_accepted_duplicates_and_rejected_exactly_once) {
  const std::string conn = FreshDatabase();
  auto store = OpenStore(conn);
  // 3000 events with a bad line every 200 and a duplicate every 150: several batches of 500.
  const std::string input = GeneratedStream(3000, 7, 200, 150);
  AppendRun first = Append(store.get(), input, 500);
  BOOST_REQUIRE_MESSAGE(first.status.ok(), first.status.ToString());
  BOOST_TEST(first.summary.accepted == 3000);
  BOOST_TEST(first.summary.duplicates == 20);
  BOOST_TEST(first.summary.rejected == 15);
  BOOST_TEST(static_cast<int64_t>(first.rejections.size()) == first.summary.rejected);
  BOOST_TEST(*first.summary.first_seq == 1);
  BOOST_TEST(*first.summary.last_seq == 3000);
  BOOST_TEST(Scalar(conn, "SELECT count(*) FROM \"BetHistory\"") == "3000");
  BOOST_TEST(Scalar(conn, "SELECT max(seq) - min(seq) + 1 FROM \"BetHistory\"") == "3000");

  // The same input again writes nothing: every good line is a duplicate.
  AppendRun again = Append(store.get(), input, 700);
  BOOST_REQUIRE(again.status.ok());
  BOOST_TEST(again.summary.accepted == 0);
  BOOST_TEST(again.summary.duplicates == 3020);
  BOOST_TEST(again.summary.rejected == 15);
  BOOST_TEST(!again.summary.first_seq.has_value());
  BOOST_TEST(VerifyChain(store.get()) == 3000);
}

BOOST_AUTO_TEST_CASE(rejected_lines_name_their_line_and_the_rest_is_kept) {
  const std::string conn = FreshDatabase();
  auto store = OpenStore(conn);
  const std::string input = kMarket + "\n" + Place("b1", 5, 1) + "\n" + "{oops\n" +
                            Place("b2", 5, 1) + "\n" + "\n" + Place("b3", 7, 2) + "\n";
  AppendRun run = Append(store.get(), input);
  BOOST_REQUIRE(run.status.ok());
  BOOST_TEST(run.summary.accepted == 3);
  BOOST_REQUIRE(run.rejections.size() == 2u);
  BOOST_TEST(run.rejections[0].first == 3);
  BOOST_TEST(ErrorCodeName(run.rejections[0].second.code) == "MALFORMED_JSON");
  BOOST_TEST(run.rejections[1].first == 4);
  BOOST_TEST(ErrorCodeName(run.rejections[1].second.code) == "BET_NUMBER_TAKEN");
  BOOST_TEST(Scalar(conn, "SELECT string_agg(\"betId\", ',' ORDER BY seq) FROM \"BetHistory\"") ==
             "b1,b3");
}

BOOST_AUTO_TEST_CASE(conflicting_resend_is_rejected_naming_the_fields) {
  const std::string conn = FreshDatabase();
  auto store = OpenStore(conn);
  BOOST_REQUIRE(Append(store.get(), kMarket + "\n" + Place("b1", 5, 1) + "\n").status.ok());
  // Against a committed row (read back from the database) ...
  AppendRun committed = Append(store.get(), Place("b1", 6, 1) + "\n");
  BOOST_REQUIRE(committed.rejections.size() == 1u);
  BOOST_TEST(ErrorCodeName(committed.rejections[0].second.code) == "IDENTITY_CONFLICT");
  BOOST_TEST(committed.rejections[0].second.message.find("seq 2") != std::string::npos);
  BOOST_TEST(committed.rejections[0].second.message.find("amount") != std::string::npos);
  // ... and against a row of the same batch.
  AppendRun same_batch = Append(store.get(), Place("b2", 5, 2) + "\n" + Place("b2", 5, 3) + "\n");
  BOOST_REQUIRE(same_batch.rejections.size() == 1u);
  BOOST_TEST(same_batch.rejections[0].second.message.find("betNumber") != std::string::npos);
  BOOST_TEST(Scalar(conn, "SELECT count(*) FROM \"BetHistory\"") == "3");
}

BOOST_AUTO_TEST_CASE(the_database_refuses_update_delete_and_truncate_of_the_log) {
  const std::string conn = FreshDatabase();
  auto store = OpenStore(conn);
  BOOST_REQUIRE(Append(store.get(), kMarket + "\n").status.ok());
  auto sql = OpenSql(conn);
  // Even the owner (a superuser here) is stopped by the triggers ...
  BOOST_TEST(absl::IsPermissionDenied(sql->Exec("UPDATE \"BetHistory\" SET reason = 'x'")));
  BOOST_TEST(absl::IsPermissionDenied(sql->Exec("DELETE FROM \"BetHistory\"")));
  BOOST_TEST(absl::IsPermissionDenied(sql->Exec("TRUNCATE \"BetHistory\"")));
  // ... and the application role has no such privilege at all.
  for (const char* statement : {"UPDATE \"BetHistory\" SET reason = 'x'",
                                "DELETE FROM \"BetHistory\"", "TRUNCATE \"BetHistory\""}) {
    absl::Status s = sql->Exec(std::string("SET ROLE ledger_app; ") + statement);
    BOOST_TEST(absl::IsPermissionDenied(s), statement);
    BOOST_TEST(std::string(s.message()).find("permission denied") != std::string::npos, statement);
    BOOST_REQUIRE(sql->Exec("RESET ROLE").ok());
  }
  BOOST_TEST(Scalar(conn, "SELECT count(*) FROM \"BetHistory\"") == "1");
  BOOST_TEST(VerifyChain(store.get()) == 1);
}

BOOST_AUTO_TEST_CASE(stored_hash_chain_is_continuous_and_matches_the_digest) {
  const std::string conn = FreshDatabase();
  auto store = OpenStore(conn);
  BOOST_REQUIRE(Append(store.get(), GeneratedStream(5000, 11), 999).status.ok());
  BOOST_TEST(VerifyChain(store.get()) == 5000);
  // Each row's prevHash is the previous row's hash, in the database itself.
  BOOST_TEST(Scalar(conn,
                    "SELECT count(*) FROM \"BetHistory\" a JOIN \"BetHistory\" b "
                    "ON b.seq = a.seq + 1 WHERE b.\"prevHash\" <> a.hash") == "0");
  BOOST_TEST(Scalar(conn, "SELECT \"prevHash\" FROM \"BetHistory\" WHERE seq = 1") ==
             std::string(64, '0'));
}

BOOST_AUTO_TEST_CASE(an_appender_catches_up_on_rows_another_appender_wrote) {
  const std::string conn = FreshDatabase();
  auto a = OpenStore(conn);
  auto b = OpenStore(conn);
  AppendOptions options;
  Appender first(a.get(), options);
  // Loads the (empty) state now, before b writes.
  BOOST_REQUIRE(Append(b.get(), kMarket + "\n" + Place("b1", 5, 1) + "\n").status.ok());
  AppendSummary summary;
  std::istringstream in(R"({"action":"CONFIRMED","betId":"b1"})"
                        "\n" +
                        Place("b1", 5, 1) + "\n");
  BOOST_REQUIRE(first.Run(in, &summary).ok());
  BOOST_TEST(summary.accepted == 1);
  BOOST_TEST(summary.duplicates == 1);
  BOOST_TEST(VerifyChain(a.get()) == 3);
}

BOOST_AUTO_TEST_CASE(a_failed_batch_leaves_nothing_behind) {
  const std::string conn = FreshDatabase();
  auto store = OpenStore(conn);
  // A trigger that fails the insert of one row, as a full disk or a lost connection would fail the
  // COPY halfway through a batch.
  auto sql = OpenSql(conn);
  BOOST_REQUIRE(sql->Exec(R"(
      CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW."betId" = 'poison' THEN RAISE EXCEPTION 'injected failure'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER poison BEFORE INSERT ON "BetHistory" FOR EACH ROW EXECUTE FUNCTION poison();)")
                    .ok());
  std::string input = kMarket + "\n";
  for (int i = 1; i <= 5; ++i) input += Place("ok" + std::to_string(i), 5, i) + "\n";
  input += Place("poison", 5, 6) + "\n" + Place("never", 5, 7) + "\n";
  AppendRun run =
      Append(store.get(), input, 3);  // Batches: [m,ok1,ok2] [ok3,ok4,ok5] [poison,never]
  BOOST_TEST(!run.status.ok());
  BOOST_TEST(run.summary.accepted == 6);
  BOOST_TEST(Scalar(conn, "SELECT count(*) FROM \"BetHistory\"") == "6");
  BOOST_TEST(Scalar(conn, "SELECT count(*) FROM \"BetHistory\" WHERE \"betId\" = 'never'") == "0");
  BOOST_TEST(VerifyChain(store.get()) == 6);
}

BOOST_AUTO_TEST_CASE(sql_in_text_fields_is_stored_verbatim) {
  const std::string conn = FreshDatabase();
  auto store = OpenStore(conn);
  const std::string reason = R"(x'); DROP TABLE \"BetHistory\"; --\ttab\\back)";
  std::string input = kMarket + "\n" + Place("b1", 5, 1) + "\n" +
                      R"({"action":"CONFIRMED","betId":"b1"})"
                      "\n" +
                      R"({"action":"FLAGGED","betId":"b1","reason":")" + reason + "\"}\n";
  AppendRun run = Append(store.get(), input);
  BOOST_REQUIRE(run.status.ok());
  BOOST_TEST(run.summary.accepted == 4);
  BOOST_TEST(Scalar(conn, "SELECT reason FROM \"BetHistory\" WHERE action = 'FLAGGED'") ==
             "x'); DROP TABLE \"BetHistory\"; --\ttab\\back");
  BOOST_TEST(VerifyChain(store.get()) == 4);
}

BOOST_AUTO_TEST_CASE(the_log_row_table_matches_the_schema) {
  // Proves that engine/pg/log_row.h's column table (from which the SELECT list, the COPY column
  // list, the parser and the encoder are derived) names every column of BetHistory once, none that
  // it lacks, and marks exactly its timestamp columns.
  const std::string conn = FreshDatabase();
  auto sql = OpenSql(conn);
  absl::StatusOr<std::vector<pg::SqlRow>> columns = sql->Query(
      "SELECT column_name, data_type FROM information_schema.columns "
      "WHERE table_name = 'BetHistory' ORDER BY ordinal_position");
  BOOST_REQUIRE(columns.ok());
  BOOST_REQUIRE_EQUAL(columns->size(), pg::kLogColumns.size());
  for (const pg::SqlRow& column : *columns) {
    const auto it = std::find_if(pg::kLogColumns.begin(), pg::kLogColumns.end(),
                                 [&](const pg::LogColumn& c) { return c.name == *column[0]; });
    BOOST_REQUIRE_MESSAGE(it != pg::kLogColumns.end(), *column[0] << " is not in kLogColumns");
    BOOST_TEST((column[1]->rfind("timestamp", 0) == 0) == it->timestamp, *column[0]);
  }
}

BOOST_AUTO_TEST_CASE(the_log_row_codec_round_trips_every_field) {
  // Proves that a row written by EncodeLogRow reads back equal through ParseLogRow, with every
  // optional field present and text that COPY must escape (tab, newline, backslash, CR, emoji).
  LoggedEvent row;
  row.seq = 42;
  row.id = "0f0e0d0c-0b0a-8908-8706-050403020100";
  row.identity_key = "event:1\t2";
  row.stream_id = "bet:b\\1";
  row.stream_version = 3;
  row.recorded_at = 1767225600123456;
  Event& e = row.event;
  e.action = Action::kClawedBack;
  e.event_id = "0f0e0d0c-0b0a-4908-8706-050403020100";
  e.created_at = 1767225600000001;
  e.bet_id = "b\n1";
  e.market_id = "m\r1";
  e.wallet = "0x1111111111111111111111111111111111111111";
  e.choice = Choice::kNo;
  e.amount = Micros(133350001);
  e.bet_number = 7;
  e.tx_hash = "0x" + std::string(64, 'a');
  e.reason = "tab\there, newline\nthere, backslash \\ and \xf0\x9f\x8e\xb2";
  e.severity = Severity::kCritical;
  e.clawback_amount = Micros(5);
  e.clawback_tx_hash = "0x" + std::string(64, 'b');
  e.winner = Choice::kYes;
  e.question = "Will it?";
  e.start_date = 1767225600000000;
  e.end_date = 1798761600000000;
  e.contract_address = "0x0000000000000000000000000000000000000001";
  e.gnosis_safe_address = "0x0000000000000000000000000000000000000002";
  row.prev_hash = Sha256Of("prev");
  row.hash = Sha256Of("this");
  std::string line;
  pg::EncodeLogRow(row, &line);
  pg::CopyLineFields fields;  // Views into `copied`, as into a line of COPY output.
  const std::string copied = line + "\n";
  BOOST_REQUIRE(fields.Parse(copied, pg::kLogColumns.size()));
  absl::StatusOr<LoggedEvent> back = pg::ParseLogRow(fields);
  BOOST_REQUIRE_MESSAGE(back.ok(), back.status().ToString());
  BOOST_TEST((*back == row));
  // A field no row can hold names its position, column and value.
  std::string bad = line;
  bad.replace(bad.find("CLAWED_BACK"), 11, "STOLEN");
  BOOST_REQUIRE(fields.Parse(bad, pg::kLogColumns.size()));
  absl::StatusOr<LoggedEvent> refused = pg::ParseLogRow(fields);
  BOOST_TEST(absl::IsDataLoss(refused.status()));
  BOOST_TEST(refused.status().message() == "log row at seq 42 has an unreadable action: STOLEN");
}

BOOST_AUTO_TEST_CASE(a_batch_that_does_not_continue_the_stored_head_is_refused) {
  // Proves the write-side half of the chain check (LogStore::Write): an appender whose fold says
  // the head is (N, h) refuses to append when the stored head row no longer hashes to h (a
  // superuser rewrote it after the appender folded), instead of chaining new rows onto a forged
  // one.
  const std::string conn = FreshDatabase();
  auto store = OpenStore(conn);
  Appender appender(store.get(), AppendOptions{});
  AppendSummary summary;
  std::istringstream first(kMarket + "\n" + Place("b1", 5, 1) + "\n");
  BOOST_REQUIRE(appender.Run(first, &summary).ok());
  auto sql = OpenSql(conn);
  BOOST_REQUIRE(
      sql->Exec("SET session_replication_role = replica; UPDATE \"BetHistory\" SET hash = "
                "repeat('ab', 32) WHERE seq = 2")
          .ok());
  std::istringstream second(Place("b2", 5, 2) + "\n");
  absl::Status status = appender.Run(second, &summary);
  BOOST_TEST(absl::IsDataLoss(status), status.ToString());
  BOOST_TEST(IsBrokenChain(status));
  BOOST_TEST(status.message().find("the log's hash chain is broken at seq 2: ALTERED_ROW: the "
                                   "stored head row no longer has the hash this writer read") !=
                 std::string::npos,
             status.ToString());
  BOOST_TEST(Scalar(conn, "SELECT count(*) FROM \"BetHistory\"") == "2");  // Nothing written.
  // A fresh reader finds the same damage by the chain: the sequencer names the row and its kind.
  Sequencer reader;
  absl::Status replay =
      store->log().Stream(0, [&reader](const LoggedEvent& row) { return reader.Replay(row); });
  BOOST_TEST(IsBrokenChain(replay));
  BOOST_TEST(replay.message().find("the log's hash chain is broken at seq 2: ALTERED_ROW") !=
                 std::string::npos,
             replay.ToString());
}

// Groups inside one batch (what `ledger serve` makes of ?atomic=true requests sharing a commit):
// a group with a rejected line leaves nothing, the lines around it are appended as ever, and the
// positions stay gap-free.
BOOST_AUTO_TEST_CASE(a_group_with_a_rejected_line_is_taken_back_whole_inside_its_batch) {
  const std::string conn = FreshDatabase();
  std::unique_ptr<pg::Database> store = OpenStore(conn);
  Appender appender(store.get(), AppendOptions{});
  auto line = Line;
  const std::vector<InputLine> lines = {
      line(1, kMarket, 0),
      line(2, Place("b1", 5, 1), 7),
      line(3, R"({"action":"CONFIRMED","betId":"b1"})", 7),
      line(4, Place("b2", 5, 1), 7),  // BET_NUMBER_TAKEN: the group's two others go too.
      line(5, Place("b3", 5, 2), 0),
      line(6, Place("b1", 5, 3), 8),  // b1 is free again.
      line(7, R"({"action":"CONFIRMED","betId":"b1"})", 8),
  };
  std::vector<LineResult> results;
  AppendSummary summary;
  BOOST_REQUIRE(appender.AppendLines(lines, &results, &summary).ok());
  const std::vector<std::string> got = Verdicts(results);
  const std::vector<std::string> expected = {"accepted 1 ",
                                             "rejected 0 ATOMIC_REQUEST_REJECTED",
                                             "rejected 0 ATOMIC_REQUEST_REJECTED",
                                             "rejected 0 BET_NUMBER_TAKEN",
                                             "accepted 2 ",
                                             "accepted 3 ",
                                             "accepted 4 "};
  BOOST_TEST(got == expected, boost::test_tools::per_element());
  BOOST_TEST(summary.accepted == 4);
  BOOST_TEST(summary.rejected == 3);
  BOOST_TEST(VerifyChain(store.get()) == 4);
  BOOST_TEST(
      Scalar(conn, "SELECT string_agg(\"identityKey\", ' ' ORDER BY seq) FROM \"BetHistory\"") ==
      "market:m1:MARKET_CREATED bet:b3:PLACED bet:b1:PLACED bet:b1:CONFIRMED");
}

BOOST_AUTO_TEST_SUITE_END()

// Small batches go in one round trip (LogStore::AppendInOneTrip, schema/007): validated against the
// fold, then written by one statement that commits them only if nobody else moved the head.
BOOST_AUTO_TEST_SUITE(one_trip)

// Text fields travel as JSON strings: quotes, backslashes, control characters, SQL, non-ASCII and
// characters JSON and COPY treat specially come back from the table exactly, and the stored rows
// hash to the chain the appender computed.
BOOST_AUTO_TEST_CASE(rows_written_in_one_trip_come_back_field_for_field) {
  const std::string conn = FreshDatabase();
  auto store = OpenStore(conn);
  Appender appender(store.get(), AppendOptions{});
  BOOST_TEST(AppendBatchOf(appender, {kMarket}) == std::vector<std::string>{"accepted 1 "});
  BOOST_TEST(appender.one_trip_batches() == 0);  // The first batch learns the head's recordedAt.
  const std::string question =
      R"(Q \"quoted\" back\\slash tab\t newline\n cr\r bell\u0007 \u2028 ünï 🎲 '); DROP TABLE x; --)";
  const std::string market2 =
      R"({"action":"MARKET_CREATED","marketId":"m2","question":")" + question +
      R"(","endDate":"2027-01-01T00:00:00Z","contractAddress":"0x0000000000000000000000000000000000000001","gnosisSafeAddress":"0x0000000000000000000000000000000000000002"})";
  BOOST_TEST(AppendBatchOf(appender, {market2, Place("b1", 5, 1)}) ==
                 (std::vector<std::string>{"accepted 2 ", "accepted 3 "}),
             boost::test_tools::per_element());
  BOOST_TEST(appender.one_trip_batches() == 1);
  BOOST_TEST(VerifyChain(store.get()) == 3);  // Every stored field re-hashed.
  BOOST_TEST(Scalar(conn, "SELECT question FROM \"BetHistory\" WHERE seq = 2") ==
             "Q \"quoted\" back\\slash tab\t newline\n cr\r bell\a \u2028 ünï 🎲 '); DROP "
             "TABLE x; --");
}

// Two writers on one database: a one-trip batch built on a head the other writer moved writes
// nothing, puts the fold back (a kept all-or-nothing group inside it too) and takes the long way,
// which catches up first. A batch of rejections alone is not believed on a stale fold either.
BOOST_AUTO_TEST_CASE(a_batch_built_on_a_moved_head_takes_the_long_way) {
  const std::string conn = FreshDatabase();
  auto store_a = OpenStore(conn);
  auto store_b = OpenStore(conn);
  Appender a(store_a.get(), AppendOptions{});
  Appender b(store_b.get(), AppendOptions{});
  BOOST_TEST(AppendBatchOf(a, {kMarket}) == std::vector<std::string>{"accepted 1 "});
  BOOST_REQUIRE(b.CatchUp().ok());  // b folds seq 1 and knows its recordedAt.
  BOOST_TEST(AppendBatchOf(a, {Place("b1", 5, 1)}) == std::vector<std::string>{"accepted 2 "});
  // b has not seen b1: on its own fold the confirmation is BET_NOT_FOUND, and b2's group looks
  // fine. The head moved, so b takes the long way and judges both on the log as it is.
  std::vector<LineResult> results;
  AppendSummary summary;
  BOOST_REQUIRE(b.AppendLines({Line(1, R"({"action":"CONFIRMED","betId":"b1"})", 0),
                               Line(2, Place("b2", 5, 2), 9), Line(3, Place("b3", 5, 3), 9)},
                              &results, &summary)
                    .ok());
  BOOST_TEST(
      Verdicts(results) == (std::vector<std::string>{"accepted 3 ", "accepted 4 ", "accepted 5 "}),
      boost::test_tools::per_element());
  BOOST_TEST(b.one_trip_fallbacks() == 1);
  // A batch with nothing to write is not believed on a stale fold either: a has not seen b3, so on
  // its fold the confirmation is BET_NOT_FOUND; the log says otherwise.
  BOOST_TEST(AppendBatchOf(a, {R"({"action":"CONFIRMED","betId":"b3"})"}) ==
             std::vector<std::string>{"accepted 6 "});
  BOOST_TEST(a.one_trip_fallbacks() == 1);
  // Current again, a writes in one trip: a rejection alone (b3 holds number 3), then a row.
  BOOST_TEST(AppendBatchOf(a, {Place("b4", 5, 3)}) ==
             std::vector<std::string>{"rejected 0 BET_NUMBER_TAKEN"});
  BOOST_TEST(AppendBatchOf(a, {Place("b4", 5, 4)}) == std::vector<std::string>{"accepted 7 "});
  BOOST_TEST(a.one_trip_batches() == 3);
  BOOST_TEST(a.one_trip_fallbacks() == 1);
  BOOST_TEST(VerifyChain(store_a.get()) == 7);
  // Both folds are the log's: a fresh fold of it saves the same bytes.
  Sequencer fresh;
  BOOST_REQUIRE(
      store_a->log().Scan(0, [&](const LoggedEvent& row) { return fresh.Replay(row); }).ok());
  BOOST_REQUIRE(b.CatchUp().ok());
  for (const LedgerState* state : {&a.state(), &b.state()}) {
    ByteWriter got;
    ByteWriter want;
    state->Save(got);
    fresh.state().Save(want);
    BOOST_TEST((got.bytes() == want.bytes()));
  }
}

// recordedAt never runs behind the row before it, whichever clock is off: a one-trip writer whose
// clock is an hour slow writes the head's time; a slow path (the database's clock) after a writer
// whose clock was an hour fast writes that writer's time, not its own.
BOOST_AUTO_TEST_CASE(recorded_at_never_runs_behind_the_head) {
  const std::string conn = FreshDatabase();
  auto store = OpenStore(conn);
  constexpr TimeMicros kHour = 3600LL * 1000000;
  AppendOptions slow_clock;
  slow_clock.clock = [] { return NowMicros() - kHour; };
  Appender slow(store.get(), slow_clock);
  BOOST_TEST(AppendBatchOf(slow, {kMarket}) == std::vector<std::string>{"accepted 1 "});
  BOOST_TEST(AppendBatchOf(slow, {Place("b1", 5, 1)}) == std::vector<std::string>{"accepted 2 "});
  BOOST_TEST(slow.one_trip_batches() == 1);
  BOOST_TEST(Scalar(conn, "SELECT count(DISTINCT \"recordedAt\") FROM \"BetHistory\"") == "1");
  auto fast_store = OpenStore(conn);
  AppendOptions fast_clock;
  fast_clock.clock = [] { return NowMicros() + kHour; };
  Appender fast(fast_store.get(), fast_clock);
  BOOST_REQUIRE(fast.CatchUp().ok());
  BOOST_TEST(AppendBatchOf(fast, {Place("b2", 5, 2)}) == std::vector<std::string>{"accepted 3 "});
  BOOST_TEST(fast.one_trip_batches() == 1);
  // More lines than one trip takes: the long way, on the database's clock.
  std::vector<std::string> many;
  for (int i = 0; i <= static_cast<int>(pg::kOneTripRowsMax); ++i) {
    std::string market = kMarket;
    many.push_back(market.replace(market.find("\"m1\""), 4, StrCat("\"c", i, "\"")));
  }
  const std::vector<std::string> verdicts = AppendBatchOf(slow, many);
  BOOST_TEST(std::count(verdicts.begin(), verdicts.end(), "accepted 0 ") == 0);
  BOOST_TEST(verdicts.back() == StrCat("accepted ", 3 + many.size(), " "));
  BOOST_TEST(slow.one_trip_fallbacks() == 0);
  BOOST_TEST(Scalar(conn,
                    "SELECT count(*) FROM (SELECT \"recordedAt\" < lag(\"recordedAt\") OVER "
                    "(ORDER BY seq) AS behind FROM \"BetHistory\") t WHERE behind") == "0");
  BOOST_TEST(Scalar(conn,
                    "SELECT count(*) FROM \"BetHistory\" WHERE \"recordedAt\" > "
                    "(now() AT TIME ZONE 'UTC') + interval '50 minutes'") ==
             StrCat(many.size() + 1));
  BOOST_TEST(VerifyChain(store.get()) == static_cast<int64_t>(3 + many.size()));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
