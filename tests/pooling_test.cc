// Specification of the engine behind PgBouncer in transaction-pooling mode (the seed's production
// setup), on a real PgBouncer and PostgreSQL: append, catch-up projection, rebuild, a durable feed
// and verify all work when consecutive transactions of one client land on different server
// connections, i.e. nothing relies on session state (locks are transaction-scoped advisory locks,
// staging tables are ON COMMIT DROP, positions live in tables).
#include <boost/test/unit_test.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/appender.h"
#include "engine/pg/database.h"
#include "feed/feed.h"
#include "projections/runner.h"
#include "replay/verify.h"
#include "tests/pgbouncer.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

using testing::Scalar;

std::string DatabaseName(const std::string& conn) {
  const size_t at = conn.find("dbname=") + 7;
  return conn.substr(at, conn.find(' ', at) - at);
}

std::unique_ptr<pg::Database> Open(const std::string& conn) {
  absl::StatusOr<std::unique_ptr<pg::Database>> store = pg::Database::Open(conn);
  BOOST_REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  return *std::move(store);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pooling)

BOOST_AUTO_TEST_CASE(append_project_feed_and_verify_through_transaction_pooling) {
  // Proves: through PgBouncer (transaction pooling, 4 server connections), four concurrent
  // appenders write a gap-free chain with every event once; a catch-up and a rebuild give the
  // projections the direct connection would; a durable feed delivers every position once and
  // resumes; verify is clean.
  const std::string direct = testing::FreshDatabase();
  testing::PgBouncer bouncer;
  const std::string pooled = bouncer.ConnectionString(DatabaseName(direct));

  std::vector<std::thread> writers;
  std::vector<AppendSummary> summaries(4);
  for (int i = 0; i < 4; ++i) {
    writers.emplace_back([&, i] {
      auto store = Open(pooled);
      AppendOptions options;
      options.batch_events = 200;
      Appender appender(store.get(), options);
      std::istringstream in(testing::GeneratedStream(3000, static_cast<uint64_t>(i + 1)));
      // Each writer's stream shares market and bet ids with the others only by accident of seeds;
      // rejections are counted, not failures.
      absl::Status s = appender.Run(in, &summaries[static_cast<size_t>(i)]);
      BOOST_TEST(s.ok(), s.ToString());
    });
  }
  for (std::thread& t : writers) t.join();
  int64_t accepted = 0;
  for (const AppendSummary& s : summaries) accepted += s.accepted;
  BOOST_TEST(accepted > 3000);
  BOOST_TEST(Scalar(direct, R"(SELECT count(*) FROM "BetHistory")") == std::to_string(accepted));
  BOOST_TEST(Scalar(direct, R"(SELECT max(seq) FROM "BetHistory")") == std::to_string(accepted));

  auto store = Open(pooled);
  CatchUpRunner runner(store.get(), ProjectorOptions{});
  absl::StatusOr<int64_t> applied = runner.RunOnce();
  BOOST_REQUIRE_MESSAGE(applied.ok(), applied.status().ToString());
  BOOST_TEST(*applied == accepted);
  const std::string caught_up = testing::DumpProjections(direct);
  absl::Status rebuilt = Rebuild(store.get(), ProjectorOptions{}, {});
  BOOST_REQUIRE_MESSAGE(rebuilt.ok(), rebuilt.ToString());
  BOOST_TEST(testing::DumpProjections(direct) == caught_up);

  FeedOptions feed;
  feed.consumer = "pooled";
  feed.from_seq = 1;
  std::string out;
  auto sink = [&out](std::string_view lines) {
    out.append(lines);
    return absl::OkStatus();
  };
  BOOST_REQUIRE(RunFeed(store.get(), feed, sink).ok());
  BOOST_TEST(std::count(out.begin(), out.end(), '\n') == accepted);
  BOOST_TEST(Scalar(direct, "SELECT seq FROM feed_position WHERE name = 'pooled'") ==
             std::to_string(accepted));
  feed.from_seq.reset();  // Resume: nothing new.
  out.clear();
  BOOST_REQUIRE(RunFeed(store.get(), feed, sink).ok());
  BOOST_TEST(out.empty());

  absl::StatusOr<VerifyReport> report = Verify(store.get(), std::nullopt);
  BOOST_REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  BOOST_TEST(report->clean());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
