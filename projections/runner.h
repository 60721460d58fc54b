// The three ways to run the projections, on one code path (Projector):
//
//   CatchUp   `ledger project`: fold the log, write what is past each projection's checkpoint, in
//             transactions that also move the checkpoints; `Follow` keeps doing it as rows arrive.
//   Inline    `ledger append --inline`: the same writes inside each append batch's transaction.
//   Rebuild   `ledger rebuild`: fold the whole log, COPY every row into shadow tables, swap them
//   in.
//
// Every write happens under the projection lock, and writes a projection only when the writer's
// fold is ahead of that projection's checkpoint (read under the lock), so concurrent projectors
// never move a table backwards.
#ifndef LEDGER_PROJECTIONS_RUNNER_H_
#define LEDGER_PROJECTIONS_RUNNER_H_

#include <atomic>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/appender.h"
#include "engine/chain_guard.h"
#include "engine/pg/database.h"
#include "engine/retry.h"
#include "projections/projector.h"

namespace ledger {

// Rows a catch-up folds between two writes: large enough that the write's round trips are
// amortized, small enough that one transaction stays short (about a second of work).
inline constexpr int64_t kProjectBatchEvents = 20000;
// How long a follower waits for a notification before polling the log anyway (the fallback for
// poolers that drop LISTEN, and for lost notifications).
inline constexpr int kFollowPollMs = 500;
// A follower re-applies snapshot retention when its horizon has moved by this much: snapshots are
// minutes apart, so trimming more often would only take the projection lock for nothing.
inline constexpr TimeMicros kRetentionStepMicros = 60LL * 1000000;

// Checkpoints of all four projections (0 where never run).
absl::StatusOr<std::array<int64_t, kProjectionCount>> LoadCheckpoints(pg::Database* store);

// Writes `projector`'s changes for every projection whose checkpoint (read under the lock) is
// behind the projector's head, and moves those checkpoints to the head. REQUIRES: a projection
// transaction is open (store->projections().BeginProjection()).
absl::Status WriteChanges(pg::Database* store, Projector& projector);

class CatchUpRunner {
 public:
  // `store` must outlive the runner, and so must `trust` (null: a broken chain is an error;
  // engine/chain_guard.h). Every row is checked against the chain before it is applied.
  CatchUpRunner(pg::Database* store, ProjectorOptions options, ChainTrust* trust = nullptr);

  // Applies everything committed so far; returns the rows applied by this call.
  absl::StatusOr<int64_t> RunOnce();
  // RunOnce, then waits for appends and repeats until `stop` becomes true. A lost connection is
  // retried with backoff (engine/retry.h), `on_retry` told before each wait: the fold is thrown
  // away and re-derived from the checkpoints, so nothing is applied twice or skipped.
  absl::Status Follow(const std::atomic<bool>& stop, const RetryObserver& on_retry = {},
                      int retries_max = kOutageRetriesMax);

  // PoolSnapshot rows deleted by retention (options.snapshot_retention) so far.
  int64_t snapshots_trimmed() const { return snapshots_trimmed_; }

  // Where the projector has folded to, stored in `*folded` as each row is applied (0 when it starts
  // over): the projector folds the log from its start, so after a restart the checkpoints can be
  // at the head while new rows wait for the refold. For a watcher on another thread (serve's
  // /metrics); must outlive the runner.
  void set_progress(std::atomic<int64_t>* folded) { progress_ = folded; }

  // Whether a fold starts from the newest fold snapshot at or before every checkpoint
  // (engine/fold_snapshot.h) instead of position 0: the default. The rows before the snapshot are
  // then not chain-checked again by this runner (`ledger verify` checks the whole chain). Told,
  // when set, why a snapshot was not used (then the fold begins at position 0: only slower).
  void set_use_snapshot(bool use) { use_snapshot_ = use; }
  void set_on_snapshot_skipped(std::function<void(std::string_view why)> f) {
    on_snapshot_skipped_ = std::move(f);
  }
  // Where the current fold began: the fold snapshot's position, or 0.
  int64_t fold_started_at() const { return fold_started_at_; }

 private:
  // A new projector for `checkpoints`, from a fold snapshot when one is usable.
  absl::Status StartFold(const std::array<int64_t, kProjectionCount>& checkpoints);
  absl::Status Flush();
  // Inside the open projection transaction: deletes the snapshots older than the retention horizon.
  absl::Status Trim();
  TimeMicros trimmed_to_ = 0;
  int64_t snapshots_trimmed_ = 0;
  pg::Database* store_;
  ProjectorOptions options_;
  ChainTrust* trust_;
  std::optional<Projector> projector_;
  std::optional<ChainGuard> guard_;  // Follows the rows the projector folds.
  int64_t pending_ = 0;
  std::atomic<int64_t>* progress_ = nullptr;
  bool use_snapshot_ = true;
  std::function<void(std::string_view)> on_snapshot_skipped_;
  int64_t fold_started_at_ = 0;
};

// AppendObserver for `append --inline`.
class InlineProjection : public AppendObserver {
 public:
  explicit InlineProjection(ProjectorOptions options) : options_(options) {}
  // Reads the checkpoints; call before the appender runs.
  absl::Status Init(pg::Database* store);
  absl::Status OnRow(const LoggedEvent& row) override;
  absl::Status BeforeCommit(pg::Database* store) override;
  absl::Status Reset(pg::Database* store) override { return Init(store); }

 private:
  ProjectorOptions options_;
  std::optional<Projector> projector_;
};

struct RebuildProgress {
  int64_t events = 0;
  int64_t total = 0;
};

// Rebuilds `only` (all four when empty) from the whole log. `progress` is called now and then.
absl::Status Rebuild(pg::Database* store, ProjectorOptions options,
                     const std::vector<Projection>& only,
                     const std::function<void(const RebuildProgress&)>& progress = {},
                     ChainTrust* trust = nullptr);

}  // namespace ledger

#endif  // LEDGER_PROJECTIONS_RUNNER_H_
