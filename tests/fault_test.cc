// The engine's promises on its worst day, with real processes on a real PostgreSQL cluster that the
// tests stop, crash, fill up and make read-only:
//   - `ledger append` killed (SIGKILL) many times in a 200k-event input, then re-run: each event
//   once,
//     chain intact;
//   - PostgreSQL stopped in immediate mode (a crash) and restarted under `append` and under
//     `project --follow`: the outage is reported, retried with backoff, and nothing is lost or
//     doubled;
//   - a commit whose outcome is unknown (the connection dies during COMMIT after the commit record
//   is
//     durable) is resolved through the idempotency identities;
//   - PostgreSQL crashed under `ledger serve` and 8 retrying clients: 503 and not ready while it
//     is down, ready again on its own, each event once;
//   - a read-only database and a full disk: a clear error, exit 2, nothing half-written;
//   - 16 concurrent appenders with followers: an Elle-style check of the history.
// This binary has a cluster of its own, so that restarting it disturbs no other test.
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/pg/sql_session.h"
#include "engine/str_cat.h"
#include "tests/ledger_process.h"
#include "tests/process.h"
#include "tests/serve_process.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

using testing::AppendSpec;
using testing::Cluster;
using testing::DumpProjections;
using testing::FreshDatabase;
using testing::Generate;
using testing::LedgerSpec;
using testing::ProcessSpec;
using testing::ReadFile;
using testing::Scalar;
using testing::Summary;
using testing::TempDir;
using testing::VerifyChain;

// How long a test waits for something that takes seconds at most before it calls it a failure.
constexpr int kWaitMs = 120000;
// How long the database stays down in the restart tests: several backoff steps.
constexpr int kOutageMs = 1500;

// Polls `done` every 20 ms; fails the test with `what` after kWaitMs.
void WaitUntil(const std::function<bool()>& done, const std::string& what) {
  constexpr int kPollMs = 20;
  for (int waited = 0; !done(); waited += kPollMs) {
    BOOST_REQUIRE_MESSAGE(waited < kWaitMs, "timed out waiting for " << what);
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
}

int64_t LogRows(const std::string& conn) {
  return std::stoll(Scalar(conn, R"(SELECT count(*) FROM "BetHistory")"));
}

// Exactly `events` rows, one per identity, the chain intact from the first row.
void ExpectEachEventOnce(const std::string& conn, int64_t events) {
  BOOST_TEST(LogRows(conn) == events);
  BOOST_TEST(std::stoll(Scalar(
                 conn, R"(SELECT count(DISTINCT "identityKey") FROM "BetHistory")")) == events);
  VerifyChain(conn, events);
}

// After clients posted `events` events until each was acknowledged: each event not refused for good
// is in the log once (the chain intact), and every acknowledged (seq, hash) is the row at that seq.
void ExpectEveryAcknowledgedEventOnce(const std::string& conn, size_t events,
                                      const testing::Acknowledgements& acks) {
  ExpectEachEventOnce(conn, static_cast<int64_t>(events) - acks.refused.load());
  BOOST_TEST(acks.hashes.size() == events - static_cast<size_t>(acks.refused.load()));
  for (const auto& [seq, hash] : acks.hashes) {
    BOOST_TEST(Scalar(conn, StrCat("SELECT hash FROM \"BetHistory\" WHERE seq = ", seq)) == hash);
  }
}

// A crash of the whole server (immediate mode: no checkpoint, every connection cut), then recovery.
void CrashAndRestartCluster() {
  BOOST_REQUIRE(Cluster().Stop(pg::EmbeddedDb::StopMode::kImmediate).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(kOutageMs));
  absl::Status started = Cluster().Start();
  BOOST_REQUIRE_MESSAGE(started.ok(), started.ToString());
}

// Appends `dir`/in.jsonl in batches of 250 while PostgreSQL crashes and restarts twice (once early,
// once mid-way); the appender must ride out both and exit 0.
void AppendThroughTwoCrashes(const std::string& conn, const TempDir& dir) {
  const pid_t appender =
      testing::Spawn(AppendSpec(conn, dir / "in.jsonl", dir, "a", {"--batch-size", "250"}));
  WaitUntil([&] { return LogRows(conn) >= 4000; }, "the appender to make progress");
  CrashAndRestartCluster();
  WaitUntil([&] { return LogRows(conn) >= 12000; }, "the appender to make progress again");
  CrashAndRestartCluster();
  BOOST_TEST(testing::Wait(appender) == 0, ReadFile(dir / "a.err"));
}

// The projections the followers wrote equal a rebuild from the log, and `ledger verify` is clean.
void ExpectProjectionsEqualRebuild(const std::string& conn, const TempDir& dir) {
  const std::string followed = DumpProjections(conn);
  BOOST_TEST(testing::Run(LedgerSpec(conn, {"verify"}, dir, "verify")) == 0,
             ReadFile(dir / "verify.err"));
  BOOST_TEST(testing::Run(LedgerSpec(conn, {"rebuild"}, dir, "rebuild")) == 0,
             ReadFile(dir / "rebuild.err"));
  BOOST_TEST((DumpProjections(conn) == followed));
}

void WaitForCheckpoints(const std::string& conn, int64_t head) {
  WaitUntil(
      [&] {
        return Scalar(conn, "SELECT coalesce(min(seq), 0) FROM projection_checkpoint") ==
               std::to_string(head);
      },
      "the follower to reach the log's head");
}

// Runs SQL as the cluster's superuser on `database`, outside any transaction block.
void Admin(const std::string& sql, const std::string& database = "postgres") {
  absl::StatusOr<std::unique_ptr<pg::SqlSession>> session =
      pg::SqlSession::Open(Cluster().ConnectionString(database));
  BOOST_REQUIRE_MESSAGE(session.ok(), session.status().ToString());
  absl::Status s = (*session)->Exec(sql);
  BOOST_REQUIRE_MESSAGE(s.ok(), sql << ": " << s.ToString());
}

// A small filesystem for one tablespace: a tmpfs of `bytes`, owned by the server's user. Unmounted
// (and the tablespace dropped by the test) at scope exit.
class SmallDisk {
 public:
  explicit SmallDisk(int64_t bytes) {
    char dir[] = "/tmp/ledger-small-disk-XXXXXX";
    BOOST_REQUIRE(mkdtemp(dir) != nullptr);
    path_ = dir;
    BOOST_REQUIRE_MESSAGE(geteuid() == 0,
                          "the full-disk test mounts a tmpfs: run the tests as root");
    const std::string options = StrCat("size=", bytes, ",mode=0700");
    BOOST_REQUIRE_MESSAGE(mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) == 0,
                          "mount tmpfs on " << path_ << ": " << std::strerror(errno));
    mounted_ = true;
    struct stat data {};
    BOOST_REQUIRE(stat((Cluster().home() + "/pg/data").c_str(), &data) == 0);
    BOOST_REQUIRE(chown(path_.c_str(), data.st_uid, data.st_gid) == 0);
    BOOST_REQUIRE(chmod(path_.c_str(), 0700) == 0);
  }
  ~SmallDisk() {
    if (mounted_) umount2(path_.c_str(), MNT_DETACH);
    rmdir(path_.c_str());
  }
  void Grow(int64_t bytes) {
    const std::string options = StrCat("size=", bytes);
    BOOST_REQUIRE_MESSAGE(mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT, options.c_str()) == 0,
                          "remount: " << std::strerror(errno));
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

// A synchronous standby of the test cluster (synchronous_standby_names = '*': a commit is
// acknowledged once the standby has it on disk, so what was acknowledged survives its promotion),
// and the failover: the primary crashes, the standby is promoted. At scope exit the old primary
// runs again as this test cluster, asynchronous, for the tests after this one (the promoted
// standby, a separate timeline now, is stopped and removed).
class SynchronousStandby {
 public:
  SynchronousStandby() {
    standby_.WaitCaughtUp();
    Admin("ALTER SYSTEM SET synchronous_standby_names = '*'");
    Admin("SELECT pg_reload_conf()");
    // The premise of the tests: the primary now waits for this standby at each commit.
    WaitUntil(
        [] {
          return Scalar(Cluster().ConnectionString("postgres"),
                        "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") ==
                 "1";
        },
        "the standby to be synchronous");
  }
  ~SynchronousStandby() {
    // No BOOST_REQUIRE here: this may run while a failed check unwinds.
    if (!Cluster().Start().ok()) return;
    absl::StatusOr<std::unique_ptr<pg::SqlSession>> admin =
        pg::SqlSession::Open(Cluster().ConnectionString("postgres"));
    if (!admin.ok()) return;
    (void)(*admin)->Exec("ALTER SYSTEM RESET synchronous_standby_names");
    (void)(*admin)->Exec("SELECT pg_reload_conf()");
  }
  SynchronousStandby(const SynchronousStandby&) = delete;
  SynchronousStandby& operator=(const SynchronousStandby&) = delete;

  // The primary crashes (immediate stop: every connection cut, nothing more acknowledged); the
  // standby is promoted and takes writes.
  void FailOver() {
    BOOST_REQUIRE(Cluster().Stop(pg::EmbeddedDb::StopMode::kImmediate).ok());
    absl::Status promoted = standby_.db().Promote();
    BOOST_REQUIRE_MESSAGE(promoted.ok(), promoted.ToString());
  }
  // `primary_conn`'s database on the standby (the new primary, after FailOver).
  std::string ConnFor(const std::string& primary_conn) const {
    return standby_.ConnFor(primary_conn);
  }

 private:
  testing::Standby standby_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(faults)

BOOST_AUTO_TEST_CASE(appender_killed_many_times_in_a_200k_event_input_writes_each_event_once) {
  // Proves: `ledger append` SIGKILLed a dozen times at random moments while it works through a
  // 200k-event input (each kill a random 0-1 s after the log visibly grew, so the kills land
  // mid-batch, mid-COPY or mid-COMMIT on any machine), then re-run to the end: each event is in the
  // log exactly once, the chain is intact, and the final run reports as accepted exactly what was
  // missing.
  TempDir dir;
  const std::string conn = FreshDatabase();
  constexpr int64_t kEvents = 200000;
  Generate(dir / "in.jsonl", {"--events", std::to_string(kEvents), "--seed", "9", "--bad-every",
                              "1000", "--duplicate-every", "500"});
  std::unique_ptr<pg::SqlSession> sql = testing::OpenSql(conn);
  auto rows = [&sql]() -> int64_t {
    absl::StatusOr<std::string> n = sql->Scalar(R"(SELECT count(*) FROM "BetHistory")");
    BOOST_REQUIRE(n.ok());
    return std::stoll(*n);
  };
  std::mt19937 rng(20261126);  // Fixed seed: the same kill schedule every run.
  testing::KillSchedule schedule;
  schedule.kills = 12;
  schedule.delay_ms_max = 1000;
  const int interrupted = testing::KillRepeatedly(
      [&](int i) {
        return AppendSpec(conn, dir / "in.jsonl", dir, StrCat("k", i), {"--batch-size", "400"});
      },
      rng, kEvents, rows, schedule);
  BOOST_TEST(interrupted >= schedule.kills / 2, "only " << interrupted << " kills landed mid-way");
  const int64_t before = rows();
  BOOST_TEST_MESSAGE("rows committed before the final run: " << before);
  BOOST_TEST(testing::Run(AppendSpec(conn, dir / "in.jsonl", dir, "final")) == 1);  // Bad lines.
  const boost::json::object summary = Summary(dir / "final.out");
  BOOST_TEST(summary.at("accepted").as_int64() == kEvents - before);
  ExpectEachEventOnce(conn, kEvents);
}

BOOST_AUTO_TEST_CASE(database_crash_during_append_is_retried_and_nothing_is_lost_or_doubled) {
  // Proves: PostgreSQL killed (immediate stop, every connection cut mid-transaction) and restarted
  // while `ledger append` works: the appender says so on stderr, retries with backoff, redoes the
  // interrupted batch on a new connection, exits 0, and the log holds each event exactly once.
  TempDir dir;
  const std::string conn = FreshDatabase();
  constexpr int64_t kEvents = 60000;
  Generate(dir / "in.jsonl", {"--events", std::to_string(kEvents), "--seed", "31"});
  const pid_t pid =
      testing::Spawn(AppendSpec(conn, dir / "in.jsonl", dir, "a", {"--batch-size", "500"}));
  WaitUntil([&] { return LogRows(conn) >= 5000; }, "the appender to make progress");
  CrashAndRestartCluster();
  const int code = testing::Wait(pid);
  BOOST_TEST(code == 0, "exit " << code << ": " << ReadFile(dir / "a.err"));
  const std::string err = ReadFile(dir / "a.err");
  BOOST_TEST(err.find("retry 1 of 12 in 100 ms") != std::string::npos, err);
  const boost::json::object summary = Summary(dir / "a.out");
  BOOST_TEST(summary.at("retries").as_int64() >= 1);
  BOOST_TEST(summary.at("accepted").as_int64() + summary.at("recovered").as_int64() == kEvents);
  BOOST_TEST(summary.at("duplicates").as_int64() == 0);
  ExpectEachEventOnce(conn, kEvents);
}

BOOST_AUTO_TEST_CASE(database_crash_during_project_follow_is_retried_and_nothing_applied_twice) {
  // Proves: a following projector survives a PostgreSQL crash and restart (twice), reports it,
  // resumes from its committed checkpoints, and its tables end equal to a rebuild from the log: no
  // event lost or applied twice. The appender feeding it rides out the same crashes.
  TempDir dir;
  const std::string conn = FreshDatabase();
  constexpr int64_t kEvents = 40000;
  Generate(dir / "in.jsonl", {"--events", std::to_string(kEvents), "--seed", "32"});
  const pid_t follower = testing::Spawn(LedgerSpec(conn, {"project", "--follow"}, dir, "follow"));
  AppendThroughTwoCrashes(conn, dir);
  WaitForCheckpoints(conn, kEvents);
  kill(follower, SIGTERM);
  BOOST_TEST(testing::Wait(follower) == 0, ReadFile(dir / "follow.err"));
  const std::string err = ReadFile(dir / "follow.err");
  BOOST_TEST(err.find("retry 1 of 12") != std::string::npos, err);
  BOOST_TEST(err.find("reconnected: the outage lasted ") != std::string::npos, err);
  ExpectEachEventOnce(conn, kEvents);
  ExpectProjectionsEqualRebuild(conn, dir);
}

BOOST_AUTO_TEST_CASE(database_crash_during_feed_follow_loses_and_repeats_nothing) {
  // Proves: `feed --follow` (a durable consumer and a plain one with --retries unlimited) rides out
  // immediate PostgreSQL stops and restarts under a live append, like the appender and the
  // projector: it logs each retry and the reconnection with the outage's duration, and its output
  // holds every position once, in order, with no gap and no line twice
  // (what it had written stays written; rows it had read but not written are read again).
  TempDir dir;
  const std::string conn = FreshDatabase();
  constexpr int64_t kEvents = 40000;
  Generate(dir / "in.jsonl", {"--events", std::to_string(kEvents), "--seed", "35"});
  ProcessSpec durable = LedgerSpec(conn, {"feed", "--follow", "--consumer", "risk"}, dir, "risk");
  ProcessSpec plain =
      LedgerSpec(conn, {"feed", "--follow", "--retries", "unlimited"}, dir, "plain");
  const pid_t risk = testing::Spawn(durable);
  const pid_t all = testing::Spawn(plain);
  AppendThroughTwoCrashes(conn, dir);
  auto lines = [&](const std::string& tag) {
    const std::string out = ReadFile(dir / (tag + ".out"));
    return static_cast<int64_t>(std::count(out.begin(), out.end(), '\n'));
  };
  WaitUntil([&] { return lines("risk") >= kEvents && lines("plain") >= kEvents; },
            "both feeds to deliver every position");
  kill(risk, SIGTERM);
  kill(all, SIGTERM);
  for (const auto& [pid, tag] : {std::pair{risk, "risk"}, std::pair{all, "plain"}}) {
    BOOST_TEST(testing::Wait(pid) == 0, ReadFile(dir / (std::string(tag) + ".err")));
    // Each outage is logged, then its end with how long it lasted (a supervisor's log shows both).
    const std::string err = ReadFile(dir / (std::string(tag) + ".err"));
    BOOST_TEST(err.find(tag == std::string("risk") ? "retry 1 of 12" : "retry 1 unlimited") !=
                   std::string::npos,
               tag << ": " << err);
    BOOST_TEST(err.find("reconnected: the outage lasted ") != std::string::npos,
               tag << ": " << err);
    std::istringstream out(ReadFile(dir / (std::string(tag) + ".out")));
    int64_t expected = 1;
    for (std::string line; std::getline(out, line); ++expected) {
      const int64_t seq = boost::json::parse(line).as_object().at("seq").as_int64();
      BOOST_REQUIRE_MESSAGE(seq == expected,
                            tag << ": position " << seq << " where " << expected << " was due");
    }
    BOOST_TEST(expected == kEvents + 1, tag);
  }
  BOOST_TEST(Scalar(conn, "SELECT seq FROM feed_position WHERE kind = 'feed' AND name = 'risk'") ==
             std::to_string(kEvents));
}

BOOST_AUTO_TEST_CASE(database_crash_under_serve_is_503_then_resumes_losing_and_doubling_nothing) {
  // Proves the service's outage path: PostgreSQL crashes (immediate stop) under 8 clients that
  // retry each event until acknowledged; while it is down the service says not ready and answers
  // posts 503; after the restart it re-derives its state and is ready again on its own; afterwards
  // each event is in the log exactly once, every acknowledged (seq, hash) is the row at that seq,
  // and the chain verifies.
  TempDir dir;
  const std::string conn = FreshDatabase();
  const std::vector<std::string> events = testing::Lines(testing::GeneratedStream(2000, 41));
  testing::ServeProcess serve(conn, dir, {"--no-projections"});
  testing::Acknowledgements acks;
  std::thread clients([&] {
    testing::PostUntilAcknowledged(
        events, 8, [&](size_t) { return serve.port(); }, &acks);
  });
  WaitUntil([&] { return acks.answered.load() >= 300; }, "the clients to make progress");
  BOOST_REQUIRE(Cluster().Stop(pg::EmbeddedDb::StopMode::kImmediate).ok());
  testing::HttpClient probe(serve.port());
  WaitUntil([&] { return probe.Get("/healthz/ready").status == 503; }, "the service to say so");
  BOOST_TEST(probe.Get("/healthz/live").status == 200);  // The process still answers.
  BOOST_TEST(probe.Post("/v1/events", events[0]).status == 503);
  absl::Status started = Cluster().Start();
  BOOST_REQUIRE_MESSAGE(started.ok(), started.ToString());
  WaitUntil([&] { return probe.Get("/healthz/ready").status == 200; }, "the service to recover");
  clients.join();
  BOOST_TEST(acks.unavailable.load() >= 1);
  ExpectEveryAcknowledgedEventOnce(conn, events.size(), acks);
  BOOST_TEST(serve.Terminate() == 0);
  BOOST_TEST(serve.Stderr().find("state re-derived from the log") != std::string::npos);
}

// Proves: when the connection dies during a commit after the commit record is durable (the server
// waits for a synchronous standby that does not exist, and the test terminates that backend, as a
// network cut at that instant would), the appender gets "outcome unknown", does not guess: it
// reconnects, finds the batch's events in the log by their identities, counts them as recovered,
// and goes on. Each event ends in the log exactly once. `prefill` events are appended first (a
// writer that folded rows knows the head's recordedAt, so its small batches go in one trip).
void ExpectUnknownOutcomeResolved(int64_t events, int64_t batch, int64_t prefill) {
  TempDir dir;
  const std::string conn = FreshDatabase();
  if (prefill > 0) {
    Generate(dir / "pre.jsonl",
             {"--events", std::to_string(prefill), "--seed", "32", "--id-prefix", "pre-"});
    BOOST_REQUIRE_EQUAL(testing::Run(AppendSpec(conn, dir / "pre.jsonl", dir, "pre")), 0);
  }
  Generate(dir / "in.jsonl", {"--events", std::to_string(events), "--seed", "33"});
  Admin("ALTER SYSTEM SET synchronous_standby_names = 'ledger_test_phantom_standby'");
  Admin("SELECT pg_reload_conf()");
  const pid_t pid = testing::Spawn(
      AppendSpec(conn, dir / "in.jsonl", dir, "a",
                 {"--batch-size", std::to_string(batch), "--results", dir / "a.results"}));
  std::string backend;
  WaitUntil(
      [&] {
        backend = Scalar(conn,
                         "SELECT coalesce(min(pid)::text, '') FROM pg_stat_activity WHERE "
                         "wait_event = 'SyncRep' AND datname = current_database()");
        return !backend.empty();
      },
      "the first commit to wait for the standby");
  // The waiting statement shows which way the batch went: its own COMMIT, or the one-trip call.
  const std::string query =
      Scalar(conn, StrCat("SELECT query FROM pg_stat_activity WHERE pid = ", backend));
  BOOST_TEST((query.find("ledger_append_rows") != std::string::npos) == (prefill > 0), query);
  Admin(StrCat("SELECT pg_terminate_backend(", backend, ")"));
  Admin("ALTER SYSTEM RESET synchronous_standby_names");
  Admin("SELECT pg_reload_conf()");
  const int code = testing::Wait(pid);
  BOOST_TEST(code == 0, "exit " << code << ": " << ReadFile(dir / "a.err"));
  const std::string err = ReadFile(dir / "a.err");
  BOOST_TEST(err.find("commit outcome unknown") != std::string::npos, err);
  const boost::json::object summary = Summary(dir / "a.out");
  BOOST_TEST(summary.at("recovered").as_int64() == batch);  // The first batch had committed.
  BOOST_TEST(summary.at("accepted").as_int64() == events - batch);
  BOOST_TEST(summary.at("duplicates").as_int64() == 0);
  ExpectEachEventOnce(conn, prefill + events);
  // Each line's result: the recovered batch's events are accepted (this run wrote them) with the
  // position and hash of their committed rows; every position once.
  std::istringstream results(ReadFile(dir / "a.results"));
  std::set<int64_t> seqs;
  int64_t recovered = 0;
  for (std::string line; std::getline(results, line);) {
    const boost::json::object r = boost::json::parse(line).as_object();
    BOOST_TEST(r.at("status").as_string() == "accepted", line);
    const int64_t seq = r.at("seq").as_int64();
    seqs.insert(seq);
    if (r.at("recovered").as_bool()) {
      ++recovered;
      BOOST_TEST(r.at("line").as_int64() <= batch, line);
      BOOST_TEST(r.at("hash").as_string() ==
                     Scalar(conn, StrCat("SELECT hash FROM \"BetHistory\" WHERE seq = ", seq)),
                 line);
    }
  }
  BOOST_TEST(recovered == batch);
  BOOST_TEST(seqs.size() == static_cast<size_t>(events));
  BOOST_TEST(*seqs.rbegin() == prefill + events);
}

BOOST_AUTO_TEST_CASE(unknown_commit_outcome_is_resolved_through_the_identities) {
  ExpectUnknownOutcomeResolved(3000, 1000, 0);  // COPY batches: COMMIT is its own statement.
}

// The same for a batch written in one trip (schema/007), whose commit ends the one statement.
BOOST_AUTO_TEST_CASE(unknown_outcome_of_a_one_trip_batch_is_resolved_through_the_identities) {
  ExpectUnknownOutcomeResolved(300, 20, 50);
}

BOOST_AUTO_TEST_CASE(read_only_database_is_a_clear_error_and_nothing_is_written) {
  // Proves: appending to a database that refuses writes (default_transaction_read_only, as on a hot
  // standby) exits 2 with PostgreSQL's reason, without retrying, and writes nothing; once writable,
  // the same input goes in whole.
  TempDir dir;
  const std::string conn = FreshDatabase();
  const std::string database = Scalar(conn, "SELECT current_database()");
  Generate(dir / "a.jsonl", {"--events", "1000", "--seed", "34", "--id-prefix", "a-"});
  Generate(dir / "b.jsonl", {"--events", "1000", "--seed", "35", "--id-prefix", "b-"});
  BOOST_REQUIRE_EQUAL(testing::Run(AppendSpec(conn, dir / "a.jsonl", dir, "a")), 0);
  Admin(StrCat("ALTER DATABASE ", database, " SET default_transaction_read_only = on"));
  BOOST_TEST(testing::Run(AppendSpec(conn, dir / "b.jsonl", dir, "b")) == 2);
  const std::string err = ReadFile(dir / "b.err");
  BOOST_TEST(err.find("read-only transaction") != std::string::npos, err);
  BOOST_TEST(err.find("retry") == std::string::npos, err);
  BOOST_TEST(LogRows(conn) == 1000);
  Admin(StrCat("ALTER DATABASE ", database, " RESET default_transaction_read_only"));
  BOOST_TEST(testing::Run(AppendSpec(conn, dir / "b.jsonl", dir, "c")) == 0,
             ReadFile(dir / "c.err"));
  ExpectEachEventOnce(conn, 2000);
}

BOOST_AUTO_TEST_CASE(full_disk_is_a_clear_error_and_nothing_is_half_written) {
  // Proves: a database whose disk fills up mid-append (its tablespace on a 24 MB tmpfs) makes
  // `ledger append` exit 2 naming the cause; the log holds only whole batches with an intact chain;
  // once the disk has room, re-running the same input completes it with each event once.
  TempDir dir;
  SmallDisk disk(24LL << 20);
  const std::string database = StrCat("t_full_disk_", getpid());
  Admin(StrCat("CREATE TABLESPACE small_disk LOCATION '", disk.path(), "'"));
  Admin(StrCat("CREATE DATABASE ", database, " TABLESPACE small_disk"));
  // Sorts spill to the main disk: reading the log back must not need the full one.
  Admin(StrCat("ALTER DATABASE ", database, " SET temp_tablespaces = 'pg_default'"));
  const std::string conn = Cluster().ConnectionString(database);
  {
    std::unique_ptr<pg::Database> store = testing::OpenStore(conn);
    pg::MigrateReport report;
    BOOST_REQUIRE(store->Migrate(&report).ok());
  }
  constexpr int64_t kEvents = 60000;
  constexpr int64_t kBatch = 1000;
  Generate(dir / "in.jsonl", {"--events", std::to_string(kEvents), "--seed", "36"});
  BOOST_TEST(testing::Run(AppendSpec(conn, dir / "in.jsonl", dir, "a",
                                     {"--batch-size", std::to_string(kBatch)})) == 2);
  const std::string err = ReadFile(dir / "a.err");
  BOOST_TEST(err.find("No space left on device") != std::string::npos, err);
  // A little room before this test reads the log back: a new connection may have to write the
  // database's relcache init file there, and on a full disk it is refused ("could not write init
  // file") whenever autovacuum has invalidated that file meanwhile. Nothing appends now.
  disk.Grow(26LL << 20);
  const int64_t written = LogRows(conn);
  BOOST_TEST_MESSAGE("rows in the log when the disk filled: " << written);
  BOOST_TEST(written > 0);
  BOOST_TEST(written < kEvents);
  BOOST_TEST(written % kBatch == 0);  // Whole batches only.
  VerifyChain(conn, written);
  disk.Grow(512LL << 20);
  BOOST_TEST(testing::Run(AppendSpec(conn, dir / "in.jsonl", dir, "b")) == 0,
             ReadFile(dir / "b.err"));
  BOOST_TEST(Summary(dir / "b.out").at("accepted").as_int64() == kEvents - written);
  ExpectEachEventOnce(conn, kEvents);
  Admin(StrCat("DROP DATABASE ", database));
  Admin("DROP TABLESPACE small_disk");
}

BOOST_AUTO_TEST_CASE(sixteen_appenders_with_followers_pass_an_elle_style_history_check) {
  // Proves, on the history 16 concurrent appenders leave (12 streams, four of them given to two
  // processes at once) while a projector, a durable feed consumer and a polling reader follow:
  //   - positions are gap-free in commit order: no reader ever sees a position before all below it,
  //     the feed delivers 1..N in order, recordedAt never goes back along seq;
  //   - each event once; per stream, versions are 1, 2, 3... in position order;
  //   - no bet has two events of the same action;
  //   - no pool is ever negative: an oracle in SQL, independent of the engine, sums each pool's
  //     changes in position order, and its final sums equal the Market table;
  //   - the followed projections equal a rebuild from the log, and verify is clean.
  TempDir dir;
  const std::string conn = FreshDatabase();
  constexpr int kStreams = 12;
  constexpr int kAppenders = 16;
  constexpr int64_t kEventsPerStream = 3000;
  constexpr int64_t kEvents = kStreams * kEventsPerStream;
  for (int i = 0; i < kStreams; ++i) {
    Generate(dir / StrCat("s", i, ".jsonl"),
             {"--events", std::to_string(kEventsPerStream), "--seed", std::to_string(100 + i),
              "--markets", "3", "--id-prefix", StrCat("s", i, "-")});
  }
  testing::GapFreeReader reader(conn, kEvents);
  const pid_t projector = testing::Spawn(LedgerSpec(conn, {"project", "--follow"}, dir, "project"));
  const pid_t consumer =
      testing::Spawn(LedgerSpec(conn, {"feed", "--follow", "--consumer", "elle"}, dir, "feed"));
  std::vector<pid_t> appenders;
  for (int i = 0; i < kAppenders; ++i) {
    appenders.push_back(testing::Spawn(AppendSpec(conn, dir / StrCat("s", i % kStreams, ".jsonl"),
                                                  dir, StrCat("a", i), {"--batch-size", "100"})));
  }
  int64_t accepted = 0;
  for (int i = 0; i < kAppenders; ++i) {
    BOOST_TEST(testing::Wait(appenders[static_cast<size_t>(i)]) == 0,
               ReadFile(dir / StrCat("a", i, ".err")));
    accepted += Summary(dir / StrCat("a", i, ".out")).at("accepted").as_int64();
  }
  reader.Finish();
  BOOST_TEST(reader.error().empty(), reader.error());
  BOOST_TEST(reader.polls() > 2);
  WaitForCheckpoints(conn, kEvents);
  WaitUntil(
      [&] {
        return Scalar(conn, "SELECT coalesce(max(seq), 0) FROM feed_position") ==
               std::to_string(kEvents);
      },
      "the feed consumer to reach the log's head");
  kill(projector, SIGTERM);
  kill(consumer, SIGTERM);
  BOOST_TEST(testing::Wait(projector) == 0, ReadFile(dir / "project.err"));
  BOOST_TEST(testing::Wait(consumer) == 0, ReadFile(dir / "feed.err"));

  BOOST_TEST(accepted == kEvents);
  ExpectEachEventOnce(conn, kEvents);
  // The streams were really interleaved (otherwise this proves little).
  BOOST_TEST(std::stoll(Scalar(conn, R"(SELECT count(*) FROM "BetHistory" a JOIN "BetHistory" b
                                        ON b.seq = a.seq + 1
                                        WHERE split_part(a."streamId", '-', 1) <>
                                              split_part(b."streamId", '-', 1))")) > kStreams);
  // The feed delivered 1..N in order, each once.
  std::istringstream feed(ReadFile(dir / "feed.out"));
  std::string line;
  int64_t expected = 1;
  bool in_order = true;
  while (std::getline(feed, line)) {
    in_order = in_order && boost::json::parse(line).at("seq").as_int64() == expected;
    ++expected;
  }
  BOOST_TEST(in_order);
  BOOST_TEST(expected - 1 == kEvents);
  BOOST_TEST(Scalar(conn, R"(SELECT count(*) FROM "BetHistory" a JOIN "BetHistory" b
                             ON b.seq = a.seq + 1 WHERE b."recordedAt" < a."recordedAt")") == "0");
  BOOST_TEST(Scalar(conn, R"(SELECT count(*) FROM (
                               SELECT "streamVersion",
                                      row_number() OVER (PARTITION BY "streamId" ORDER BY seq) AS n
                               FROM "BetHistory") t WHERE "streamVersion" <> n)") == "0");
  BOOST_TEST(Scalar(conn, R"(SELECT count(*) FROM (
                               SELECT "betId", action FROM "BetHistory" WHERE "betId" IS NOT NULL
                               GROUP BY 1, 2 HAVING count(*) > 1) t)") == "0");
  // The pool oracle: each bet's confirmed stake in, its clawbacks out, in position order.
  const std::string pool_changes = R"(
      WITH placed AS (SELECT "betId", "marketId", choice, amount FROM "BetHistory"
                      WHERE action = 'PLACED'),
      changes AS (SELECT h.seq, p."marketId", p.choice,
                         CASE h.action WHEN 'CONFIRMED' THEN p.amount
                                       ELSE -h."clawbackAmount" END AS change
                  FROM "BetHistory" h JOIN placed p USING ("betId")
                  WHERE h.action IN ('CONFIRMED', 'CLAWED_BACK')),
      running AS (SELECT "marketId", choice, seq,
                         sum(change) OVER (PARTITION BY "marketId", choice ORDER BY seq) AS pool
                  FROM changes))";
  BOOST_TEST(Scalar(conn, pool_changes + " SELECT count(*) FROM running WHERE pool < 0") == "0");
  BOOST_TEST(std::stoll(Scalar(
                 conn, pool_changes + " SELECT count(*) FROM running WHERE choice = 'NO'")) > 0);
  BOOST_TEST(Scalar(conn, pool_changes + R"(,
      final AS (SELECT "marketId",
                       sum(change) FILTER (WHERE choice = 'YES') AS yes,
                       sum(change) FILTER (WHERE choice = 'NO') AS no FROM changes GROUP BY 1)
      SELECT count(*) FROM "Market" m LEFT JOIN final f USING ("marketId")
      WHERE m."yesPool" <> coalesce(f.yes, 0) OR m."noPool" <> coalesce(f.no, 0))") == "0");
  ExpectProjectionsEqualRebuild(conn, dir);
}

BOOST_AUTO_TEST_CASE(failover_mid_append_continues_the_chain_with_each_event_once) {
  // Proves the failover runbook for the appender (docs/deployment.md): the primary crashes in the
  // middle of an append; the synchronous standby is promoted; the same input is appended again to
  // the new primary. The events the old primary committed are found by their identities
  // (duplicates, including the batch whose commit outcome the appender never learned), the rest
  // are appended after them: each event once, no gap, no fork, and the last digest taken on the
  // old primary verifies against the new one.
  TempDir dir;
  // Enough that the appender is still busy when the primary goes (it must be a mid-way switch).
  constexpr int64_t kEvents = 30000;
  const std::string conn = FreshDatabase();
  Generate(dir / "in.jsonl", {"--events", std::to_string(kEvents), "--seed", "51"});
  SynchronousStandby standby;
  const pid_t appender =
      testing::Spawn(AppendSpec(conn, dir / "in.jsonl", dir, "a", {"--batch-size", "100"}));
  WaitUntil([&] { return LogRows(conn) >= 1500; }, "the appender to make progress");
  BOOST_REQUIRE_EQUAL(testing::Run(LedgerSpec(conn, {"digest"}, dir, "digest")), 0);
  const int64_t digest_seq = Summary(dir / "digest.out").at("seq").as_int64();
  standby.FailOver();
  kill(appender, SIGKILL);  // Its host goes with the primary: whatever it had in flight is unknown.
  testing::Wait(appender);

  const std::string promoted = standby.ConnFor(conn);
  BOOST_REQUIRE_EQUAL(testing::Run(AppendSpec(promoted, dir / "in.jsonl", dir, "b")), 0);
  const boost::json::object summary = Summary(dir / "b.out");
  BOOST_TEST(summary.at("rejected").as_int64() == 0);
  BOOST_TEST(summary.at("accepted").as_int64() + summary.at("duplicates").as_int64() == kEvents);
  BOOST_TEST(summary.at("duplicates").as_int64() >= digest_seq);  // What was acknowledged stayed.
  BOOST_TEST(summary.at("accepted").as_int64() > 0);              // The switch was mid-way.
  ExpectEachEventOnce(promoted, kEvents);
  BOOST_TEST(testing::Run(LedgerSpec(promoted, {"verify", "--digest", dir / "digest.out"}, dir,
                                     "verify")) == 3,  // Projections never ran: BEHIND, not drift.
             ReadFile(dir / "verify.err"));
  const boost::json::object verify = Summary(dir / "verify.out");
  BOOST_TEST(verify.at("breaks").as_array().empty());
  BOOST_TEST(verify.at("digest").as_string() == "ok");
  BOOST_TEST(verify.at("drift").as_array().empty());
}

BOOST_AUTO_TEST_CASE(failover_under_serve_keeps_every_acknowledged_event_and_doubles_none) {
  // Proves the failover runbook for the service: 8 clients post events until each is
  // acknowledged; the primary crashes; the standby is promoted and a new `ledger serve` started
  // on it; the clients are repointed and resend what was not acknowledged. Every acknowledged
  // (seq, hash) is the row at that seq on the new primary (acknowledged means on the standby's
  // disk too), each event is in the log once, and the chain verifies.
  TempDir dir;
  const std::string conn = FreshDatabase();
  const std::vector<std::string> events = testing::Lines(testing::GeneratedStream(2000, 52));
  SynchronousStandby standby;
  auto serve = std::make_unique<testing::ServeProcess>(
      conn, dir, std::vector<std::string>{"--no-projections"});
  std::atomic<int> port{serve->port()};
  testing::Acknowledgements acks;
  std::thread clients([&] {
    testing::PostUntilAcknowledged(
        events, 8, [&](size_t) { return port.load(); }, &acks);
  });
  WaitUntil([&] { return acks.answered.load() >= 300; }, "the clients to make progress");
  standby.FailOver();
  serve->Kill();
  const std::string promoted = standby.ConnFor(conn);
  serve = std::make_unique<testing::ServeProcess>(
      promoted, dir, std::vector<std::string>{"--no-projections"}, "serve-promoted");
  port = serve->port();
  clients.join();
  ExpectEveryAcknowledgedEventOnce(promoted, events.size(), acks);
  BOOST_TEST(serve->Terminate() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
