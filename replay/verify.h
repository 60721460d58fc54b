// Verify: proves the log was not altered and the projections match it.
//
// 1. Re-computes the hash chain from the first row: the first position where it breaks (a row whose
//    content no longer matches its hash, a prevHash that is not the previous row's hash, a missing
//    or out-of-order position), and every later break.
// 2. Against a digest taken earlier (replay/digest.h, kept outside the database): the row at that
//    position must still have that hash (and recordedAt), so the log was neither truncated nor
//    rewritten up to it.
// 3. Re-derives every projection in memory and compares it row by row with the live tables (drift:
//    which table, which key, expected vs found).
#ifndef LEDGER_REPLAY_VERIFY_H_
#define LEDGER_REPLAY_VERIFY_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/chain_guard.h"
#include "engine/pg/database.h"
#include "projections/projector.h"
#include "replay/digest.h"

namespace ledger {

struct Drift {
  std::string table;
  std::string key;   // The row's primary key (Market: its UUID).
  std::string kind;  // MISSING_ROW, UNEXPECTED_ROW, DIFFERENT_VALUE
  std::string column;
  std::optional<std::string> expected;  // What the log gives.
  std::optional<std::string> found;     // What the table holds.
  std::string name;  // What a person calls the row when the key is not it: a Market's marketId.
};

// Stop listing past this many breaks or drifts (default of `verify --findings-max`): the first ones
// locate the damage; the counts say how many more there are.
inline constexpr size_t kVerifyFindingsMax = 1000;

// A projection whose checkpoint is not the log head verify folded to: its table is not compared
// (it is not drift, nor tampering). Behind: `ledger project` brings it up; ahead: the log grew
// while verify ran.
struct ProjectionBehind {
  std::string projection;  // ProjectionName: "bet", ...
  std::string table;       // "Bet", ...
  int64_t checkpoint = 0;
};
// Verify checks the chain on the scanning thread and folds on a second one, handing rows over in
// batches: 1024 rows (about 1 MB) per hand-over, at most 4 in flight, so memory stays bounded (a
// few MB beyond the fold's state) whatever the log's length.
inline constexpr size_t kVerifyBatchRows = 1024;
inline constexpr size_t kVerifyBatchesInFlight = 4;

struct VerifyReport {
  int64_t rows = 0;
  int64_t head_seq = 0;
  Sha256 head_hash{};
  std::vector<ChainBreak> breaks;
  std::optional<std::string> digest_problem;
  std::vector<Drift> drift;
  // False when the chain is broken: every expected value is then derived from a log that is not
  // what the ledger wrote, so a difference may as well be the table holding the true value. The
  // differences are still listed (forensics: a table projected before the damage may keep the
  // original), never as the table being wrong.
  bool drift_judged = true;
  std::vector<ProjectionBehind> behind;
  // Every finding counted, listed or not, by "<where> <KIND>": "chain ALTERED_ROW",
  // "chain RULE_BROKEN", "Bet MISSING_ROW", "Bet DIFFERENT_VALUE" (rows, not columns), ... breaks
  // and drift list at most kVerifyFindingsMax each; these say how many there are.
  std::map<std::string, int64_t> counts;
  // Where the time went. Wall clock: the whole run, the log scan (with the chain and the fold
  // alongside), the comparison with the live tables, and the chain checks on the scanning thread.
  // CPU time of the fold thread: rows / fold_seconds is the fold rate on one core. engine_seconds
  // is their sum; the rest of the scan is PostgreSQL's (and the hand-over).
  double total_seconds = 0;
  double scan_seconds = 0;
  double compare_seconds = 0;
  double engine_seconds = 0;
  double chain_seconds = 0;
  double fold_seconds = 0;
  bool clean() const {
    return breaks.empty() && !digest_problem && drift.empty() && behind.empty();
  }
};

// Which rows a comparison covers (a market's or a wallet's, for an audit), judged on the row's
// columns (EmptyTable(p).columns) on both sides: expected and live.
using RowFilter = std::function<bool(Projection, const Row&)>;

// Compares the projector's tables with the live ones and appends the differences to `drift`, at
// most `findings_max` of them. `counts` (optional) gains every difference, listed or not. Tables
// whose `skip` entry is true are not compared; with `keep`, only the rows it keeps.
absl::Status CompareWithLive(pg::Database* store, const Projector& projector,
                             std::vector<Drift>* drift,
                             std::map<std::string, int64_t>* counts = nullptr,
                             size_t findings_max = kVerifyFindingsMax,
                             std::array<bool, kProjectionCount> skip = {},
                             const RowFilter& keep = nullptr);

// The projections whose checkpoint is not `head_seq` (their tables cannot be compared with a fold
// to `head_seq`), and which tables to skip for that. Adds them to report->behind and counts.
absl::StatusOr<std::array<bool, kProjectionCount>> FindBehind(pg::Database* store, int64_t head_seq,
                                                              VerifyReport* report);

// Lists at most `findings_max` breaks and as many drifts (every one is counted).
absl::StatusOr<VerifyReport> Verify(pg::Database* store, const std::optional<LogDigest>& digest,
                                    ProjectorOptions options = {},
                                    size_t findings_max = kVerifyFindingsMax);

}  // namespace ledger

#endif  // LEDGER_REPLAY_VERIFY_H_
