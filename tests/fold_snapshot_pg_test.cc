// Fold snapshots on a real PostgreSQL: an appender that starts from a snapshot answers every line
// and writes every row as one that folded the whole log; a snapshot that is damaged or no longer
// matches the log is not used (the appender says why and folds in full); the newest two are kept.
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/appender.h"
#include "engine/fold_snapshot.h"
#include "engine/hash_chain.h"
#include "engine/pg/database.h"
#include "engine/str_cat.h"
#include "projections/runner.h"
#include "tests/ledger_process.h"
#include "tests/process.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

using testing::FreshDatabase;
using testing::GeneratedStream;
using testing::OpenStore;
using testing::Scalar;

struct Run {
  std::vector<std::string> results;  // "line status seq code", hashes aside (see below).
  std::vector<std::string> skipped;  // Why a snapshot was not used.
  int64_t snapshot_seq = 0;
  AppendSummary summary;
};

// Appends `input`; a result line leaves out the hash, which covers recordedAt and so differs
// between two databases that append the same stream.
Run Append(const std::string& conn, const std::string& input, bool use_snapshot,
           bool save_snapshot = false, const std::string& cache_dir = "") {
  std::unique_ptr<pg::Database> db = OpenStore(conn);
  db->snapshots().set_cache_dir(cache_dir);
  Run run;
  AppendOptions options;
  options.use_snapshot = use_snapshot;
  options.batch_events = 300;
  options.on_result = [&run](const LineResult& r) {
    run.results.push_back(StrCat(r.line, " ", LineStatusName(r.status), " ", r.seq.value_or(0), " ",
                                 r.rejection ? ErrorCodeName(r.rejection->code) : "-"));
  };
  options.on_snapshot_skipped = [&run](std::string_view why) { run.skipped.emplace_back(why); };
  Appender appender(db.get(), options);
  std::istringstream in(input);
  BOOST_REQUIRE(appender.Run(in, &run.summary).ok());
  run.snapshot_seq = appender.snapshot_seq();
  if (save_snapshot) BOOST_REQUIRE(appender.SaveSnapshot().ok());
  return run;
}

// Every row's position, identity, stream position and payload: what two logs of the same input
// share (hashes and recordedAt aside).
std::string LogContent(const std::string& conn) {
  return Scalar(conn,
                "SELECT md5(string_agg(concat_ws('|', seq, \"identityKey\", \"streamId\", "
                "\"streamVersion\", \"betId\", \"marketId\", wallet, action, \"clawbackAmount\"), "
                "',' ORDER BY seq)) FROM \"BetHistory\"");
}

// The first half of a generated stream, and the second half with every 7th line of the first
// re-sent inside it (duplicates of rows from before the snapshot).
std::pair<std::string, std::string> Halves(int64_t events) {
  const std::vector<std::string> lines =
      testing::Lines(GeneratedStream(events, 11, /*bad_every=*/53, /*duplicate_every=*/29));
  std::string first;
  std::string second;
  for (size_t i = 0; i < lines.size(); ++i) {
    (i < lines.size() / 2 ? first : second) += lines[i] + "\n";
    if (i >= lines.size() / 2 && i % 5 == 0) second += lines[i - lines.size() / 2] + "\n";
  }
  return {first, second};
}

// The bytes of the file at `path`.
std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The local copy of the newest snapshot in `dir`, named by the checksum the database holds.
std::string CachedPath(const std::string& conn, const testing::TempDir& dir) {
  return dir /
         (Scalar(conn, "SELECT checksum FROM fold_snapshot ORDER BY seq DESC LIMIT 1") + ".fold");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fold_snapshot_pg)

// A saved snapshot is cached locally under its checksum, and a start on the same machine decodes
// the cached copy: with the database's copy of the bytes gone, the append still starts from the
// snapshot and answers every line as a full fold does.
BOOST_AUTO_TEST_CASE(a_start_reads_the_local_copy_of_the_snapshot_it_saved) {
  const auto [first, second] = Halves(2000);
  const std::string cached = FreshDatabase();
  const std::string full = FreshDatabase();
  testing::TempDir dir;
  Append(cached, first, /*use_snapshot=*/false, /*save_snapshot=*/true, dir.path());
  Append(full, first, /*use_snapshot=*/false);
  const std::string path = CachedPath(cached, dir);
  BOOST_REQUIRE(std::filesystem::exists(path));
  BOOST_TEST(ToHex(Sha256Of(FileBytes(path))) ==
             Scalar(cached, "SELECT checksum FROM fold_snapshot ORDER BY seq DESC LIMIT 1"));
  BOOST_TEST(((std::filesystem::status(path).permissions() & std::filesystem::perms::others_read) ==
              std::filesystem::perms::none));

  BOOST_TEST(std::stoll(Scalar(cached,
                               "WITH d AS (DELETE FROM fold_snapshot_part RETURNING 1) "
                               "SELECT count(*) FROM d")) > 0);
  const Run from_cache =
      Append(cached, second, /*use_snapshot=*/true, /*save_snapshot=*/false, dir.path());
  const Run folded = Append(full, second, /*use_snapshot=*/false);
  BOOST_TEST(from_cache.skipped.empty());
  BOOST_TEST(from_cache.snapshot_seq ==
             std::stoll(Scalar(cached, "SELECT max(seq) FROM fold_snapshot")));
  BOOST_TEST(from_cache.results == folded.results, boost::test_tools::per_element());
  BOOST_TEST(LogContent(cached) == LogContent(full));
}

// A local copy is a claim, checked: one whose bytes are not those the database stored (a byte
// changed, cut short, or absent) is not decoded as the fold; the database's bytes are, and they
// replace it, so the next start reads a good copy.
BOOST_AUTO_TEST_CASE(a_local_copy_that_is_not_the_stored_bytes_is_replaced_from_the_database) {
  const auto [first, second] = Halves(2000);
  const std::string conn = FreshDatabase();
  testing::TempDir dir;
  Append(conn, first, /*use_snapshot=*/false, /*save_snapshot=*/true, dir.path());
  const std::string path = CachedPath(conn, dir);
  const std::string good = FileBytes(path);
  BOOST_REQUIRE(good.size() > 200u);
  const int64_t snapshot_seq = std::stoll(Scalar(conn, "SELECT max(seq) FROM fold_snapshot"));

  std::string flipped = good;
  flipped[good.size() / 2] = static_cast<char>(flipped[good.size() / 2] ^ 0x10);
  for (const std::string& damage : {flipped, good.substr(0, good.size() - 1), std::string()}) {
    std::filesystem::remove(path);
    if (!damage.empty()) std::ofstream(path, std::ios::binary) << damage;
    const Run run = Append(conn, "", /*use_snapshot=*/true, /*save_snapshot=*/false, dir.path());
    BOOST_TEST(run.skipped.empty());
    BOOST_TEST(run.snapshot_seq == snapshot_seq);
    BOOST_TEST(FileBytes(path) == good);
  }
  // And what is appended after a damaged copy was found is what a full fold appends.
  const std::string full = FreshDatabase();
  Append(full, first, /*use_snapshot=*/false);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << flipped;
  const Run after =
      Append(conn, second, /*use_snapshot=*/true, /*save_snapshot=*/false, dir.path());
  const Run folded = Append(full, second, /*use_snapshot=*/false);
  BOOST_TEST(after.snapshot_seq == snapshot_seq);
  BOOST_TEST(after.results == folded.results, boost::test_tools::per_element());
  BOOST_TEST(LogContent(conn) == LogContent(full));
}

BOOST_AUTO_TEST_CASE(an_append_from_a_snapshot_answers_and_writes_as_a_full_fold_does) {
  const auto [first, second] = Halves(6000);
  const std::string with = FreshDatabase();
  const std::string without = FreshDatabase();
  Append(with, first, /*use_snapshot=*/false, /*save_snapshot=*/true);
  Append(without, first, /*use_snapshot=*/false);
  const int64_t snapshot_seq = std::stoll(Scalar(with, "SELECT max(seq) FROM fold_snapshot"));
  BOOST_TEST(snapshot_seq == std::stoll(Scalar(with, "SELECT max(seq) FROM \"BetHistory\"")));

  const Run from_snapshot = Append(with, second, /*use_snapshot=*/true);
  const Run full = Append(without, second, /*use_snapshot=*/false);
  BOOST_TEST(from_snapshot.snapshot_seq == snapshot_seq);
  BOOST_TEST(from_snapshot.skipped.empty());
  BOOST_TEST(full.snapshot_seq == 0);
  BOOST_TEST(from_snapshot.results == full.results, boost::test_tools::per_element());
  // The re-sent lines from before the snapshot were found in the log, not taken for new events.
  int old_duplicates = 0;
  for (const std::string& r : from_snapshot.results) {
    std::istringstream fields(r);
    std::string line, status;
    int64_t seq = 0;
    fields >> line >> status >> seq;
    if (status == "duplicate" && seq <= snapshot_seq) ++old_duplicates;
  }
  BOOST_TEST(old_duplicates > 100);
  BOOST_TEST(from_snapshot.summary.accepted > 1000);
  BOOST_TEST(LogContent(with) == LogContent(without));
  testing::VerifyChain(with, std::stoll(Scalar(with, "SELECT count(*) FROM \"BetHistory\"")));
}

BOOST_AUTO_TEST_CASE(a_damaged_or_mismatched_snapshot_is_not_used_and_the_whole_log_is_folded) {
  const auto [first, second] = Halves(2000);
  const std::string conn = FreshDatabase();
  Append(conn, first, /*use_snapshot=*/false, /*save_snapshot=*/true);
  const std::string head = Scalar(conn, "SELECT max(seq) FROM \"BetHistory\"");

  // One byte of the stored bytes changed: the checksum catches it.
  Scalar(conn,
         "UPDATE fold_snapshot_part SET data = set_byte(data, 100, (get_byte(data, 100) + 1) % 256)"
         " WHERE part = 0 RETURNING 1");
  Run damaged = Append(conn, "", /*use_snapshot=*/true);
  BOOST_TEST(damaged.snapshot_seq == 0);
  BOOST_REQUIRE(damaged.skipped.size() == 1u);
  BOOST_TEST(damaged.skipped[0].find("checksum") != std::string::npos, damaged.skipped[0]);

  // A good snapshot again, then the hash it was made from no longer the log's (as after restoring
  // the snapshot tables of another database).
  Scalar(conn, "DELETE FROM fold_snapshot RETURNING 1");
  Append(conn, "", /*use_snapshot=*/false, /*save_snapshot=*/true);
  BOOST_TEST(Scalar(conn, "SELECT count(*) FROM fold_snapshot") == "1");
  Scalar(conn, "UPDATE fold_snapshot SET hash = repeat('ab', 32) RETURNING 1");
  Run mismatched = Append(conn, second, /*use_snapshot=*/true);
  BOOST_TEST(mismatched.snapshot_seq == 0);
  BOOST_REQUIRE(mismatched.skipped.size() == 1u);
  BOOST_TEST(mismatched.skipped[0].find("has hash") != std::string::npos, mismatched.skipped[0]);
  BOOST_TEST(mismatched.summary.accepted > 100);  // The full fold appends as ever.
  testing::VerifyChain(conn, std::stoll(Scalar(conn, "SELECT count(*) FROM \"BetHistory\"")));
}

// A fold of the whole log (use_snapshot off) reads no snapshot, and its save counts from the
// newest stored: before, every `append --no-snapshot` past kFoldSnapshotTailEvents saved one
// beside a snapshot a few events old (55 bytes an event of the log each time).
BOOST_AUTO_TEST_CASE(a_save_after_a_fold_of_the_whole_log_counts_from_the_newest_stored) {
  const auto [first, second] = Halves(600);
  const std::string conn = FreshDatabase();
  Append(conn, first, /*use_snapshot=*/false, /*save_snapshot=*/true);
  Append(conn, second, /*use_snapshot=*/false);
  const std::string stored = Scalar(conn, "SELECT max(seq) FROM fold_snapshot");
  const int64_t head = std::stoll(Scalar(conn, "SELECT max(seq) FROM \"BetHistory\""));
  BOOST_REQUIRE(std::stoll(stored) < head);

  std::unique_ptr<pg::Database> db = OpenStore(conn);
  AppendOptions options;
  options.use_snapshot = false;
  Appender appender(db.get(), options);
  BOOST_REQUIRE(appender.CatchUp().ok());
  BOOST_TEST(appender.snapshot_seq() == 0);
  // The newest stored is fewer than kFoldSnapshotTailEvents behind: nothing saved, counted from it.
  absl::StatusOr<int64_t> skipped = appender.SaveSnapshot(kFoldSnapshotTailEvents);
  BOOST_REQUIRE(skipped.ok());
  BOOST_TEST(*skipped == 0);
  BOOST_TEST(appender.snapshot_seq() == std::stoll(stored));
  BOOST_TEST(Scalar(conn, "SELECT max(seq) FROM fold_snapshot") == stored);
  // Past the head it is, so a save asked for at any distance writes one.
  absl::StatusOr<int64_t> saved = appender.SaveSnapshot();
  BOOST_REQUIRE(saved.ok());
  BOOST_TEST(*saved > 0);
  BOOST_TEST(std::stoll(Scalar(conn, "SELECT max(seq) FROM fold_snapshot")) == head);
  BOOST_TEST(appender.snapshot_seq() == head);
}

BOOST_AUTO_TEST_CASE(the_newest_two_snapshots_are_kept) {
  const std::string conn = FreshDatabase();
  const std::vector<std::string> lines = testing::Lines(GeneratedStream(900, 5));
  for (size_t part = 0; part < 3; ++part) {
    std::string input;
    for (size_t i = part * 300; i < (part + 1) * 300; ++i) input += lines[i] + "\n";
    Append(conn, input, /*use_snapshot=*/true, /*save_snapshot=*/true);
  }
  BOOST_TEST(Scalar(conn, "SELECT count(*) FROM fold_snapshot") == "2");
  BOOST_TEST(Scalar(conn, "SELECT count(DISTINCT seq) FROM fold_snapshot_part") == "2");
  BOOST_TEST(Scalar(conn, "SELECT max(seq) FROM fold_snapshot") ==
             Scalar(conn, "SELECT max(seq) FROM \"BetHistory\""));
}

// A projector starts from the newest fold snapshot at or before its checkpoints (never one past
// them: the changes of the rows in between are not in a fold), and what it writes is what a fold
// from position 0 writes: the tables after it equal a rebuild's.
BOOST_AUTO_TEST_CASE(a_projector_starts_from_the_snapshot_at_or_before_its_checkpoints) {
  const std::string conn = FreshDatabase();
  const auto [first, second] = Halves(6000);
  std::unique_ptr<pg::Database> db = OpenStore(conn);
  auto project = [&db](bool use_snapshot) -> std::string {
    CatchUpRunner runner(db.get(), ProjectorOptions{});
    runner.set_use_snapshot(use_snapshot);
    std::vector<std::string> skipped;
    runner.set_on_snapshot_skipped([&skipped](std::string_view why) { skipped.emplace_back(why); });
    absl::StatusOr<int64_t> applied = runner.RunOnce();
    BOOST_REQUIRE_MESSAGE(applied.ok(), applied.status().ToString());
    BOOST_TEST(skipped.empty());
    return StrCat("from ", runner.fold_started_at(), ", applied ", *applied);
  };
  auto head = [&conn] { return std::stoll(Scalar(conn, "SELECT max(seq) FROM \"BetHistory\"")); };

  Append(conn, first, true, /*save_snapshot=*/true);
  const int64_t s1 = head();
  BOOST_TEST(project(true) == StrCat("from ", 0, ", applied ", s1));  // No checkpoint yet.
  Append(conn, second, true, /*save_snapshot=*/true);
  const int64_t s2 = head();
  BOOST_REQUIRE(s2 > s1);
  // The newest snapshot (s2) is past the checkpoints (s1): the one at s1 is used.
  BOOST_TEST(project(true) == StrCat("from ", s1, ", applied ", s2 - s1));
  const std::string projected = testing::DumpProjections(conn);
  BOOST_TEST(std::stoll(Scalar(conn, "SELECT count(*) FROM \"PoolSnapshot\"")) > 20);

  BOOST_REQUIRE(Rebuild(db.get(), ProjectorOptions{}, {}).ok());
  BOOST_TEST((testing::DumpProjections(conn) == projected));

  // At the head: from the snapshot there, nothing to apply; without snapshots, from position 0.
  BOOST_TEST(project(true) == StrCat("from ", s2, ", applied ", 0));
  BOOST_TEST(project(false) == StrCat("from ", 0, ", applied ", s2));
  BOOST_TEST((testing::DumpProjections(conn) == projected));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
