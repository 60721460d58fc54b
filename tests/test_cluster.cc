#include "tests/test_cluster.h"

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>

#include "engine/pg/database.h"
#include "engine/pg/sql_session.h"
#include "engine/str_cat.h"
#include "sample/stream_generator.h"

namespace ledger::testing {
namespace {

std::unique_ptr<pg::EmbeddedDb> g_cluster;
int g_databases = 0;

}  // namespace

ClusterFixture::ClusterFixture() {
  char dir[] = "/tmp/ledger-test-XXXXXX";
  BOOST_REQUIRE_MESSAGE(mkdtemp(dir) != nullptr, "mkdtemp failed");
  g_cluster = std::make_unique<pg::EmbeddedDb>(dir);
  absl::Status started = g_cluster->Start();
  BOOST_REQUIRE_MESSAGE(started.ok(), "test cluster did not start: " << started.ToString());
}

ClusterFixture::~ClusterFixture() {
  if (!g_cluster) return;
  absl::Status stopped = g_cluster->Stop();
  if (!stopped.ok()) BOOST_TEST_MESSAGE("stopping the test cluster: " << stopped.ToString());
  const char* keep = std::getenv("LEDGER_TEST_KEEP");
  if (keep == nullptr || std::string(keep) != "1") {
    std::error_code ec;
    std::filesystem::remove_all(g_cluster->home(), ec);
  }
  g_cluster.reset();
}

pg::EmbeddedDb& Cluster() {
  BOOST_REQUIRE(g_cluster != nullptr);
  return *g_cluster;
}

namespace {

std::string NewStandbyHome() {
  char dir[] = "/tmp/ledger-standby-XXXXXX";
  BOOST_REQUIRE_MESSAGE(mkdtemp(dir) != nullptr, "mkdtemp failed");
  return dir;
}

}  // namespace

Standby::Standby() : home_(NewStandbyHome()), db_(home_) {
  absl::Status made = db_.CreateStandbyOf(Cluster());
  BOOST_REQUIRE_MESSAGE(made.ok(), "standby not made: " << made.ToString());
  absl::Status started = db_.Start();
  BOOST_REQUIRE_MESSAGE(started.ok(), "standby did not start: " << started.ToString());
}

Standby::~Standby() {
  absl::Status stopped = db_.Stop(pg::EmbeddedDb::StopMode::kImmediate);
  if (!stopped.ok()) BOOST_TEST_MESSAGE("stopping the standby: " << stopped.ToString());
  const char* keep = std::getenv("LEDGER_TEST_KEEP");
  if (keep == nullptr || std::string(keep) != "1") {
    std::error_code ec;
    std::filesystem::remove_all(home_, ec);
  }
}

std::string Standby::ConnFor(const std::string& primary_conn) const {
  const std::string from = Cluster().SocketDir();
  const size_t at = primary_conn.find(from);
  BOOST_REQUIRE_MESSAGE(at != std::string::npos, "not a test cluster connection: " << primary_conn);
  std::string conn = primary_conn;
  conn.replace(at, from.size(), db_.SocketDir());
  return conn;
}

void Standby::WaitCaughtUp() const {
  const std::string lsn =
      Scalar(Cluster().ConnectionString("postgres"), "SELECT pg_current_wal_lsn()::text");
  absl::StatusOr<std::unique_ptr<pg::SqlSession>> standby =
      pg::SqlSession::Open(db_.ConnectionString("postgres"));
  BOOST_REQUIRE_MESSAGE(standby.ok(), standby.status().ToString());
  constexpr int kPollMs = 20;
  constexpr int kWaitMs = 60000;
  for (int waited = 0; waited < kWaitMs; waited += kPollMs) {
    absl::StatusOr<std::string> done =
        (*standby)->Scalar("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", {lsn});
    BOOST_REQUIRE_MESSAGE(done.ok(), done.status().ToString());
    if (*done == "t") return;
    usleep(kPollMs * 1000);
  }
  BOOST_FAIL("the standby did not replay up to " << lsn << " within a minute");
}

void Standby::PauseReplay() const {
  Scalar(db_.ConnectionString("postgres"),
         "SELECT 1 FROM (SELECT pg_wal_replay_pause()) AS paused");
}

void Standby::ResumeReplay() const {
  Scalar(db_.ConnectionString("postgres"),
         "SELECT 1 FROM (SELECT pg_wal_replay_resume()) AS resumed");
}

std::string FreshDatabase(bool migrate) {
  const std::string name = StrCat("t_", getpid(), "_", ++g_databases);
  absl::StatusOr<std::unique_ptr<pg::SqlSession>> admin =
      pg::SqlSession::Open(Cluster().ConnectionString("postgres"));
  BOOST_REQUIRE_MESSAGE(admin.ok(), admin.status().ToString());
  // CREATE DATABASE takes no parameters; the name is generated above, not input.
  absl::Status created = (*admin)->Exec(StrCat("CREATE DATABASE ", name));
  BOOST_REQUIRE_MESSAGE(created.ok(), created.ToString());
  const std::string conn = Cluster().ConnectionString(name);
  if (migrate) {
    absl::StatusOr<std::unique_ptr<pg::Database>> store = pg::Database::Open(conn);
    BOOST_REQUIRE_MESSAGE(store.ok(), store.status().ToString());
    pg::MigrateReport report;
    absl::Status migrated = (*store)->Migrate(&report);
    BOOST_REQUIRE_MESSAGE(migrated.ok(), migrated.ToString());
  }
  return conn;
}

std::string Scalar(const std::string& conn, const std::string& sql) {
  absl::StatusOr<std::unique_ptr<pg::SqlSession>> session = pg::SqlSession::Open(conn);
  BOOST_REQUIRE_MESSAGE(session.ok(), session.status().ToString());
  absl::StatusOr<std::string> value = (*session)->Scalar(sql);
  BOOST_REQUIRE_MESSAGE(value.ok(), sql << ": " << value.status().ToString());
  return *value;
}

std::unique_ptr<pg::Database> OpenStore(const std::string& conn) {
  absl::StatusOr<std::unique_ptr<pg::Database>> store = pg::Database::Open(conn);
  BOOST_REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  return *std::move(store);
}

std::unique_ptr<pg::SqlSession> OpenSql(const std::string& conn) {
  absl::StatusOr<std::unique_ptr<pg::SqlSession>> session = pg::SqlSession::Open(conn);
  BOOST_REQUIRE_MESSAGE(session.ok(), session.status().ToString());
  return *std::move(session);
}

std::string GeneratedStream(int64_t events, uint64_t seed, int32_t bad_every,
                            int32_t duplicate_every) {
  StreamOptions options;
  options.events = events;
  options.seed = seed;
  options.bad_line_every = bad_every;
  options.duplicate_every = duplicate_every;
  std::ostringstream out;
  GenerateStream(options, out);
  return out.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string DumpProjections(const std::string& conn) {
  std::string out;
  for (const char* table : {"Market", "Bet", "FlaggedWallet", "PoolSnapshot"}) {
    out +=
        StrCat("== ", table, "\n",
               Scalar(conn, StrCat("SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t.id), '') "
                                   "FROM \"",
                                   table, "\" t")),
               "\n");
  }
  return out;
}

}  // namespace ledger::testing
