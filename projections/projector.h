// Projector: the seed's Bet, Market, FlaggedWallet and PoolSnapshot tables as a pure fold of the
// log.
//
// The same Projector serves the three ways projections are run (projections/runner.h): inline with
// an append, catch-up from a checkpoint, and a full rebuild. It is fed every row of the log from
// the first, in order; it reports as changed only what rows past each projection's checkpoint
// touched, so a catch-up writes exactly what its table does not have yet. No I/O; not thread-safe.
//
//   Projector p(ProjectorOptions{}, checkpoints);
//   for (const LoggedEvent& row : log) RETURN_IF_ERROR(p.Apply(row));
//   ProjectionRows changed = p.TakeChanges();     // upserts for the live tables
//   p.ForEachRow(Projection::kBet, sink);         // a rebuild's rows, streamed
#ifndef LEDGER_PROJECTIONS_PROJECTOR_H_
#define LEDGER_PROJECTIONS_PROJECTOR_H_

#include <array>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "engine/chunked_store.h"
#include "engine/event.h"
#include "engine/ledger_state.h"
#include "engine/table_rows.h"

namespace ledger {

enum class Projection : uint8_t { kMarket, kBet, kFlaggedWallet, kPoolSnapshot };
inline constexpr int kProjectionCount = 4;

// "market", "bet", "flagged_wallet", "pool_snapshot": the names in projection_checkpoint and on the
// command line.
std::string_view ProjectionName(Projection p);
std::optional<Projection> ParseProjection(std::string_view name);

// PoolSnapshot interval: the seed's cron ran every 5 minutes.
inline constexpr TimeMicros kSnapshotIntervalDefault = 5LL * 60 * 1000000;

struct ProjectorOptions {
  TimeMicros snapshot_interval = kSnapshotIntervalDefault;
  // Keep every PoolSnapshot row in memory for ForEachRow() (rebuild, replay): rows grow with
  // markets x intervals, not with bets, but a catch-up has no use for them.
  bool keep_all_snapshots = false;
  // Catch-up only (CatchUpRunner; the fold itself ignores it): keep only the PoolSnapshot rows
  // created in the last `snapshot_retention` (wall clock, as the seed's "Clean Old Snapshots"); 0
  // keeps every row.
  TimeMicros snapshot_retention = 0;
};

// Rows per projection table, in the order they are written: Market, Bet, FlaggedWallet,
// PoolSnapshot (the seed's order; no table references another since schema/010).
using ProjectionRows = std::array<TableRows, kProjectionCount>;

class Projector {
 public:
  // `checkpoints[p]` is the last position already in projection p's table (0: empty).
  Projector(ProjectorOptions options, std::array<int64_t, kProjectionCount> checkpoints);

  // A Projector for a fold of the whole log whose output is read with ForEachRow (rebuild, replay,
  // verify, audit): it tracks no changes and keeps every PoolSnapshot row.
  static Projector ForFullFold(ProjectorOptions options);

  // A Projector that continues a fold of the log's first `head_seq` rows (a fold snapshot's, say:
  // engine/fold_snapshot.h) as if it had folded them itself: what it writes for every later row is
  // what a Projector fed the log from position 0 writes. REQUIRES: every checkpoint >= head_seq
  // (the changes of rows up to head_seq are not known here).
  static Projector Resume(ProjectorOptions options,
                          std::array<int64_t, kProjectionCount> checkpoints, LedgerState state,
                          int64_t head_seq);

  // Replaces the checkpoints: changes are tracked from now on for rows past them. A rebuild folds
  // with every checkpoint at "infinity" (tracking nothing: ForEachRow covers it) and then tracks
  // the tail.
  void SetCheckpoints(std::array<int64_t, kProjectionCount> checkpoints) {
    checkpoints_ = checkpoints;
  }

  // See LedgerState::ReserveForEvents.
  void ReserveForEvents(int64_t events) { state_.ReserveForEvents(events); }

  // Folds the next row of the log. kDataLoss when it breaks a rule (the log was altered).
  absl::Status Apply(const LoggedEvent& row);

  // The rows that events past each checkpoint changed since the last call, and forgets them.
  ProjectionRows TakeChanges();

  // Every row of one table as a rebuild writes it, one at a time (streamed into COPY).
  void ForEachRow(Projection p, const RowSink& sink) const;

  int64_t head_seq() const { return head_seq_; }
  const LedgerState& state() const { return state_; }

 private:
  // One PoolSnapshot row before formatting (a rebuild may hold millions).
  struct SnapshotPoint {
    uint32_t market;  // LedgerState market index.
    int64_t interval;
    Micros yes_pool;
    Micros no_pool;
    int32_t confirmed_bets;
  };

  // The interval a log time falls in.
  int64_t IntervalOf(TimeMicros t) const { return t / options_.snapshot_interval; }
  void FlushSnapshots(int64_t seq);
  Row SnapshotRow(const SnapshotPoint& point) const;
  void Touch(Projection p, int64_t seq, std::string_view key);

  ProjectorOptions options_;
  std::array<int64_t, kProjectionCount> checkpoints_;
  LedgerState state_;
  int64_t head_seq_ = 0;
  // The interval of the fold's log time (LedgerState::log_time), -1 before the first row.
  // Intervals advance with log time, never backwards.
  int64_t interval_ = -1;
  // Markets whose pools moved in interval_ (MarketState::pools_moved_at): the PoolSnapshot rows
  // written when it ends. A function of the fold, so a projector resumed from a saved fold has
  // them too (Resume).
  std::vector<uint32_t> dirty_markets_;
  // Millions for a long log (4M at 10M events): in huge-page chunks, like the fold's bets.
  ChunkedStore<SnapshotPoint> snapshot_points_;
  std::vector<std::vector<std::optional<std::string>>> snapshot_rows_changed_;
  std::array<absl::flat_hash_set<std::string>, 3> changed_;  // Market, Bet, FlaggedWallet keys.
};

// The column lists of the four tables, as in the seed.
const TableRows& EmptyTable(Projection p);

}  // namespace ledger

#endif  // LEDGER_PROJECTIONS_PROJECTOR_H_
