// The test harness's PostgreSQL: one throwaway embedded cluster per test run (the same EmbeddedDb
// mechanism `ledger` uses), and a fresh database per test. No mocks: every test talks to a real
// server.
//
//   BOOST_TEST_GLOBAL_FIXTURE(ledger::testing::ClusterFixture);
//   std::string conn = ledger::testing::FreshDatabase();   // migrated, empty
#ifndef LEDGER_TESTS_TEST_CLUSTER_H_
#define LEDGER_TESTS_TEST_CLUSTER_H_

#include <memory>
#include <string>
#include <vector>

#include "engine/pg/database.h"
#include "engine/pg/embedded_db.h"
#include "engine/pg/sql_session.h"

namespace ledger::testing {

// Starts the cluster under a new temporary LEDGER_HOME; stops it and removes it at the end.
// Set LEDGER_TEST_KEEP=1 to keep the directory for a post-mortem.
struct ClusterFixture {
  ClusterFixture();
  ~ClusterFixture();
};

// The running test cluster. REQUIRES: ClusterFixture is active.
pg::EmbeddedDb& Cluster();

// A hot standby of the test cluster: pg_basebackup -R under a home of its own
// (EmbeddedDb::CreateStandbyOf), started, streaming. Stopped (immediately) and removed at the end.
// Every database of the test cluster is on it, under the same name.
class Standby {
 public:
  Standby();
  ~Standby();
  Standby(const Standby&) = delete;
  Standby& operator=(const Standby&) = delete;

  // The connection string of `primary_conn`'s database on the standby.
  std::string ConnFor(const std::string& primary_conn) const;
  // Waits (up to a minute, else fails the test) until the standby has replayed all the test
  // cluster had written when called.
  void WaitCaughtUp() const;
  // Stops and resumes replaying (the standby keeps receiving WAL meanwhile): a standby that lags.
  void PauseReplay() const;
  void ResumeReplay() const;
  pg::EmbeddedDb& db() { return db_; }

 private:
  std::string home_;
  pg::EmbeddedDb db_;
};

// Creates a new, empty database on the test cluster and returns its connection string. With
// `migrate`, the ledger's schema is applied first.
std::string FreshDatabase(bool migrate = true);

// The first value of `sql` on `conn`; fails the test on error.
std::string Scalar(const std::string& conn, const std::string& sql);

// Connections to `conn`; fail the test when they cannot be opened.
std::unique_ptr<pg::Database> OpenStore(const std::string& conn);
std::unique_ptr<pg::SqlSession> OpenSql(const std::string& conn);

// A generated stream (sample/stream_generator.h) as one string of JSON Lines: `events` events with
// a bad line every `bad_every` and a repeated line every `duplicate_every` (0: none).
std::string GeneratedStream(int64_t events, uint64_t seed, int32_t bad_every = 0,
                            int32_t duplicate_every = 0);
// `text` cut into its lines (without their newlines).
std::vector<std::string> Lines(const std::string& text);

// Every row of Market, Bet, FlaggedWallet and PoolSnapshot as text, in a fixed order: equal dumps
// mean identical tables.
std::string DumpProjections(const std::string& conn);

}  // namespace ledger::testing

#endif  // LEDGER_TESTS_TEST_CLUSTER_H_
