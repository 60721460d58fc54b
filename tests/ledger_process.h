// Driving the real `ledger` binary from tests: generate a stream, append it, read its JSON summary,
// check the chain, and kill a process repeatedly while it works.
#ifndef LEDGER_TESTS_LEDGER_PROCESS_H_
#define LEDGER_TESTS_LEDGER_PROCESS_H_

#include <atomic>
#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/process.h"

namespace ledger::testing {

// Writes a generated stream (`ledger generate` with `flags`) to `path`; fails the test otherwise.
void Generate(const std::string& path, const std::vector<std::string>& flags);

// `ledger --db conn args...`, stdout and stderr to dir/tag.out and dir/tag.err.
ProcessSpec LedgerSpec(const std::string& conn, const std::vector<std::string>& args,
                       const TempDir& dir, const std::string& tag);

// LedgerSpec of `append input extra...`.
ProcessSpec AppendSpec(const std::string& conn, const std::string& input, const TempDir& dir,
                       const std::string& tag, std::vector<std::string> extra = {});

// The JSON object a command printed into `path`.
boost::json::object Summary(const std::string& path);

// Folds the whole log of `conn` through a Sequencer (chain, positions and rules checked) and
// expects `expected_rows` rows.
void VerifyChain(const std::string& conn, int64_t expected_rows);

// A reader polling `seq > last` on its own connection while appenders run: it must never find a
// hole that fills in later (whatever it sees past its last position starts right after it and is
// contiguous), which is "positions are gap-free in commit order" seen from outside.
class GapFreeReader {
 public:
  // Starts polling `conn`'s log until Finish(); it then reads on until it has seen `rows` positions
  // or a poll finds nothing new.
  GapFreeReader(const std::string& conn, int64_t rows);
  ~GapFreeReader();
  GapFreeReader(const GapFreeReader&) = delete;
  GapFreeReader& operator=(const GapFreeReader&) = delete;

  // Call once the appenders are done; waits for the last polls.
  void Finish();
  // Empty when every poll continued the one before; else the first hole or error.
  const std::string& error() const { return error_; }
  int64_t polls() const { return polls_; }

 private:
  void Run(const std::string& conn, int64_t rows);

  std::atomic<bool> appending_{true};
  std::string error_;
  int64_t polls_ = 0;
  std::thread thread_;
};

// How KillRepeatedly lands its kills: a random 0..delay_ms_max after `progress()` has visibly
// moved, so that each kill lands mid-way whatever this machine's speed.
struct KillSchedule {
  int kills = 6;
  int delay_ms_max = 150;
  int progress_wait_ms = 20000;  // Give up waiting for progress after this long.
};

// Runs `spec(i)` `schedule.kills` times, each killed (SIGKILL) soon after `progress()` moved;
// returns how many kills found the work started but unfinished (progress strictly between 0 and
// `total`).
int KillRepeatedly(const std::function<ProcessSpec(int)>& spec, std::mt19937& rng, int64_t total,
                   const std::function<int64_t()>& progress, const KillSchedule& schedule = {});

}  // namespace ledger::testing

#endif  // LEDGER_TESTS_LEDGER_PROCESS_H_
