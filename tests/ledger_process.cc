#include "tests/ledger_process.h"

#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <thread>

#include "engine/pg/database.h"
#include "engine/pg/sql_session.h"
#include "engine/sequencer.h"
#include "engine/str_cat.h"

namespace ledger::testing {

void Generate(const std::string& path, const std::vector<std::string>& flags) {
  ProcessSpec spec;
  spec.argv = {LedgerBinary(), "generate"};
  spec.argv.insert(spec.argv.end(), flags.begin(), flags.end());
  spec.stdout_path = path;
  BOOST_REQUIRE_EQUAL(Run(spec), 0);
}

ProcessSpec LedgerSpec(const std::string& conn, const std::vector<std::string>& args,
                       const TempDir& dir, const std::string& tag) {
  ProcessSpec spec;
  spec.argv = {LedgerBinary(), "--db", conn};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.stdout_path = dir / (tag + ".out");
  spec.stderr_path = dir / (tag + ".err");
  return spec;
}

ProcessSpec AppendSpec(const std::string& conn, const std::string& input, const TempDir& dir,
                       const std::string& tag, std::vector<std::string> extra) {
  extra.insert(extra.begin(), {"append", input});
  return LedgerSpec(conn, extra, dir, tag);
}

boost::json::object Summary(const std::string& path) {
  const std::string text = ReadFile(path);
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  BOOST_REQUIRE_MESSAGE(!ec && v.is_object(), "not a JSON summary in " << path << ": " << text);
  return v.as_object();
}

void VerifyChain(const std::string& conn, int64_t expected_rows) {
  absl::StatusOr<std::unique_ptr<pg::Database>> store = pg::Database::Open(conn);
  BOOST_REQUIRE(store.ok());
  Sequencer reader;
  absl::Status s =
      (*store)->log().Stream(0, [&reader](const LoggedEvent& row) { return reader.Replay(row); });
  BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  BOOST_TEST(reader.head_seq() == expected_rows);
}

GapFreeReader::GapFreeReader(const std::string& conn, int64_t rows)
    : thread_([this, conn, rows] { Run(conn, rows); }) {}

GapFreeReader::~GapFreeReader() {
  if (thread_.joinable()) Finish();
}

void GapFreeReader::Finish() {
  appending_ = false;
  thread_.join();
}

void GapFreeReader::Run(const std::string& conn, int64_t rows) {
  absl::StatusOr<std::unique_ptr<pg::SqlSession>> sql = pg::SqlSession::Open(conn);
  if (!sql.ok()) {
    error_ = sql.status().ToString();
    return;
  }
  int64_t last = 0;
  while (appending_.load() || last < rows) {
    absl::StatusOr<std::vector<pg::SqlRow>> page = (*sql)->Query(
        R"(SELECT seq FROM "BetHistory" WHERE seq > $1 ORDER BY seq)", {std::to_string(last)});
    if (!page.ok()) {
      error_ = page.status().ToString();
      return;
    }
    for (const pg::SqlRow& row : *page) {
      const int64_t seq = std::stoll(*row[0]);
      if (seq != last + 1) {
        error_ = StrCat("saw seq ", seq, " right after ", last);
        return;
      }
      last = seq;
    }
    ++polls_;
    if (!appending_.load() && page->empty()) return;
  }
}

int KillRepeatedly(const std::function<ProcessSpec(int)>& spec, std::mt19937& rng, int64_t total,
                   const std::function<int64_t()>& progress, const KillSchedule& schedule) {
  std::uniform_int_distribution<int> delay(0, schedule.delay_ms_max);
  constexpr int kPollMs = 5;
  int interrupted = 0;
  for (int i = 0; i < schedule.kills; ++i) {
    const int64_t before = progress();
    const pid_t pid = Spawn(spec(i));
    for (int waited = 0;
         progress() == before && before < total && waited < schedule.progress_wait_ms;
         waited += kPollMs) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay(rng)));
    kill(pid, SIGKILL);
    const int code = Wait(pid);
    const int64_t done = progress();
    if (code == 128 + SIGKILL && done > 0 && done < total) ++interrupted;
  }
  return interrupted;
}

}  // namespace ledger::testing
