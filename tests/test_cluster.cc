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
