// Specification of `ledger` as a process: exit codes and outputs, concurrent appenders on one
// database, and followers killed at random moments (the appender's kill test is in fault_test.cc).
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "engine/pg/log_store.h"
#include "engine/pg/sql_session.h"
#include "engine/sequencer.h"
#include "tests/ledger_process.h"
#include "tests/process.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

using testing::AppendSpec;
using testing::DumpProjections;
using testing::FreshDatabase;
using testing::Generate;
using testing::LedgerBinary;
using testing::ProcessSpec;
using testing::ReadFile;
using testing::Scalar;
using testing::Summary;
using testing::TempDir;
using testing::VerifyChain;

}  // namespace

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(append_exit_codes_summary_and_rejects_file) {
  TempDir dir;
  const std::string conn = FreshDatabase();
  Generate(dir / "in.jsonl", {"--events", "2000", "--bad-every", "400", "--seed", "3"});

  ProcessSpec spec =
      AppendSpec(conn, dir / "in.jsonl", dir, "a", {"--rejects", dir / "rejects.jsonl"});
  BOOST_TEST(testing::Run(spec) == 1);  // Some lines were rejected.
  boost::json::object summary = Summary(dir / "a.out");
  BOOST_TEST(summary.at("accepted").as_int64() == 2000);
  BOOST_TEST(summary.at("rejected").as_int64() == 5);
  BOOST_TEST(summary.at("firstSeq").as_int64() == 1);
  BOOST_TEST(summary.at("lastSeq").as_int64() == 2000);
  const std::string err = ReadFile(dir / "a.err");
  BOOST_TEST(err.find("line 401: MALFORMED_JSON: ") != std::string::npos, err);
  // One JSON object per rejected line, with line, code, message and the input.
  std::istringstream rejects(ReadFile(dir / "rejects.jsonl"));
  std::string line;
  int count = 0;
  while (std::getline(rejects, line)) {
    boost::json::object r = boost::json::parse(line).as_object();
    BOOST_TEST(r.contains("line"));
    BOOST_TEST(!r.at("code").as_string().empty());
    BOOST_TEST(r.contains("message"));
    BOOST_TEST(r.contains("input"));
    ++count;
  }
  BOOST_TEST(count == 5);

  // A clean input exits 0; here everything is already there, so all duplicates.
  Generate(dir / "clean.jsonl", {"--events", "2000", "--seed", "3"});
  BOOST_TEST(testing::Run(AppendSpec(conn, dir / "clean.jsonl", dir, "b")) == 0);
  BOOST_TEST(Summary(dir / "b.out").at("duplicates").as_int64() == 2000);
  BOOST_TEST(Summary(dir / "b.out").at("firstSeq").is_null());
}

BOOST_AUTO_TEST_CASE(usage_io_and_database_errors_exit_2) {
  TempDir dir;
  const std::string conn = FreshDatabase();
  BOOST_TEST(testing::Run(AppendSpec(conn, dir / "missing.jsonl", dir, "a")) == 2);
  BOOST_TEST(ReadFile(dir / "a.err").find("cannot open") != std::string::npos);
  BOOST_TEST(testing::Run(AppendSpec(conn, "-", dir, "b", {"--batch-size", "0"})) == 2);
  ProcessSpec unknown;
  unknown.argv = {LedgerBinary(), "frobnicate"};
  BOOST_TEST(testing::Run(unknown) == 2);
  // An unreachable database: exit 2, and the password never printed.
  ProcessSpec bad = AppendSpec("postgresql://app:hunter2@127.0.0.1:1/ledger", "-", dir, "c");
  BOOST_TEST(testing::Run(bad) == 2);
  const std::string err = ReadFile(dir / "c.err");
  BOOST_TEST(err.find("hunter2") == std::string::npos, err);
  BOOST_TEST(err.find("****") != std::string::npos, err);
}

BOOST_AUTO_TEST_CASE(hostile_corpus_each_line_refused_with_its_own_code_and_the_rest_processed) {
  // Proves, on tests/corpus/hostile.jsonl (made by make_hostile.py; hostile.expected says what must
  // happen to each line): every hostile line is refused with its own stable code, every good line
  // among them is accepted, the rejects file keeps each refused line byte for byte (base64 when it
  // is not UTF-8), and SQL in the text fields is stored verbatim, never executed.
  TempDir dir;
  const std::string conn = FreshDatabase();
  const std::string corpus = std::string(LEDGER_SOURCE_DIR) + "/tests/corpus/";
  std::vector<std::string> expected;
  {
    std::istringstream in(ReadFile(corpus + "hostile.expected"));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line[0] != '#') expected.push_back(line.substr(0, line.find(' ')));
    }
  }
  std::vector<std::string> inputs;
  {
    std::istringstream in(ReadFile(corpus + "hostile.jsonl"));
    for (std::string line; std::getline(in, line);) inputs.push_back(line);
  }
  BOOST_REQUIRE_EQUAL(inputs.size(), expected.size());
  BOOST_TEST(testing::Run(AppendSpec(conn, corpus + "hostile.jsonl", dir, "a",
                                     {"--rejects", dir / "rejects.jsonl"})) == 1);
  std::vector<std::string> got(expected.size(), "OK");
  std::istringstream rejects(ReadFile(dir / "rejects.jsonl"));
  for (std::string line; std::getline(rejects, line);) {
    const boost::json::object r = boost::json::parse(line).as_object();  // Valid JSON, always.
    const size_t index = static_cast<size_t>(r.at("line").as_int64()) - 1;
    BOOST_REQUIRE(index < got.size());
    got[index] = std::string(r.at("code").as_string());
    BOOST_TEST(!r.at("message").as_string().empty());
    if (got[index] == "LINE_TOO_LONG") continue;  // Not read past the limit.
    std::string kept;
    if (const boost::json::value* text = r.if_contains("input")) {
      kept = std::string(text->as_string());
    } else {
      BOOST_REQUIRE(absl::Base64Unescape(std::string(r.at("inputBase64").as_string()), &kept));
    }
    BOOST_TEST(kept == inputs[index], "line " << index + 1 << " not kept byte for byte");
  }
  int64_t good = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    BOOST_TEST(got[i] == expected[i], "line " << i + 1);
    good += expected[i] == "OK" ? 1 : 0;
  }
  const boost::json::object summary = Summary(dir / "a.out");
  BOOST_TEST(summary.at("accepted").as_int64() == good);
  BOOST_TEST(summary.at("rejected").as_int64() == static_cast<int64_t>(expected.size()) - good);
  // The SQL stayed text: the tables it names are intact and the fragments are stored as they came.
  BOOST_TEST(Scalar(conn, R"(SELECT count(*) FROM "BetHistory")") == std::to_string(good));
  BOOST_TEST(Scalar(conn, R"(SELECT reason FROM "BetHistory" WHERE action = 'FLAGGED')") ==
             R"(x'); TRUNCATE "BetHistory"; --)");
  BOOST_TEST(
      Scalar(
          conn,
          R"(SELECT count(*) FROM "BetHistory" WHERE "marketId" = $$m4';DROP/**/TABLE"BetHistory";--$$)") ==
      "1");
  BOOST_TEST(
      Scalar(conn,
             R"(SELECT count(*) FROM "BetHistory" WHERE "betId" = $$hb-'||pg_sleep(10)||'$$)") ==
      "1");
}

BOOST_AUTO_TEST_CASE(concurrent_appenders_never_interleave_inside_the_chain) {
  TempDir dir;
  const std::string conn = FreshDatabase();
  // Two independent streams and one stream given to two processes at once.
  Generate(dir / "p.jsonl", {"--events", "6000", "--seed", "5", "--id-prefix", "p-"});
  Generate(dir / "q.jsonl", {"--events", "6000", "--seed", "6", "--id-prefix", "q-"});
  testing::GapFreeReader reader(conn, 12000);
  std::vector<pid_t> pids;
  int tag = 0;
  for (const char* input : {"p.jsonl", "q.jsonl", "p.jsonl"}) {
    pids.push_back(testing::Spawn(
        AppendSpec(conn, dir / input, dir, std::to_string(tag++), {"--batch-size", "250"})));
  }
  int64_t accepted = 0;
  for (size_t i = 0; i < pids.size(); ++i) {
    BOOST_TEST(testing::Wait(pids[i]) == 0, ReadFile(dir / (std::to_string(i) + ".err")));
    accepted += Summary(dir / (std::to_string(i) + ".out")).at("accepted").as_int64();
  }
  reader.Finish();
  BOOST_TEST(reader.error().empty(), reader.error());
  BOOST_TEST(reader.polls() > 2);
  // Each event once, positions gap-free, chain intact, and commit order = position order
  // (recordedAt, taken under the append lock, never goes backwards along seq).
  BOOST_TEST(accepted == 12000);
  BOOST_TEST(Scalar(conn, "SELECT count(*) FROM \"BetHistory\"") == "12000");
  BOOST_TEST(Scalar(conn,
                    "SELECT count(*) FROM \"BetHistory\" a JOIN \"BetHistory\" b "
                    "ON b.seq = a.seq + 1 WHERE b.\"recordedAt\" < a.\"recordedAt\"") == "0");
  // The two streams really were interleaved (otherwise this test proves little).
  BOOST_TEST(std::stoi(Scalar(conn,
                              "SELECT count(*) FROM \"BetHistory\" a JOIN \"BetHistory\" b ON "
                              "b.seq = a.seq + 1 WHERE left(a.\"streamId\", 6) <> "
                              "left(b.\"streamId\", 6) AND a.\"streamId\" LIKE 'bet:%' AND "
                              "b.\"streamId\" LIKE 'bet:%'")) > 1);
  VerifyChain(conn, 12000);
}

BOOST_AUTO_TEST_CASE(
    follower_killed_and_restarted_under_concurrent_appends_never_skips_or_doubles) {
  TempDir dir;
  const std::string conn = FreshDatabase();
  Generate(dir / "p.jsonl", {"--events", "20000", "--seed", "12", "--id-prefix", "p-"});
  Generate(dir / "q.jsonl", {"--events", "20000", "--seed", "13", "--id-prefix", "q-"});
  auto follower = [&](const std::string& tag) {
    ProcessSpec spec;
    spec.argv = {LedgerBinary(), "--db", conn, "project", "--follow"};
    spec.stderr_path = dir / (tag + ".err");
    return testing::Spawn(spec);
  };
  std::vector<pid_t> appenders;
  int tag = 0;
  for (const char* input : {"p.jsonl", "q.jsonl"}) {
    appenders.push_back(testing::Spawn(
        AppendSpec(conn, dir / input, dir, std::to_string(tag++), {"--batch-size", "200"})));
  }
  std::mt19937 rng(7);  // Fixed kill schedule.
  bool killed_mid_stream = false;
  int64_t last_checkpoint = 0;
  for (int i = 0; i < 5; ++i) {
    pid_t f = follower("f" + std::to_string(i));
    // Let it make progress (write at least one checkpoint), then kill it at a random moment after.
    for (int wait = 0; wait < 600; ++wait) {
      const int64_t at =
          std::stoll(Scalar(conn, "SELECT coalesce(min(seq), 0) FROM projection_checkpoint"));
      const int64_t head =
          std::stoll(Scalar(conn, "SELECT coalesce(max(seq), 0) FROM \"BetHistory\""));
      if (at > last_checkpoint || (at == head && head > 0)) {
        last_checkpoint = at;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 300));
    const int64_t log =
        std::stoll(Scalar(conn, "SELECT coalesce(max(seq), 0) FROM \"BetHistory\""));
    kill(f, SIGKILL);
    testing::Wait(f);
    killed_mid_stream = killed_mid_stream || log < 40000;
  }
  BOOST_TEST(killed_mid_stream);  // Otherwise this test would prove little.
  for (pid_t pid : appenders) BOOST_TEST(testing::Wait(pid) == 0);
  // A last follower catches up, and stops cleanly on SIGTERM.
  pid_t last = follower("last");
  const std::string head = Scalar(conn, "SELECT max(seq) FROM \"BetHistory\"");
  BOOST_TEST(head == "40000");
  for (int i = 0;
       i < 600 && Scalar(conn, "SELECT coalesce(min(seq), 0) FROM projection_checkpoint") != head;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(last, SIGTERM);
  BOOST_TEST(testing::Wait(last) == 0, ReadFile(dir / "last.err"));
  BOOST_TEST(Scalar(conn, "SELECT count(*) FROM projection_checkpoint WHERE seq = 40000") == "4");
  // No skip, no double count: the followed tables equal a rebuild from the log.
  const std::string followed = DumpProjections(conn);
  ProcessSpec rebuild;
  rebuild.argv = {LedgerBinary(), "--db", conn, "rebuild"};
  rebuild.stderr_path = dir / "rebuild.err";
  BOOST_TEST(testing::Run(rebuild) == 0, ReadFile(dir / "rebuild.err"));
  BOOST_TEST((DumpProjections(conn) == followed));
  BOOST_TEST(followed.size() > 100000u);
}

BOOST_AUTO_TEST_CASE(audit_commands_exit_codes_and_outputs) {
  TempDir dir;
  const std::string conn = FreshDatabase();
  Generate(dir / "in.jsonl", {"--events", "3000", "--seed", "21", "--markets", "4"});
  BOOST_REQUIRE_EQUAL(testing::Run(AppendSpec(conn, dir / "in.jsonl", dir, "a", {"--inline"})), 0);
  auto ledger = [&](const std::vector<std::string>& args, const std::string& tag) {
    return testing::Run(testing::LedgerSpec(conn, args, dir, tag));
  };
  // digest, then verify against it: clean, exit 0.
  BOOST_TEST(ledger({"digest"}, "digest") == 0);
  BOOST_TEST(ledger({"verify", "--digest", dir / "digest.out"}, "v1") == 0,
             ReadFile(dir / "v1.err"));
  BOOST_TEST(Summary(dir / "v1.out").at("clean").as_bool());
  // Tamper with a projection: verify exits 3 and names the table and key.
  auto sql = pg::SqlSession::Open(conn);
  BOOST_REQUIRE(sql.ok());
  BOOST_REQUIRE(
      (*sql)->Exec("UPDATE \"Market\" SET \"noPool\" = 0 WHERE \"marketId\" = 'market-0001'").ok());
  BOOST_TEST(ledger({"verify"}, "v2") == 3);
  BOOST_TEST(ReadFile(dir / "v2.err").find("drift Market") != std::string::npos,
             ReadFile(dir / "v2.err"));
  // replay as a table and as JSON.
  BOOST_TEST(ledger({"replay", "--until", "100", "--format", "table"}, "r1") == 0);
  BOOST_TEST(ReadFile(dir / "r1.out").find("state as of seq 100") == 0u);
  BOOST_TEST(ledger({"replay", "--until", "100", "--market", "market-0001"}, "r2") == 0);
  BOOST_TEST(Summary(dir / "r2.out").at("seq").as_int64() == 100);
  BOOST_TEST(ledger({"replay"}, "r3") == 2);  // --until is required.
  // audit: the HTML report is written where asked.
  BOOST_TEST(
      ledger({"audit", "--market", "market-0003", "--format", "html", "--out", dir / "audit.html"},
             "au") == 0,
      ReadFile(dir / "au.err"));
  BOOST_TEST(ReadFile(dir / "audit.html").find("Parimutuel settlement") != std::string::npos);
  BOOST_TEST(ledger({"audit", "--market", "x", "--wallet", "y"}, "au2") == 2);
  // reconcile: the generated stream leaves some clawbacks unrefunded.
  const int code = ledger({"reconcile"}, "rc");
  const boost::json::object rc = Summary(dir / "rc.out");
  BOOST_TEST(code == (rc.at("reconciled").as_bool() ? 0 : 3));
  BOOST_TEST(rc.at("clawbacks").as_int64() >= rc.at("refunds").as_int64());
}

BOOST_AUTO_TEST_CASE(database_url_from_the_environment_is_used) {
  TempDir dir;
  const std::string conn = FreshDatabase();
  Generate(dir / "in.jsonl", {"--events", "50", "--seed", "2"});
  BOOST_REQUIRE_EQUAL(testing::Run(AppendSpec(conn, dir / "in.jsonl", dir, "a")), 0);
  ProcessSpec spec;
  spec.argv = {LedgerBinary(), "digest"};
  spec.env = {{"DATABASE_URL", conn}, {"LEDGER_HOME", dir / "unused-home"}};
  spec.stdout_path = dir / "digest.out";
  BOOST_TEST(testing::Run(spec) == 0);
  BOOST_TEST(Summary(dir / "digest.out").at("seq").as_int64() == 50);
  BOOST_TEST(!std::filesystem::exists(dir / "unused-home"));  // No embedded cluster was started.
}

BOOST_AUTO_TEST_CASE(rebuild_shows_progress_only_on_a_terminal) {
  TempDir dir;
  const std::string conn = FreshDatabase();
  Generate(dir / "in.jsonl", {"--events", "2000", "--seed", "3"});
  BOOST_REQUIRE_EQUAL(testing::Run(AppendSpec(conn, dir / "in.jsonl", dir, "a")), 0);
  // Not a terminal: stderr stays quiet.
  ProcessSpec plain;
  plain.argv = {LedgerBinary(), "--db", conn, "rebuild"};
  plain.stderr_path = dir / "plain.err";
  BOOST_TEST(testing::Run(plain) == 0);
  BOOST_TEST(ReadFile(dir / "plain.err").empty());
  // On a terminal (script(1) gives it a pseudo-terminal): events/s and an ETA.
  ProcessSpec tty;
  tty.argv = {"/usr/bin/script", "-qec", LedgerBinary() + " --db '" + conn + "' rebuild",
              dir / "typescript"};
  BOOST_TEST(testing::Run(tty) == 0);
  const std::string shown = ReadFile(dir / "typescript");
  BOOST_TEST(shown.find("rebuild: 2000/2000 events") != std::string::npos, shown);
  BOOST_TEST(shown.find("events/s, ETA") != std::string::npos, shown);
}

BOOST_AUTO_TEST_CASE(embedded_database_runs_for_a_normal_user_too) {
  // The same binary started by an unprivileged user runs its own cluster as that user. (When the
  // suite itself runs as a normal user, every other test already does exactly this.)
  if (geteuid() != 0) {
    BOOST_TEST(getuid() != 0u);
    return;
  }
  char home[] = "/tmp/ledger-user-XXXXXX";
  BOOST_REQUIRE(mkdtemp(home) != nullptr);
  BOOST_REQUIRE(chmod(home, 0777) == 0);
  const std::string user_home = std::string(home) + "/h";
  TempDir out;
  chmod(out.path().c_str(), 0777);
  auto as_nobody = [&](std::vector<std::string> args, const std::string& tag) {
    ProcessSpec spec;
    spec.argv = {"/usr/sbin/runuser", "-u", "nobody", "--", LedgerBinary()};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = {{"LEDGER_HOME", user_home}, {"DATABASE_URL", ""}};
    spec.stdout_path = out / (tag + ".out");
    spec.stderr_path = out / (tag + ".err");
    return testing::Run(spec);
  };
  BOOST_TEST(as_nobody({"db", "start"}, "start") == 0, ReadFile(out / "start.err"));
  BOOST_TEST(as_nobody({"digest"}, "digest") == 0, ReadFile(out / "digest.err"));
  struct stat st {};
  BOOST_REQUIRE(stat((user_home + "/pg/data").c_str(), &st) == 0);
  const struct passwd* nobody = getpwnam("nobody");
  BOOST_REQUIRE(nobody != nullptr);
  BOOST_TEST(st.st_uid == nobody->pw_uid);  // The cluster belongs to the user who started it.
  BOOST_TEST(as_nobody({"db", "stop"}, "stop") == 0);
  std::error_code ec;
  std::filesystem::remove_all(home, ec);
}

BOOST_AUTO_TEST_CASE(embedded_database_commands) {
  // A second embedded cluster, managed only through the CLI, as a newcomer would.
  char home[] = "/tmp/ledger-home-XXXXXX";
  BOOST_REQUIRE(mkdtemp(home) != nullptr);
  TempDir out;
  auto ledger = [&](std::vector<std::string> args, const std::string& tag) {
    ProcessSpec spec;
    spec.argv = {LedgerBinary()};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = {{"LEDGER_HOME", home}, {"DATABASE_URL", ""}};
    spec.stdout_path = out / (tag + ".out");
    spec.stderr_path = out / (tag + ".err");
    return testing::Run(spec);
  };
  BOOST_TEST(ledger({"db", "status"}, "s0") == 3);
  BOOST_TEST(ledger({"db", "start"}, "start") == 0, ReadFile(out / "start.err"));
  BOOST_TEST(ledger({"db", "start"}, "again") == 0);  // Idempotent.
  BOOST_TEST(ledger({"db", "status"}, "s1") == 0);
  BOOST_TEST(ledger({"db", "url"}, "url") == 0);
  BOOST_TEST(ReadFile(out / "url.out").find("postgresql://ledger@/ledger?host=") == 0u);
  // With no --db and no DATABASE_URL, commands use (and migrate) the embedded database.
  BOOST_TEST(ledger({"digest"}, "digest") == 0, ReadFile(out / "digest.err"));
  BOOST_TEST(Summary(out / "digest.out").at("seq").as_int64() == 0);
  BOOST_TEST(ledger({"db", "stop"}, "stop") == 0);
  BOOST_TEST(ledger({"db", "status"}, "s2") == 3);
  std::error_code ec;
  std::filesystem::remove_all(home, ec);
}

BOOST_AUTO_TEST_CASE(demo_runs_the_main_job_and_is_safe_to_run_again) {
  // Proves: `ledger demo` on a fresh embedded database appends the stream, refuses its bad lines,
  // flags the bursts, closes the expired seed market, verifies clean and writes the HTML report of
  // the largest market; a second run appends nothing and flags nothing new. Then the operations
  // commands on the same database: rules (dry run: nothing left), stats and history as JSON, and
  // project with retention.
  TempDir home;
  // As root the cluster runs as 'postgres', which must reach LEDGER_HOME.
  BOOST_REQUIRE(chmod(home.path().c_str(), 0755) == 0);
  auto ledger = [&](std::vector<std::string> args, const std::string& tag) {
    ProcessSpec spec;
    spec.argv = {LedgerBinary()};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = {{"LEDGER_HOME", home / "db"}, {"DATABASE_URL", ""}};
    spec.stdout_path = home / (tag + ".out");
    spec.stderr_path = home / (tag + ".err");
    return testing::Run(spec);
  };
  BOOST_TEST(ledger({"demo", "--events", "6000"}, "demo1") == 0, ReadFile(home / "demo1.err"));
  const std::string first = ReadFile(home / "demo1.out");
  BOOST_TEST(first.find("6000 appended, 1 already in the log, 2 refused") != std::string::npos,
             first);
  BOOST_TEST(first.find("eden-haus-hackathon: endDate 2026-02-16T09:00:00Z has passed") !=
             std::string::npos);
  BOOST_TEST(first.find("verify         clean") != std::string::npos);
  const std::string report = home / "db/audit-eden-haus-hackathon.html";
  BOOST_TEST(first.find("HTML audit report: " + report) != std::string::npos);
  BOOST_TEST(ReadFile(report).find("<svg") != std::string::npos);
  const size_t flagged_at = first.find("risk rules     ");
  BOOST_REQUIRE(flagged_at != std::string::npos);
  BOOST_TEST(first.substr(flagged_at).rfind("risk rules     0 ", 0) != 0u);  // Something flagged.

  BOOST_TEST(ledger({"demo", "--events", "6000"}, "demo2") == 0, ReadFile(home / "demo2.err"));
  const std::string second = ReadFile(home / "demo2.out");
  BOOST_TEST(second.find("0 appended, 6001 already in the log, 2 refused") != std::string::npos,
             second);
  BOOST_TEST(second.find("risk rules     0 new FLAGGED events") != std::string::npos);
  BOOST_TEST(second.find("expiry         0 markets closed") != std::string::npos);

  BOOST_TEST(ledger({"rules", "run", "--dry-run", "--format", "json"}, "rules") == 0);
  BOOST_TEST(Summary(home / "rules.out").at("hits").as_array().empty());
  BOOST_TEST(ledger({"rules", "run", "--velocity", "1/1h"}, "bad-rule") == 2);
  BOOST_TEST(ReadFile(home / "bad-rule.err").find("--velocity must be") != std::string::npos);

  BOOST_TEST(ledger({"stats", "--market", "eden-haus-hackathon", "--format", "json"}, "stats") ==
             0);
  boost::json::object stats = Summary(home / "stats.out");
  BOOST_TEST(stats.at("status").as_string() == "CLOSED");
  BOOST_TEST(stats.at("totalPool").as_int64() ==
             stats.at("yesPool").as_int64() + stats.at("noPool").as_int64());
  BOOST_TEST(stats.at("totalBets").as_int64() > 0);
  BOOST_TEST(ledger({"stats", "--market", "no-such-market"}, "nostats") == 2);
  BOOST_TEST(ledger({"stats", "--market", "eden-haus-hackathon", "--format", "table"}, "st") == 0);
  const std::string table = ReadFile(home / "st.out");
  BOOST_TEST(table.find("eden-haus-hackathon: Will Eden Haus win the Cronos x402 Hackathon?") ==
             0u);
  BOOST_TEST(table.find(absl::StrFormat("confirmed bets %d from",
                                        stats.at("totalBets").as_int64())) != std::string::npos,
             table);

  BOOST_TEST(ledger({"db", "url"}, "url") == 0);
  std::string url = ReadFile(home / "url.out");
  url.erase(url.find_last_not_of('\n') + 1);
  const std::string wallet =
      Scalar(url, R"(SELECT "walletAddress" FROM "Bet" ORDER BY id LIMIT 1)");
  std::string shouted = wallet;
  for (size_t i = 2; i < shouted.size(); ++i)
    shouted[i] = static_cast<char>(std::toupper(shouted[i]));
  BOOST_TEST(ledger({"history", "--wallet", shouted, "--format", "json"}, "history") == 0);
  boost::json::object history = Summary(home / "history.out");
  BOOST_TEST(history.at("wallet").as_string() == wallet);
  BOOST_TEST(history.at("bets").as_array().size() ==
             std::stoul(Scalar(
                 url, R"(SELECT count(*) FROM "Bet" WHERE "walletAddress" = ')" + wallet + "'")));
  BOOST_TEST(ledger({"history", "--wallet", "0xnot-a-wallet"}, "badwallet") == 2);

  BOOST_TEST(ledger({"project", "--snapshot-retention", "30d"}, "retention") == 0,
             ReadFile(home / "retention.err"));
  BOOST_TEST(Summary(home / "retention.out").at("snapshotsTrimmed").as_int64() > 0);
  BOOST_TEST(ledger({"verify"}, "verify") == 0, ReadFile(home / "verify.out"));
  BOOST_TEST(ledger({"db", "stop"}, "stop") == 0);
}

BOOST_AUTO_TEST_CASE(results_file_gives_every_line_its_status_seq_and_hash) {
  // Proves `append --results`: one JSON line per input line (blank lines are not events), in input
  // order; an accepted event carries its seq and hash as stored; a duplicate carries the seq and
  // hash of the event already in the log, whether that came earlier in the same input, in an
  // earlier batch or in an earlier run; a rejection carries its code and message and no position.
  // (Before, a re-sent event came back only as a count with firstSeq null.)
  TempDir dir;
  const std::string conn = FreshDatabase();
  const std::string wallet = "0x1111111111111111111111111111111111111111";
  auto place = [&](const std::string& bet, int amount, int number) {
    return R"({"action":"PLACED","betId":")" + bet + R"(","marketId":"m1","wallet":")" + wallet +
           R"(","choice":"YES","amount":)" + std::to_string(amount) + R"(,"betNumber":)" +
           std::to_string(number) + "}";
  };
  {
    std::ofstream in(dir / "in.jsonl");
    in << R"({"action":"MARKET_CREATED","marketId":"m1","question":"Q?","endDate":"2027-01-01T00:00:00Z","contractAddress":"0x0000000000000000000000000000000000000001","gnosisSafeAddress":"0x0000000000000000000000000000000000000002"})"
       << "\n"
       << place("b1", 5, 1) << "\n"   // line 2
       << place("b2", 7, 2) << "\n"   // line 3
       << "{oops\n"                   // line 4: malformed
       << "\n"                        // blank: no result
       << place("b1", 5, 1) << "\n"   // line 6: duplicate of line 2, in an earlier batch
       << place("b2", 9, 2) << "\n";  // line 7: same identity as line 3, another amount
  }
  auto results = [&](const std::string& tag) {
    std::vector<boost::json::object> out;
    std::istringstream lines(ReadFile(dir / (tag + ".results")));
    for (std::string line; std::getline(lines, line);) {
      out.push_back(boost::json::parse(line).as_object());
    }
    return out;
  };
  auto stored_hash = [&](int64_t seq) {
    return Scalar(conn, "SELECT hash FROM \"BetHistory\" WHERE seq = " + std::to_string(seq));
  };
  BOOST_TEST(testing::Run(AppendSpec(conn, dir / "in.jsonl", dir, "a",
                                     {"--batch-size", "2", "--results", dir / "a.results"})) == 1);
  const std::vector<boost::json::object> first = results("a");
  BOOST_REQUIRE_EQUAL(first.size(), 6u);
  const std::vector<int64_t> lines = {1, 2, 3, 4, 6, 7};
  const std::vector<std::string> statuses = {"accepted", "accepted",  "accepted",
                                             "rejected", "duplicate", "rejected"};
  for (size_t i = 0; i < first.size(); ++i) {
    BOOST_TEST(first[i].at("line").as_int64() == lines[i]);
    BOOST_TEST(first[i].at("status").as_string() == statuses[i], "line " << lines[i]);
  }
  for (size_t i : {0u, 1u, 2u}) {
    BOOST_TEST(first[i].at("seq").as_int64() == static_cast<int64_t>(i) + 1);
    BOOST_TEST(first[i].at("hash").as_string() == stored_hash(static_cast<int64_t>(i) + 1));
    BOOST_TEST(first[i].at("code").is_null());
  }
  BOOST_TEST(first[3].at("code").as_string() == "MALFORMED_JSON");
  BOOST_TEST(first[3].at("seq").is_null());
  BOOST_TEST(first[3].at("hash").is_null());
  BOOST_TEST(first[4].at("seq").as_int64() == 2);  // b1's position, from the log.
  BOOST_TEST(first[4].at("hash").as_string() == stored_hash(2));
  BOOST_TEST(first[5].at("code").as_string() == "IDENTITY_CONFLICT");
  // The same input again: every event is a duplicate carrying its original position and hash.
  BOOST_TEST(testing::Run(AppendSpec(conn, dir / "in.jsonl", dir, "b",
                                     {"--results", dir / "b.results"})) == 1);
  const std::vector<boost::json::object> second = results("b");
  BOOST_REQUIRE_EQUAL(second.size(), 6u);
  for (size_t i : {0u, 1u, 2u, 4u}) {
    BOOST_TEST(second[i].at("status").as_string() == "duplicate");
    BOOST_TEST(second[i].at("seq") == first[i].at("seq"));
    BOOST_TEST(second[i].at("hash") == first[i].at("hash"));
    BOOST_TEST(second[i].at("recovered").as_bool() == false);
  }
  BOOST_TEST(second[3].at("code") == first[3].at("code"));
  BOOST_TEST(second[5].at("code") == first[5].at("code"));
}

BOOST_AUTO_TEST_CASE(a_database_without_the_schema_says_to_run_migrate) {
  // Proves that a command pointed at a database nobody migrated (an explicit --db is never
  // migrated implicitly) exits 2 with PostgreSQL's reason and the command that fixes it, instead of
  // a bare `relation "BetHistory" does not exist`.
  TempDir dir;
  const std::string conn = FreshDatabase(/*migrate=*/false);
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"digest"}, {"verify"}, {"feed"}, {"replay", "--until", "1"}, {"append", "-"}}) {
    ProcessSpec spec = testing::LedgerSpec(conn, args, dir, "m");
    BOOST_TEST(testing::Run(spec) == 2, args[0]);
    const std::string err = ReadFile(dir / "m.err");
    BOOST_TEST(err.find("run `ledger migrate` against it first") != std::string::npos,
               args[0] << ": " << err);
  }
}

BOOST_AUTO_TEST_CASE(verify_counts_every_finding_and_says_how_many_it_did_not_list) {
  // Proves that verify, which lists at most 1000 drifts, still counts every one (per table and
  // kind) and says how many it left out, instead of stopping silently at 1000.
  TempDir dir;
  const std::string conn = FreshDatabase();
  Generate(dir / "in.jsonl", {"--events", "3000", "--seed", "41"});
  BOOST_REQUIRE_EQUAL(testing::Run(AppendSpec(conn, dir / "in.jsonl", dir, "a")), 0);
  BOOST_REQUIRE_EQUAL(testing::Run(testing::LedgerSpec(conn, {"project"}, dir, "p")), 0);
  const int64_t bets = std::stoll(Scalar(conn, R"(SELECT count(*) FROM "Bet")"));
  BOOST_REQUIRE_GT(bets, 1000);
  Scalar(conn, R"(WITH gone AS (DELETE FROM "Bet" RETURNING 1) SELECT count(*) FROM gone)");
  BOOST_TEST(testing::Run(testing::LedgerSpec(conn, {"verify"}, dir, "v")) == 3);
  const boost::json::object report = Summary(dir / "v.out");
  BOOST_TEST(report.at("drift").as_array().size() == 1000u);
  BOOST_TEST(report.at("counts").at("Bet MISSING_ROW").as_int64() == bets);
  BOOST_TEST(report.at("unlisted").as_int64() == bets - 1000);
  const std::string err = ReadFile(dir / "v.err");
  BOOST_TEST(err.find("counted: Bet MISSING_ROW " + std::to_string(bets)) != std::string::npos,
             err.substr(err.size() - std::min<size_t>(err.size(), 400)));
  BOOST_TEST(err.find("and " + std::to_string(bets - 1000) + " more not listed") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
