// Specification of the readers on a hot standby (docs/deployment.md): a streaming replica made with
// pg_basebackup -R from the test cluster. Every reading command gives there what it gives on the
// primary once the standby has caught up, and says on stderr (and verify in its JSON) how far the
// standby has replayed; while replay is held back, they see the older head and say the standby
// lags. Every command that writes, or keeps a position in the database, exits 2 on the standby
// saying it is read-only and naming the primary, before writing anything anywhere. A follower on
// the standby (which cannot LISTEN) polls, and sees what the primary appends.
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/ledger_process.h"
#include "tests/process.h"
#include "tests/serve_process.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

using testing::LedgerSpec;
using testing::ReadFile;
using testing::Scalar;
using testing::Standby;
using testing::Summary;
using testing::TempDir;

constexpr int64_t kEvents = 400;
constexpr int64_t kMoreEvents = 60;

int Ledger(const std::string& conn, const std::vector<std::string>& args, const TempDir& dir,
           const std::string& tag) {
  return testing::Run(LedgerSpec(conn, args, dir, tag));
}

// A projected log of kEvents events on a fresh database of the test cluster.
std::string ProjectedLog(const TempDir& dir) {
  const std::string conn = testing::FreshDatabase();
  testing::Generate(dir / "in.jsonl", {"--events", absl::StrCat(kEvents), "--seed", "77"});
  BOOST_REQUIRE_EQUAL(testing::Run(testing::AppendSpec(conn, dir / "in.jsonl", dir, "append")), 0);
  BOOST_REQUIRE_EQUAL(Ledger(conn, {"project"}, dir, "project"), 0);
  return conn;
}

// The wallet of the first bet placed in the JSON Lines file `path`.
std::string FirstWallet(const std::string& path) {
  for (const std::string& line : testing::Lines(ReadFile(path))) {
    const boost::json::object event = boost::json::parse(line).as_object();
    if (event.at("action").as_string() == "PLACED")
      return std::string(event.at("wallet").as_string());
  }
  BOOST_FAIL("no PLACED event in " << path);
  return "";
}

// The reading commands whose output must be the same on the primary and a caught-up standby.
std::vector<std::vector<std::string>> ReadingCommands(const std::string& wallet) {
  return {
      {"history", "--wallet", wallet, "--format", "json"},
      {"replay", "--until", "250", "--format", "json"},
      {"audit", "--market", "market-0001", "--format", "json", "--now", "2026-06-01T00:00:00Z"},
      {"reconcile", "--now", "2026-06-01T00:00:00Z"},  // Ages as of a fixed time.
      {"feed", "--from", "1"},
      {"stats", "--market", "market-0001", "--format", "json"},
      {"rules", "run", "--dry-run", "--now", "2026-06-01T00:00:00Z", "--format", "json"},
  };
}

// A command's output without the database it names (an audit report's header says where it was
// taken: the standby's socket, not the primary's); anything else unchanged.
std::string WithoutDatabase(const std::string& out) {
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(out, ec);
  if (ec || !v.is_object() || !v.as_object().contains("header")) return out;
  v.as_object()["header"].as_object().erase("database");
  return boost::json::serialize(v);
}

// verify's JSON without what depends on the run (timings) or on where it ran (standby).
boost::json::object VerifyFacts(const std::string& path) {
  boost::json::object v = Summary(path);
  boost::json::object facts;
  for (const char* key : {"clean", "rows", "headSeq", "headHash", "breaks", "drift", "behind"}) {
    facts[key] = v.at(key);
  }
  return facts;
}

// One standby for the suite: pg_basebackup copies the whole test cluster (every test's database),
// which is hundreds of MB by the time this suite runs. Each test waits for it to catch up.
Standby* g_standby = nullptr;
struct SuiteStandby {
  SuiteStandby() { g_standby = new Standby(); }
  ~SuiteStandby() {
    delete g_standby;
    g_standby = nullptr;
  }
};

Standby& CaughtUpStandby() {
  BOOST_REQUIRE(g_standby != nullptr);
  g_standby->ResumeReplay();  // In case a failed test left it paused.
  g_standby->WaitCaughtUp();
  return *g_standby;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(standby, *boost::unit_test::fixture<SuiteStandby>())

BOOST_AUTO_TEST_CASE(readers_on_a_caught_up_standby_agree_with_the_primary_and_say_where_they_are) {
  TempDir dir;
  const std::string primary = ProjectedLog(dir);
  Standby& standby = CaughtUpStandby();
  const std::string replica = standby.ConnFor(primary);

  const std::vector<std::vector<std::string>> readers =
      ReadingCommands(FirstWallet(dir / "in.jsonl"));
  for (size_t i = 0; i < readers.size(); ++i) {
    const std::vector<std::string>& args = readers[i];
    const std::string p = absl::StrCat("p", i), s = absl::StrCat("s", i);
    const int primary_exit = Ledger(primary, args, dir, p);
    BOOST_TEST_CONTEXT(args[0] << " " << (args.size() > 1 ? args[1] : "")) {
      BOOST_TEST(Ledger(replica, args, dir, s) == primary_exit);
      BOOST_TEST(WithoutDatabase(ReadFile(dir / (s + ".out"))) ==
                 WithoutDatabase(ReadFile(dir / (p + ".out"))));
      BOOST_TEST(!ReadFile(dir / (s + ".out")).empty());
      BOOST_TEST(ReadFile(dir / (p + ".err")).find("hot standby") == std::string::npos);
      BOOST_TEST(ReadFile(dir / (s + ".err"))
                     .find(absl::StrCat("reading a hot standby: log head seq ", kEvents)) !=
                 std::string::npos);
    }
  }

  BOOST_TEST(Ledger(primary, {"verify"}, dir, "verify-p") == 0);
  BOOST_TEST(Ledger(replica, {"verify"}, dir, "verify-s") == 0);
  BOOST_TEST(VerifyFacts(dir / "verify-s.out") == VerifyFacts(dir / "verify-p.out"));
  BOOST_TEST(Summary(dir / "verify-p.out").at("standby").is_null());
  const boost::json::object where = Summary(dir / "verify-s.out").at("standby").as_object();
  BOOST_TEST(where.at("headSeq").as_int64() == kEvents);
  // (Not 0 lag bytes: the primary writes WAL of its own, checkpoints and vacuum, at any time.)
  BOOST_TEST(!where.at("replayLsn").as_string().empty());
  // The test cluster's role may read primary_conninfo: the primary is named by its socket.
  BOOST_TEST(where.at("primary").as_string().find(testing::Cluster().SocketDir()) !=
             std::string::npos);

  // A digest taken on the standby verifies on the primary.
  BOOST_TEST(Ledger(replica, {"digest"}, dir, "digest") == 0);
  BOOST_TEST(Ledger(primary, {"verify", "--digest", dir / "digest.out"}, dir, "verify-d") == 0);
  BOOST_TEST(Summary(dir / "digest.out").at("seq").as_int64() == kEvents);
}

BOOST_AUTO_TEST_CASE(a_standby_held_back_shows_its_older_head_and_says_it_lags) {
  TempDir dir;
  const std::string primary = ProjectedLog(dir);
  Standby& standby = CaughtUpStandby();
  const std::string replica = standby.ConnFor(primary);
  standby.PauseReplay();
  testing::Generate(dir / "more.jsonl",
                    {"--events", absl::StrCat(kMoreEvents), "--seed", "78", "--id-prefix", "more"});
  BOOST_REQUIRE_EQUAL(testing::Run(testing::AppendSpec(primary, dir / "more.jsonl", dir, "more")),
                      0);
  BOOST_REQUIRE_EQUAL(Ledger(primary, {"project"}, dir, "project-more"), 0);
  const int64_t head = std::stoll(Scalar(primary, "SELECT max(seq) FROM \"BetHistory\""));
  BOOST_REQUIRE_GT(head, kEvents);

  // Held back, the standby shows the head it has: the log it holds is whole (verify exit 0 over
  // the older head), and it says WAL is waiting to be replayed.
  BOOST_TEST(Ledger(replica, {"digest"}, dir, "old") == 0);
  BOOST_TEST(Summary(dir / "old.out").at("seq").as_int64() == kEvents);
  BOOST_TEST(Ledger(replica, {"verify"}, dir, "lagging") == 0);
  const boost::json::object where = Summary(dir / "lagging.out").at("standby").as_object();
  BOOST_TEST(where.at("headSeq").as_int64() == kEvents);
  BOOST_TEST(where.at("replayLagBytes").as_int64() > 0);
  BOOST_TEST(ReadFile(dir / "lagging.err").find("bytes received and not yet replayed") !=
             std::string::npos);
  // That older digest still verifies against the primary, which has gone on.
  const int old_digest =
      Ledger(primary, {"verify", "--digest", dir / "old.out"}, dir, "verify-old");
  BOOST_TEST_INFO(ReadFile(dir / "verify-old.err"));
  BOOST_TEST(old_digest == 0);

  // The primary's newer digest, verified on the held-back standby: not certified (exit 3), and
  // said to be lag or truncation, which a standby cannot tell apart.
  BOOST_TEST(Ledger(primary, {"digest"}, dir, "ahead") == 0);
  BOOST_TEST(Ledger(replica, {"verify", "--digest", dir / "ahead.out"}, dir, "verify-ahead") == 3);
  BOOST_TEST(ReadFile(dir / "verify-ahead.err")
                 .find(absl::StrCat("this hot standby has the log only to ", kEvents,
                                    ": it lags the primary")) != std::string::npos);

  standby.ResumeReplay();
  standby.WaitCaughtUp();
  BOOST_TEST(Ledger(replica, {"verify", "--digest", dir / "ahead.out"}, dir, "verify-now") == 0);
  BOOST_TEST(Ledger(replica, {"digest"}, dir, "new") == 0);
  BOOST_TEST(Summary(dir / "new.out").at("seq").as_int64() == head);
  BOOST_TEST(Ledger(primary, {"digest"}, dir, "primary") == 0);
  BOOST_TEST(Summary(dir / "new.out").at("hash") == Summary(dir / "primary.out").at("hash"));
}

BOOST_AUTO_TEST_CASE(commands_that_write_exit_2_on_a_standby_naming_the_primary) {
  TempDir dir;
  const std::string primary = ProjectedLog(dir);
  testing::Generate(dir / "new.jsonl", {"--events", "20", "--seed", "79", "--id-prefix", "new"});
  Standby& standby = CaughtUpStandby();
  const std::string replica = standby.ConnFor(primary);
  const std::vector<std::vector<std::string>> writers = {
      {"append", dir / "new.jsonl"},
      {"project"},
      {"rebuild"},
      {"migrate"},
      {"fold-snapshot"},
      {"feed", "--consumer", "risk", "--from", "1"},
      {"rules", "run", "--now", "2026-06-01T00:00:00Z"},
      {"markets", "close-expired"},
      {"serve", "--listen", "127.0.0.1:0"},
  };
  for (size_t i = 0; i < writers.size(); ++i) {
    const std::string tag = absl::StrCat("w", i);
    BOOST_TEST_CONTEXT(writers[i][0]) {
      BOOST_TEST(Ledger(replica, writers[i], dir, tag) == 2);
      const std::string err = ReadFile(dir / (tag + ".err"));
      BOOST_TEST(err.find("the database is read-only") != std::string::npos);
      BOOST_TEST(err.find(absl::StrCat("`ledger ", writers[i][0])) != std::string::npos);
      BOOST_TEST((err.find("writes to its database") != std::string::npos ||
                  err.find("keeps its position in the database") != std::string::npos));
      BOOST_TEST(err.find(absl::StrCat("run it against the primary (host=",
                                       testing::Cluster().SocketDir())) != std::string::npos);
      // Refused before anything ran: the consumer printed no event.
      BOOST_TEST(ReadFile(dir / (tag + ".out")).empty());
    }
  }
  // Nothing changed on the primary either.
  BOOST_TEST(Scalar(primary, "SELECT count(*) FROM \"BetHistory\"") == absl::StrCat(kEvents));
  BOOST_TEST(Scalar(primary, "SELECT count(*) FROM feed_position") == "0");
}

BOOST_AUTO_TEST_CASE(a_follower_on_a_standby_polls_and_sees_what_the_primary_appends) {
  TempDir dir;
  const std::string primary = ProjectedLog(dir);
  Standby& standby = CaughtUpStandby();
  const pid_t follower = testing::Spawn(
      LedgerSpec(standby.ConnFor(primary),
                 {"feed", "--from", absl::StrCat(kEvents + 1), "--follow"}, dir, "follow"));
  testing::Generate(dir / "more.jsonl",
                    {"--events", absl::StrCat(kMoreEvents), "--seed", "80", "--id-prefix", "more"});
  BOOST_REQUIRE_EQUAL(testing::Run(testing::AppendSpec(primary, dir / "more.jsonl", dir, "more")),
                      0);
  const int64_t appended = Summary(dir / "more.out").at("accepted").as_int64();
  BOOST_REQUIRE_GT(appended, 0);
  std::vector<std::string> lines;
  constexpr int kWaitMs = 30000, kPollMs = 50;
  for (int waited = 0; waited < kWaitMs; waited += kPollMs) {
    lines = testing::Lines(ReadFile(dir / "follow.out"));
    if (static_cast<int64_t>(lines.size()) >= appended) break;
    usleep(kPollMs * 1000);
  }
  kill(follower, SIGTERM);
  BOOST_TEST(testing::Wait(follower) == 0);
  lines = testing::Lines(ReadFile(dir / "follow.out"));
  BOOST_REQUIRE_EQUAL(static_cast<int64_t>(lines.size()), appended);
  for (size_t i = 0; i < lines.size(); ++i) {
    BOOST_TEST(boost::json::parse(lines[i]).as_object().at("seq").as_int64() ==
               kEvents + 1 + static_cast<int64_t>(i));
  }
}

BOOST_AUTO_TEST_CASE(serve_read_only_on_a_standby_answers_like_the_primary_and_follows_it) {
  TempDir dir;
  const std::string primary = ProjectedLog(dir);
  Standby& standby = CaughtUpStandby();
  testing::ServeProcess writer(primary, dir, {}, "serve-primary");
  testing::ServeProcess reader(standby.ConnFor(primary), dir, {"--read-only"}, "serve-standby");
  BOOST_TEST(reader.ready().at("readOnly").as_bool());
  BOOST_TEST(!writer.ready().at("readOnly").as_bool());
  BOOST_TEST(reader.ready().at("headSeq").as_int64() == kEvents);
  testing::HttpClient p(writer.port()), r(reader.port());
  const std::string wallet = FirstWallet(dir / "in.jsonl");
  const std::vector<std::string> reads = {
      "/v1/head",
      "/v1/events?from=100&limit=50",
      "/v1/events/150",
      "/v1/markets/market-0001",
      "/v1/bets/bet-00000001",
      absl::StrCat("/v1/wallets/", wallet, "/bets"),
  };
  for (const std::string& target : reads) {
    BOOST_TEST_CONTEXT(target) {
      const testing::HttpReply from_primary = p.Get(target), from_standby = r.Get(target);
      BOOST_TEST(from_standby.status == 200);
      BOOST_TEST(from_standby.status == from_primary.status);
      BOOST_TEST(from_standby.body == from_primary.body);
    }
  }

  // Writes are refused with a JSON error, and write nothing.
  std::vector<std::string> more;
  for (int i = 1; i <= 3; ++i) {
    more.push_back(absl::StrCat(
        R"({"action":"MARKET_CREATED","createdAt":"2026-11-01T00:00:0)", i,
        R"(Z","marketId":"standby-)", i,
        R"(","question":"Is the standby following?","startDate":"2026-11-01T00:00:00Z",)",
        R"("endDate":"2027-11-01T00:00:00Z","contractAddress":"0x)", std::string(40, 'a'),
        R"(","gnosisSafeAddress":"0x)", std::string(40, 'b'), R"("})"));
  }
  const testing::HttpReply refused = r.Post("/v1/events", more[0]);
  BOOST_TEST(refused.status == 405);
  BOOST_TEST(refused.headers.at("allow") == "GET, OPTIONS");
  BOOST_TEST(refused.Json().as_object().at("error").as_string() == "READ_ONLY");
  BOOST_TEST(Scalar(primary, "SELECT count(*) FROM \"BetHistory\"") == absl::StrCat(kEvents));
  const std::string metrics = r.Get("/metrics").body;
  BOOST_TEST(metrics.find("ledger_read_only 1") != std::string::npos);
  BOOST_TEST(metrics.find("ledger_standby_replay_lag_bytes ") != std::string::npos);
  BOOST_TEST(metrics.find("ledger_standby_replayed_commit_age_seconds ") != std::string::npos);
  BOOST_TEST(p.Get("/metrics").body.find("ledger_standby_") == std::string::npos);

  // What the primary's service commits, the standby's follows: same head, same hash.
  int64_t posted = 0;
  for (const std::string& event : more) {
    const testing::HttpReply ack = p.Post("/v1/events", event);
    BOOST_TEST_REQUIRE(ack.status == 201, ack.body);
    ++posted;
  }
  const boost::json::value head = p.Get("/v1/head").Json();
  BOOST_TEST(head.as_object().at("seq").as_int64() == kEvents + posted);
  boost::json::value followed;
  constexpr int kWaitMs = 30000, kPollMs = 50;
  for (int waited = 0; waited < kWaitMs && followed != head; waited += kPollMs) {
    usleep(kPollMs * 1000);
    followed = r.Get("/v1/head").Json();
  }
  BOOST_TEST(followed == head);
  BOOST_TEST(r.Get("/v1/events/403").body == p.Get("/v1/events/403").body);
  BOOST_TEST(reader.Terminate() == 0);
  BOOST_TEST(writer.Terminate() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
