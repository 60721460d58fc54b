// `ledger fold-snapshot`, and `ledger append` and `ledger serve` starting from the snapshot it
// saved: the real binary, a real PostgreSQL, a real service over a socket.
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "tests/ledger_process.h"
#include "tests/process.h"
#include "tests/serve_process.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

using testing::AppendSpec;
using testing::FreshDatabase;
using testing::Generate;
using testing::ReadFile;
using testing::Scalar;
using testing::Summary;
using testing::TempDir;

std::string Line(const std::string& path, int number) {
  std::ifstream in(path);
  std::string line;
  for (int i = 0; i < number; ++i) std::getline(in, line);
  return line;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fold_snapshot_cli)

BOOST_AUTO_TEST_CASE(fold_snapshot_then_append_and_serve_start_from_it) {
  TempDir dir;
  const std::string conn = FreshDatabase();
  auto ledger = [&](const std::vector<std::string>& args, const std::string& tag) {
    return testing::Run(testing::LedgerSpec(conn, args, dir, tag));
  };
  Generate(dir / "a.jsonl", {"--events", "3000", "--seed", "4"});
  BOOST_REQUIRE_EQUAL(testing::Run(AppendSpec(conn, dir / "a.jsonl", dir, "a")), 0);
  const int64_t head = Summary(dir / "a.out").at("lastSeq").as_int64();
  // 3000 events is far below kFoldSnapshotTailEvents: append saved none.
  BOOST_TEST(Scalar(conn, "SELECT count(*) FROM fold_snapshot") == "0");

  BOOST_TEST(ledger({"fold-snapshot"}, "s1") == 0, ReadFile(dir / "s1.err"));
  const boost::json::object s1 = Summary(dir / "s1.out");
  BOOST_TEST(s1.at("saved").as_bool());
  BOOST_TEST(s1.at("seq").as_int64() == head);
  BOOST_TEST(s1.at("foldedFrom").as_int64() == 0);
  BOOST_TEST(s1.at("identities").as_int64() == head);
  BOOST_TEST(s1.at("bytes").as_int64() > 100000);
  BOOST_TEST(ledger({"fold-snapshot"}, "s2") == 0, ReadFile(dir / "s2.err"));
  const boost::json::object s2 = Summary(dir / "s2.out");
  BOOST_TEST(!s2.at("saved").as_bool());  // Already at the head.
  BOOST_TEST(s2.at("foldedFrom").as_int64() == head);

  Generate(dir / "b.jsonl", {"--events", "40", "--seed", "9", "--id-prefix", "p2-"});
  BOOST_REQUIRE_EQUAL(testing::Run(AppendSpec(conn, dir / "b.jsonl", dir, "b")), 0);
  BOOST_TEST(Summary(dir / "b.out").at("accepted").as_int64() == 40);
  BOOST_TEST(ReadFile(dir / "b.err").empty(), ReadFile(dir / "b.err"));

  {
    testing::ServeProcess serve(conn, dir, {"--no-projections"});
    BOOST_TEST(serve.ready().at("foldedFrom").as_int64() == head);
    BOOST_TEST(serve.ready().at("headSeq").as_int64() == head + 40);
    // An event from before the snapshot, re-sent: found in the log, with its position.
    testing::HttpClient client(serve.port());
    testing::HttpReply reply = client.Post("/v1/events", Line(dir / "a.jsonl", 5));
    BOOST_TEST(reply.status == 200, reply.body);
    const boost::json::object result = reply.Json().at("results").as_array()[0].as_object();
    BOOST_TEST(result.at("status").as_string() == "duplicate");
    BOOST_TEST(result.at("seq").as_int64() == 5);
    BOOST_TEST(serve.Terminate() == 0);
  }

  // One byte of the stored snapshot changed: append says so, folds the whole log, and still
  // recognizes every re-sent event.
  Scalar(conn,
         "UPDATE fold_snapshot_part SET data = set_byte(data, 64, (get_byte(data, 64) + 1) % 256)"
         " WHERE seq = (SELECT max(seq) FROM fold_snapshot) AND part = 0 RETURNING 1");
  BOOST_REQUIRE_EQUAL(testing::Run(AppendSpec(conn, dir / "b.jsonl", dir, "b2")), 0);
  BOOST_TEST(Summary(dir / "b2.out").at("duplicates").as_int64() == 40);
  const std::string warning = ReadFile(dir / "b2.err");
  BOOST_TEST(warning.find("fold snapshot not used") != std::string::npos, warning);
  BOOST_TEST(warning.find("checksum") != std::string::npos, warning);
}

// The local copy of a snapshot (engine/snapshot_cache.h) is kept where $LEDGER_SNAPSHOT_CACHE says,
// only there, and "off" keeps none. The copy is the stored bytes, so with the database's own bytes
// damaged a process that has the copy still starts from the snapshot (its bytes hash to the
// checksum the database stored), and one without it folds the whole log, as above.
BOOST_AUTO_TEST_CASE(the_local_snapshot_copy_is_kept_where_ledger_snapshot_cache_says) {
  namespace fs = std::filesystem;
  TempDir dir;
  const std::string conn = FreshDatabase();
  const std::string cache = dir / "cache";
  const std::map<std::string, std::string> cached = {{"LEDGER_SNAPSHOT_CACHE", cache}};
  const std::map<std::string, std::string> off = {{"LEDGER_SNAPSHOT_CACHE", "off"}};
  auto run = [&](testing::ProcessSpec spec, const std::map<std::string, std::string>& env) {
    spec.env = env;
    return testing::Run(spec);
  };
  Generate(dir / "a.jsonl", {"--events", "3000", "--seed", "6"});
  BOOST_REQUIRE_EQUAL(run(AppendSpec(conn, dir / "a.jsonl", dir, "a"), off), 0);
  const int64_t head = Summary(dir / "a.out").at("lastSeq").as_int64();
  BOOST_REQUIRE_EQUAL(run(testing::LedgerSpec(conn, {"fold-snapshot"}, dir, "s"), off), 0);
  BOOST_TEST(!fs::exists(cache));
  BOOST_REQUIRE_EQUAL(run(testing::LedgerSpec(conn, {"fold-snapshot"}, dir, "s1"), cached), 0);
  BOOST_TEST(!Summary(dir / "s1.out").at("saved").as_bool());  // Read, not saved: still copied.
  const std::string checksum = Scalar(conn, "SELECT checksum FROM fold_snapshot");
  const fs::path copy = fs::path(cache) / (checksum + ".fold");
  BOOST_REQUIRE(fs::exists(copy));
  BOOST_TEST(std::to_string(fs::file_size(copy)) ==
             Scalar(conn, "SELECT bytes FROM fold_snapshot"));
  BOOST_TEST((fs::status(copy).permissions() == (fs::perms::owner_read | fs::perms::owner_write)));
  BOOST_TEST((fs::status(cache).permissions() == fs::perms::owner_all));
  BOOST_TEST(std::distance(fs::directory_iterator(cache), fs::directory_iterator()) == 1);

  Scalar(conn,
         "UPDATE fold_snapshot_part SET data = set_byte(data, 64, (get_byte(data, 64) + 1) % 256)"
         " WHERE part = 0 RETURNING 1");
  Generate(dir / "b.jsonl", {"--events", "40", "--seed", "8", "--id-prefix", "p2-"});
  BOOST_REQUIRE_EQUAL(run(AppendSpec(conn, dir / "b.jsonl", dir, "off"), off), 0);
  BOOST_TEST(Summary(dir / "off.out").at("accepted").as_int64() == 40);
  BOOST_TEST(ReadFile(dir / "off.err").find("fold snapshot not used") != std::string::npos);
  // Without the variable, a database named by --db has no cache either.
  BOOST_REQUIRE_EQUAL(run(AppendSpec(conn, dir / "b.jsonl", dir, "none"), {}), 0);
  BOOST_TEST(ReadFile(dir / "none.err").find("fold snapshot not used") != std::string::npos);

  BOOST_REQUIRE_EQUAL(run(AppendSpec(conn, dir / "b.jsonl", dir, "copy"), cached), 0);
  BOOST_TEST(Summary(dir / "copy.out").at("duplicates").as_int64() == 40);
  BOOST_TEST(ReadFile(dir / "copy.err").empty(), ReadFile(dir / "copy.err"));
  testing::ServeProcess serve(conn, dir, {"--no-projections"}, "serve", cached);
  BOOST_TEST(serve.ready().at("foldedFrom").as_int64() == head);
  BOOST_TEST(serve.ready().at("headSeq").as_int64() == head + 40);
  BOOST_TEST(serve.Terminate() == 0);
  BOOST_TEST(serve.Stderr().find("fold snapshot not used") == std::string::npos, serve.Stderr());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
