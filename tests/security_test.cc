// Specification of the roles (`ledger migrate --roles`, schema/roles.sql) on a real PostgreSQL:
// each of writer, projector and auditor can do its job and is refused, by the database, what it
// must not do; and SQL fragments in every text field are stored verbatim, never executed.
#include <boost/test/unit_test.hpp>
#include <sstream>
#include <string>

#include "engine/appender.h"
#include "engine/pg/database.h"
#include "engine/pg/sql_session.h"
#include "projections/runner.h"
#include "replay/verify.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

using testing::FreshDatabase;
using testing::Scalar;

// A login role that is a member of `group`, and `conn` as that login (libpq takes the last user=).
std::string LoginAs(const std::string& conn, const std::string& login, const std::string& group) {
  auto admin = testing::OpenSql(conn);
  // Role names are cluster-wide: created once, reused by later databases. Names are constants here.
  absl::Status s =
      admin->Exec("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + login +
                  "') THEN CREATE ROLE " + login + " LOGIN; END IF; END $$");
  BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  s = admin->Exec("GRANT " + group + " TO " + login);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  return conn + " user=" + login;
}

// `sql` as `conn` fails with PostgreSQL's insufficient_privilege (or the log's immutability
// trigger).
void ExpectRefused(const std::string& conn, const std::string& sql) {
  auto session = testing::OpenSql(conn);
  absl::Status s = session->Exec(sql);
  BOOST_TEST(absl::IsPermissionDenied(s), sql << " -> " << s.ToString());
}

void ExpectAllowed(const std::string& conn, const std::string& sql) {
  auto session = testing::OpenSql(conn);
  absl::Status s = session->Exec(sql);
  BOOST_TEST(s.ok(), sql << " -> " << s.ToString());
}

const std::string kMarket =
    R"({"action":"MARKET_CREATED","marketId":"m1","question":"Q?","endDate":"2099-01-01T00:00:00Z","contractAddress":"0x00000000000000000000000000000000000000c1","gnosisSafeAddress":"0x00000000000000000000000000000000000000a1"})";

AppendSummary AppendAs(const std::string& conn, const std::string& lines) {
  absl::StatusOr<std::unique_ptr<pg::Database>> store = pg::Database::Open(conn);
  BOOST_REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  Appender appender(store->get(), AppendOptions{});
  std::istringstream in(lines);
  AppendSummary summary;
  absl::Status s = appender.Run(in, &summary);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  return summary;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(security)

BOOST_AUTO_TEST_CASE(each_role_does_its_job_and_is_refused_the_rest) {
  // Proves: after `migrate --roles`, a writer login appends but cannot UPDATE, DELETE or TRUNCATE
  // the log nor write a projection; a projector login projects and rebuilds but cannot append; an
  // auditor login verifies but cannot write anything. The refusals come from the database's grants.
  const std::string conn = FreshDatabase();
  auto store = testing::OpenStore(conn);
  BOOST_REQUIRE(store->ApplyRoles().ok());
  BOOST_REQUIRE(store->ApplyRoles().ok());  // Idempotent.
  const std::string writer = LoginAs(conn, "test_writer", "ledger_writer");
  const std::string projector = LoginAs(conn, "test_projector", "ledger_projector");
  const std::string auditor = LoginAs(conn, "test_auditor", "ledger_auditor");

  BOOST_TEST(AppendAs(writer, kMarket + "\n").accepted == 1);
  for (
      const char* sql :
      {R"(UPDATE "BetHistory" SET reason = 'x')", R"(DELETE FROM "BetHistory")",
       R"(TRUNCATE "BetHistory")", R"(DELETE FROM "Market")",
       R"(INSERT INTO "FlaggedWallet" (id, wallet, "marketId", reason) VALUES ('f', 'w', 'm', 'r'))",
       "UPDATE projection_checkpoint SET seq = 0",
       R"(ALTER TABLE "BetHistory" DISABLE TRIGGER USER)"}) {
    ExpectRefused(writer, sql);
  }

  {
    absl::StatusOr<std::unique_ptr<pg::Database>> as_projector = pg::Database::Open(projector);
    BOOST_REQUIRE(as_projector.ok());
    CatchUpRunner runner(as_projector->get(), ProjectorOptions{});
    absl::StatusOr<int64_t> applied = runner.RunOnce();
    BOOST_TEST(applied.ok(), applied.status().ToString());
    absl::Status rebuilt = Rebuild(as_projector->get(), ProjectorOptions{}, {});
    BOOST_TEST(rebuilt.ok(), rebuilt.ToString());
  }
  BOOST_TEST(Scalar(conn, R"(SELECT count(*) FROM "Market")") == "1");
  ExpectRefused(projector, R"(INSERT INTO "BetHistory" (id) VALUES ('forged'))");
  ExpectRefused(projector, R"(DELETE FROM "BetHistory")");

  {
    absl::StatusOr<std::unique_ptr<pg::Database>> as_auditor = pg::Database::Open(auditor);
    BOOST_REQUIRE(as_auditor.ok());
    absl::StatusOr<VerifyReport> report = Verify(as_auditor->get(), std::nullopt);
    BOOST_REQUIRE_MESSAGE(report.ok(), report.status().ToString());
    BOOST_TEST(report->clean());
  }
  ExpectAllowed(auditor, R"(SELECT count(*) FROM "BetHistory", "Bet", feed_position)");
  for (const char* sql : {R"(INSERT INTO "BetHistory" (id) VALUES ('forged'))",
                          R"(UPDATE "Market" SET "yesPool" = 0)", R"(DELETE FROM "PoolSnapshot")",
                          "INSERT INTO feed_position (kind, name, seq) VALUES ('feed', 'x', 1)",
                          "CREATE TABLE auditor_was_here (x int)"}) {
    ExpectRefused(auditor, sql);
  }
}

BOOST_AUTO_TEST_CASE(sql_fragments_in_text_fields_are_stored_verbatim) {
  // Proves: text fields (ids, question, reasons) go to PostgreSQL as parameters or COPY data:
  // quotes, comment markers and statements come back byte for byte and nothing is executed. (Ids
  // may not hold spaces, so their fragments use comments instead.)
  const std::string conn = FreshDatabase();
  const std::string evil = R"(x'); DROP TABLE \"BetHistory\"; -- \" ; SELECT pg_sleep(10); /*)";
  const std::string lines =
      R"({"action":"MARKET_CREATED","marketId":"m'1;--","question":")" + evil +
      R"(","endDate":"2099-01-01T00:00:00Z","contractAddress":"0x00000000000000000000000000000000000000c1","gnosisSafeAddress":"0x00000000000000000000000000000000000000a1"})"
      "\n"
      R"({"action":"PLACED","betId":"b');DELETE/**/FROM/**/\"Bet\";--","marketId":"m'1;--","wallet":"0x1111111111111111111111111111111111111111","choice":"YES","amount":1000000,"betNumber":1})"
      "\n"
      R"({"action":"CONFIRMED","betId":"b');DELETE/**/FROM/**/\"Bet\";--"})"
      "\n"
      R"({"action":"FLAGGED","betId":"b');DELETE/**/FROM/**/\"Bet\";--","reason":")" +
      evil +
      R"("})"
      "\n"
      R"({"action":"MARKET_CLOSED","marketId":"m'1;--","reason":")" +
      evil +
      R"("})"
      "\n";
  BOOST_TEST(AppendAs(conn, lines).accepted == 5);
  auto store = testing::OpenStore(conn);
  CatchUpRunner runner(store.get(), ProjectorOptions{});
  BOOST_REQUIRE(runner.RunOnce().ok());
  const std::string stored = R"(x'); DROP TABLE "BetHistory"; -- " ; SELECT pg_sleep(10); /*)";
  BOOST_TEST(Scalar(conn, R"(SELECT question FROM "Market")") == stored);
  BOOST_TEST(Scalar(conn, R"(SELECT "marketId" FROM "Market")") == "m'1;--");
  BOOST_TEST(Scalar(conn, R"(SELECT id FROM "Bet")") == R"(b');DELETE/**/FROM/**/"Bet";--)");
  BOOST_TEST(Scalar(conn, R"(SELECT reason FROM "FlaggedWallet")") == stored);
  BOOST_TEST(Scalar(conn, R"(SELECT count(*) FROM "BetHistory" WHERE reason = $$)" + stored +
                              "$$") == "2");
  absl::StatusOr<VerifyReport> report = Verify(store.get(), std::nullopt);
  BOOST_REQUIRE(report.ok());
  BOOST_TEST(report->clean());
}

BOOST_AUTO_TEST_CASE(passwords_are_masked_in_errors) {
  // Proves: a connection failure names the connection without its password, in both URL and
  // key=value forms.
  for (const std::string& conn :
       {std::string("postgresql://ledger:s3cret-pw@127.0.0.1:1/ledger"),
        std::string("host=127.0.0.1 port=1 user=ledger password=s3cret-pw dbname=ledger")}) {
    absl::StatusOr<std::unique_ptr<pg::Database>> store = pg::Database::Open(conn);
    BOOST_REQUIRE(!store.ok());
    const std::string message(store.status().message());
    BOOST_TEST(message.find("s3cret-pw") == std::string::npos, message);
    BOOST_TEST(message.find("****") != std::string::npos, message);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
