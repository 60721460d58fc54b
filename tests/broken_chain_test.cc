// Specification of trust following the hash chain: every command that derives state or output from
// the log (replay, audit, rebuild, project, reconcile, feed, publish, rules, markets, serve at
// start and in the rows it answers with, and append through its fold) checks the chain of what it
// reads and refuses a damaged log with exit 3 (the service: 500 BROKEN_CHAIN), naming the first bad
// position and its kind, and derives nothing (publish: nothing at or past the break); with
// --allow-broken-chain the readers read on, for forensics, and mark their output untrusted.
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "engine/pg/sql_session.h"
#include "tests/ledger_process.h"
#include "tests/nats_server.h"
#include "tests/process.h"
#include "tests/serve_process.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

using testing::FreshDatabase;
using testing::Generate;
using testing::LedgerSpec;
using testing::ReadFile;
using testing::TempDir;

constexpr int64_t kEvents = 300;

struct Tampering {
  std::string kind;  // What the readers must name.
  int64_t seq;       // Where.
  std::string sql;   // What a superuser (triggers off) did.
};

// A log of kEvents generated events, then damaged by `t`.
std::string DamagedLog(const Tampering& t, const TempDir& dir) {
  const std::string conn = FreshDatabase();
  Generate(dir / "in.jsonl", {"--events", std::to_string(kEvents), "--seed", "40"});
  BOOST_REQUIRE_EQUAL(testing::Run(testing::AppendSpec(conn, dir / "in.jsonl", dir, "append")), 0);
  auto sql = pg::SqlSession::Open(conn);
  BOOST_REQUIRE(sql.ok());
  absl::Status s = (*sql)->Exec("SET session_replication_role = replica; " + t.sql);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  return conn;
}

const std::vector<Tampering>& Tamperings() {
  static const std::vector<Tampering>* all = new std::vector<Tampering>{
      {"ALTERED_ROW", 51,
       R"(UPDATE "BetHistory" SET "createdAt" = "createdAt" + interval '1 s' WHERE seq = 51)"},
      {"BROKEN_LINK", 60,
       R"(UPDATE "BetHistory" SET "prevHash" = repeat('ab', 32) WHERE seq = 60)"},
      {"MISSING_POSITION", 70, R"(DELETE FROM "BetHistory" WHERE seq = 70)"},
      // A forged row appended past the head: a copy of the last one, renumbered.
      {"BROKEN_LINK", kEvents + 1,
       R"(CREATE TEMP TABLE forged AS SELECT * FROM "BetHistory" WHERE seq = 300;
          UPDATE forged SET seq = 301, id = 'forged', "identityKey" = 'forged',
                            "streamVersion" = "streamVersion" + 100;
          INSERT INTO "BetHistory" SELECT * FROM forged)"},
  };
  return *all;
}

// The reading commands, as run against a damaged log.
const std::vector<std::vector<std::string>>& Readers() {
  static const std::vector<std::vector<std::string>>* all =
      new std::vector<std::vector<std::string>>{{"replay", "--until", "100000"},
                                                {"audit", "--market", "eden-haus-hackathon"},
                                                {"rebuild"},
                                                {"project"},
                                                {"reconcile"},
                                                {"feed"}};
  return *all;
}

// Commands that fold the log to decide what to write (no --allow-broken-chain: they never write
// on a damaged log), run as they would be against a damaged log.
const std::vector<std::vector<std::string>>& Deciders() {
  static const std::vector<std::vector<std::string>>* all =
      new std::vector<std::vector<std::string>>{
          {"rules", "run", "--dry-run"},
          {"markets", "close-expired", "--dry-run"},
          {"serve", "--listen", "127.0.0.1:0", "--no-projections"}};
  return *all;
}

BOOST_AUTO_TEST_SUITE(broken_chain)

BOOST_AUTO_TEST_CASE(every_reader_refuses_each_kind_of_damage_and_names_it) {
  for (const Tampering& t : Tamperings()) {
    TempDir dir;
    const std::string conn = DamagedLog(t, dir);
    const std::string expected = "broken at seq " + std::to_string(t.seq) + ": " + t.kind;
    std::vector<std::vector<std::string>> commands = Readers();
    commands.insert(commands.end(), Deciders().begin(), Deciders().end());
    for (const std::vector<std::string>& reader : commands) {
      BOOST_TEST(testing::Run(LedgerSpec(conn, reader, dir, "r")) == 3,
                 reader[0] << " on " << t.kind);
      const std::string err = ReadFile(dir / "r.err");
      BOOST_TEST(err.find(expected) != std::string::npos, reader[0] << ": " << err);
      BOOST_TEST(err.find("docs/runbook-tampering.md") != std::string::npos, err);
      // Derived nothing: no report, no feed line, no summary.
      BOOST_TEST(ReadFile(dir / "r.out").empty(),
                 reader[0] << " wrote " << ReadFile(dir / "r.out"));
    }
    // The projections were never written from the damaged log.
    BOOST_TEST(testing::Scalar(conn, R"(SELECT count(*) FROM "Bet")") == "0");
    // append folds the log first and names the damage the same way.
    BOOST_TEST(testing::Run(testing::AppendSpec(conn, dir / "in.jsonl", dir, "again")) == 3);
    BOOST_TEST(ReadFile(dir / "again.err").find(expected) != std::string::npos,
               ReadFile(dir / "again.err"));
  }
}

BOOST_AUTO_TEST_CASE(a_running_service_never_serves_a_row_damaged_after_it_started) {
  // The service folded a clean log; then a superuser alters row 51. Reading it, or a page holding
  // it, is 500 BROKEN_CHAIN naming seq 51 and ALTERED_ROW; the rows around it are still served.
  TempDir dir;
  const std::string conn = DamagedLog({"none", 0, "SELECT 1"}, dir);
  testing::ServeProcess serve(conn, dir, {"--no-projections"});
  testing::HttpClient client(serve.port());
  const testing::HttpReply clean = client.Get("/v1/events/51");
  BOOST_REQUIRE_EQUAL(clean.status, 200);
  // A filtered look-up's page (rows that are not contiguous, each checked on its own) holding it.
  const std::string look_up = "/v1/events?after=50&limit=3&action=" +
                              std::string(clean.Json().as_object().at("action").as_string());
  auto sql = pg::SqlSession::Open(conn);
  BOOST_REQUIRE(sql.ok());
  BOOST_REQUIRE(
      (*sql)
          ->Exec(std::string("SET session_replication_role = replica; ") + Tamperings()[0].sql)
          .ok());
  for (const std::string& target :
       std::vector<std::string>{"/v1/events/51", "/v1/events?after=40&limit=50", look_up}) {
    const testing::HttpReply r = client.Get(target);
    BOOST_TEST(r.status == 500, target << ": " << r.body);
    const boost::json::object body = r.Json().as_object();
    BOOST_TEST(body.at("error").as_string() == "BROKEN_CHAIN", target);
    BOOST_TEST(std::string(body.at("message").as_string()).find("broken at seq 51: ALTERED_ROW") !=
                   std::string::npos,
               r.body);
  }
  BOOST_TEST(client.Get("/v1/events/50").status == 200);
  BOOST_TEST(client.Get("/v1/events?after=51&limit=20").status == 200);
}

BOOST_AUTO_TEST_CASE(publish_sends_nothing_at_or_past_a_break_and_names_it) {
  // The JetStream publisher feeds other services that never see PostgreSQL: it checks every row's
  // chain before sending it, stops at the first break with exit 3 naming it, and the stream holds
  // only positions before the break (there is no --allow-broken-chain for publishing); its summary
  // says how far it got.
  testing::NatsServer nats;
  int stream = 0;
  for (const Tampering& t : Tamperings()) {
    TempDir dir;
    const std::string conn = DamagedLog(t, dir);
    const std::string name = "DAMAGED" + std::to_string(++stream);
    BOOST_TEST_CONTEXT(t.kind << " at " << t.seq) {
      const int code = testing::Run(
          LedgerSpec(conn,
                     {"publish", "--nats", nats.url(), "--stream", name, "--subject-prefix",
                      "damaged" + std::to_string(stream)},  // Streams' subjects must not overlap.
                     dir, "publish"));
      const std::string err = ReadFile(dir / "publish.err");
      BOOST_TEST_INFO(err);
      BOOST_TEST(code == 3);
      BOOST_TEST(err.find("broken at seq " + std::to_string(t.seq) + ": " + t.kind) !=
                 std::string::npos);
      const auto [messages, last] = testing::StreamState(nats.url(), name);
      BOOST_TEST(last == static_cast<uint64_t>(t.seq - 1));  // Every row before the break.
      BOOST_TEST(messages == last);                          // Positions 1..last, each once.
      // The summary still says what went out before the break, as the stream holds it.
      const boost::json::object summary = testing::Summary(dir / "publish.out");
      BOOST_TEST(summary.at("published").as_int64() == static_cast<int64_t>(last));
      BOOST_TEST(summary.at("position").as_int64() == static_cast<int64_t>(last));
    }
  }
}

BOOST_AUTO_TEST_CASE(allow_broken_chain_reads_on_and_marks_the_output_untrusted) {
  // The two kinds of damage that leave every event valid for the rules (an altered row's text, a
  // rewritten link), so that the fold itself can go on.
  for (const Tampering& t : {Tamperings()[0], Tamperings()[1]}) {
    TempDir dir;
    const std::string conn = DamagedLog(t, dir);
    for (std::vector<std::string> reader : Readers()) {
      reader.push_back("--allow-broken-chain");
      const int code = testing::Run(LedgerSpec(conn, reader, dir, "r"));
      const std::string err = ReadFile(dir / "r.err");
      // reconcile exits 3 for its own findings (the sample leaves clawbacks unrefunded).
      BOOST_TEST((code == 0 || (reader[0] == "reconcile" && code == 3)), reader[0] << ": " << err);
      BOOST_TEST(err.find("UNTRUSTED: the log's hash chain is broken at seq " +
                          std::to_string(t.seq) + " (" + t.kind + ")") != std::string::npos,
                 reader[0] << ": " << err);
      const std::string out = ReadFile(dir / "r.out");
      if (reader[0] == "feed") {
        BOOST_TEST(std::count(out.begin(), out.end(), '\n') == kEvents);
        continue;
      }
      const boost::json::object report = boost::json::parse(out).as_object();
      BOOST_REQUIRE_MESSAGE(report.at("untrusted").is_object(), reader[0] << ": " << out);
      BOOST_TEST(report.at("untrusted").at("seq").as_int64() == t.seq, reader[0]);
      BOOST_TEST(report.at("untrusted").at("kind").as_string() == t.kind, reader[0]);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ledger
