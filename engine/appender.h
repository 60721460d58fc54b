// Appender: `ledger append`: validated, exactly-once, batched appends of JSON Lines to the log.
//
// Each batch is one transaction under the log lock (LogStore): catch up on rows other writers
// committed, decode and validate each line against the state so far (a line sees the accepted lines
// before it), then write the accepted rows with COPY and commit. A crash loses at most the batch in
// flight, and re-running the same input writes each event exactly once (idempotency identities).
#ifndef LEDGER_ENGINE_APPENDER_H_
#define LEDGER_ENGINE_APPENDER_H_

#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "boost/json.hpp"
#include "engine/error_codes.h"
#include "engine/event_codec.h"
#include "engine/fold_snapshot.h"
#include "engine/pg/database.h"
#include "engine/retry.h"
#include "engine/sequencer.h"
#include "engine/time_format.h"

namespace ledger {

// Lines per batch transaction. 2000 events (~1 MB of COPY data) amortize the commit's fsync and the
// lock round trips to well under 1% of the batch, while a crash loses at most a few ms of work.
inline constexpr int64_t kBatchEventsDefault = 2000;
inline constexpr int64_t kBatchEventsMax = 100000;

// Sees every row of the log in order, inside the append transactions: how `append --inline` keeps
// the projections in the same transaction as the events (projections/runner.h implements it).
class AppendObserver {
 public:
  virtual ~AppendObserver() = default;
  // Called for every row: first the committed log, then each batch's rows from other writers and
  // its own accepted rows, in position order.
  virtual absl::Status OnRow(const LoggedEvent& row) = 0;
  // Called inside each batch transaction after its rows are written, before COMMIT.
  virtual absl::Status BeforeCommit(pg::Database* store) = 0;
  // After an outage, on the new connection: forget every row seen so far (some were never
  // committed); the log is then replayed from the start through OnRow.
  virtual absl::Status Reset(pg::Database* store) = 0;
};

struct AppendSummary;

// One input line: Run reads them from a stream, a service hands them over (AppendLines).
struct InputLine {
  int64_t number = 0;  // 1-based, as results name it.
  std::string text;
  bool too_long = false;  // Cut by the reader: `text` is empty, `length` what it was.
  size_t length = 0;
  // Consecutive lines with the same nonzero group are accepted together or not at all: when one is
  // rejected, the others are rejected ATOMIC_REQUEST_REJECTED (`?atomic=true`). 0: on its own.
  int64_t group = 0;
};

// What became of one input line: `append --results`, and the answer a service gives each event.
struct LineResult {
  enum class Status : uint8_t { kAccepted, kDuplicate, kRejected };
  int64_t line = 0;
  Status status = Status::kRejected;
  // The event's position and hash. For a duplicate, those of the event already in the log; for an
  // event of a batch redone after an outage and found committed (`recovered`), those of its row.
  std::optional<int64_t> seq;
  std::optional<Sha256> hash;
  bool recovered = false;
  std::optional<Rejection> rejection;  // kRejected only.
};
std::string_view LineStatusName(LineResult::Status status);
// {"line", "status", "seq", "hash", "code", "message", "recovered"}, absent values null: the one
// shape `append --results` prints and `ledger serve` answers.
boost::json::object LineResultJson(const LineResult& result);

struct AppendOptions {
  int64_t batch_events = kBatchEventsDefault;
  // Called once per rejected line, after the batch it belongs to has committed.
  std::function<void(int64_t line_number, const Rejection&, std::string_view line)> on_reject;
  // Called for every non-blank line, in input order, after its batch has committed. Setting it
  // costs one indexed read per batch that re-sends events already in the log (their hashes).
  std::function<void(const LineResult&)> on_result;
  // Called after each batch has committed, with the totals so far (progress bars).
  std::function<void(const AppendSummary&)> on_batch;
  // Optional; must outlive the appender.
  AppendObserver* observer = nullptr;
  // Outages (engine/retry.h): attempts after a lost connection or an unknown commit outcome before
  // Run gives up (0: none), and who is told about each.
  int retries_max = kOutageRetriesMax;
  RetryObserver on_retry;
  // The clock for recordedAt of batches written in one round trip (AppendBatchInOneTrip; other
  // batches take the database server's): never behind the head's recordedAt whatever it says.
  // Tests set it; by default the system clock.
  std::function<TimeMicros()> clock = NowMicros;
  // Start the fold from the newest fold snapshot (engine/fold_snapshot.h) instead of position 0.
  // Ignored with an observer, which must see every row.
  bool use_snapshot = true;
  // Told why a fold snapshot was not used (damaged, or not of this log), and the fold began at
  // position 0 instead. Never an error: the full fold is always right, only slower.
  std::function<void(std::string_view why)> on_snapshot_skipped;
};

struct AppendSummary {
  int64_t accepted = 0;
  int64_t duplicates = 0;
  int64_t rejected = 0;
  std::optional<int64_t> first_seq;
  std::optional<int64_t> last_seq;
  // Retries after outages.
  int64_t retries = 0;
  // Events of a batch cut off by an outage (often during COMMIT, outcome unknown) that were found
  // in the log when the batch was redone: that commit had gone through (or another writer wrote the
  // same events meanwhile). Counted here, not in `duplicates`, and in no other total.
  int64_t recovered = 0;
};

class Appender {
 public:
  // `store` must outlive the appender.
  Appender(pg::Database* store, AppendOptions options);

  // Appends every line of `in`. A lost connection or an unknown commit outcome is retried
  // (options.retries_max) on a new connection: the state is re-derived from the committed log and
  // the batch redone, its committed events recognized by their identities. Other database errors,
  // and an outage that outlasts the retries, are returned (the summary still counts what was
  // committed); after kUnknown, re-running the same input resolves the outcome the same way.
  absl::Status Run(std::istream& in, AppendSummary* summary);

  // Appends `lines` as one batch, the way Run appends each of its batches (one transaction under
  // the log lock, retried after an outage), and sets `results` to every line's result in input
  // order, after COMMIT. On an error the state may hold events that were never committed: call
  // Reset() before the next batch. REQUIRES: lines.size() <= kBatchEventsMax.
  absl::Status AppendLines(const std::vector<InputLine>& lines, std::vector<LineResult>* results,
                           AppendSummary* summary);
  // A new connection, and the state folded again from the committed log: after an error that left
  // the state ahead of the log.
  absl::Status Reset() { return Restart(); }

  // Folds the rows committed since the last call (Run does this first, and again under the lock in
  // every batch). Callers that decide what to append from the state (engine/automation.h) call it,
  // read state(), then Run: one fold of the log serves both.
  absl::Status CatchUp();
  // The log as folded so far. Valid until the next call to CatchUp or Run.
  const LedgerState& state() const { return sequencer_.state(); }
  // The last position folded into state().
  int64_t head_seq() const { return sequencer_.head_seq(); }
  const Sha256& head_hash() const { return sequencer_.head_hash(); }
  // The position of the fold snapshot the fold started from (0: it started at position 0).
  int64_t snapshot_seq() const { return snapshot_seq_; }
  // Batches written in one round trip, and those that found another writer had moved the head and
  // took the long way (/metrics, tests).
  int64_t one_trip_batches() const { return one_trip_batches_; }
  int64_t one_trip_fallbacks() const { return one_trip_fallbacks_; }
  // The fold's identity filter and bytes it holds (/metrics, benches).
  const IdentityFilter& identity_filter() const { return sequencer_.identity_filter(); }

  // Saves the fold at its head as a fold snapshot, unless the newest one stored (this appender's,
  // another process's, or one a fold of the whole log did not read) is fewer than
  // `events_past_newest` events behind the head: then snapshot_seq() becomes that one's position.
  // Returns the bytes saved (0: none). Outside a batch.
  absl::StatusOr<int64_t> SaveSnapshot(int64_t events_past_newest = 1);
  // Whether the fold has come at least kFoldSnapshotTailEvents past its snapshot: the moment to
  // try SaveSnapshot(kFoldSnapshotTailEvents).
  bool SnapshotDue() const { return head_seq() - snapshot_seq_ >= kFoldSnapshotTailEvents; }

 private:
  struct LineRejection {
    int64_t number;
    Rejection rejection;
    std::string text;
  };
  // What a batch's lines came to: each line is exactly one of these.
  struct BatchOutcome {
    std::vector<LoggedEvent> rows;  // Accepted: to write.
    std::vector<LineRejection> rejections;
    int64_t duplicates = 0;
    int64_t recovered = 0;
    std::vector<LineResult> results;  // Every line's, in order, when wanted.
    bool want_results = false;
    size_t lines() const {
      return rows.size() + rejections.size() + static_cast<size_t>(duplicates + recovered);
    }
  };

  // Runs `step`; after a transient failure waits, reconnects, re-derives the state (Restart) and
  // runs it again, within options_.retries_max attempts.
  absl::Status WithRetry(const std::function<absl::Status()>& step, AppendSummary* summary);
  // After an outage: a new connection, and the state folded again from the committed log.
  absl::Status Restart();
  // Loads the newest usable fold snapshot into the new sequencer, if there is one.
  absl::Status LoadSnapshot();
  // Looks up, in the log, the batch's identities that the sequencer's filter cannot rule out.
  absl::Status LookUpIdentities(const std::vector<DecodeResult>& decoded);
  // `results`, when not null, gets every line's result. In one round trip when it can
  // (AppendBatchInOneTrip), else: BEGIN, lock, catch up, offer, COPY, COMMIT.
  absl::Status AppendBatch(const std::vector<InputLine>& lines, AppendSummary* summary,
                           std::vector<LineResult>* results);
  // The batch validated against the fold as it is and written by one statement that commits it
  // only if the stored head is still the fold's (LogStore::AppendInOneTrip). False, with the fold
  // as before, when another writer moved the head: the caller takes the long way.
  // REQUIRES: no observer; head_recorded_at_ known; lines.size() <= kOneTripRowsMax.
  absl::StatusOr<bool> AppendBatchInOneTrip(const std::vector<InputLine>& lines,
                                            AppendSummary* summary,
                                            std::vector<LineResult>* results);
  // Decodes, looks up and offers every line of the batch to the sequencer, into `batch`.
  absl::Status OfferBatch(const std::vector<InputLine>& lines, TimeMicros now, BatchOutcome* batch);
  // Decodes and offers one line of the batch (under the lock), adding it to `out`; returns what
  // became of it. Fails only on a database error.
  absl::StatusOr<LineResult> OfferLine(const InputLine& line, DecodeResult decoded, TimeMicros now,
                                       BatchOutcome* out);
  // Offers lines [begin, end) of one group, all or nothing, adding their results to `out`.
  absl::Status OfferGroup(const std::vector<InputLine>& lines, std::vector<DecodeResult>& decoded,
                          size_t begin, size_t end, TimeMicros now, BatchOutcome* out);
  // The hashes of the results that name a position but not yet its hash (events re-sent), read from
  // the batch's own rows or, in one query, from the log.
  absl::Status ResolveHashes(BatchOutcome* batch);
  // After COMMIT: the batch's counts into the summary, its rejections to options_.on_reject.
  void Report(BatchOutcome& batch, AppendSummary* summary, std::vector<LineResult>* results) const;
  absl::StatusOr<Rejection> ConflictRejection(const Sequencer::Offered& offered, const Event& event,
                                              const std::vector<LoggedEvent>& rows);

  pg::Database* store_;
  AppendOptions options_;
  Sequencer sequencer_;
  // The head under the lock when the current batch started, and while a batch is being redone after
  // an outage, the head before its first attempt (-1 otherwise): events found committed past it are
  // that batch's own.
  int64_t batch_base_seq_ = 0;
  int64_t redo_base_seq_ = -1;
  // Whether this sequencer has looked for a snapshot yet, and the one it started from.
  bool snapshot_tried_ = false;
  int64_t snapshot_seq_ = 0;
  // At or after the recordedAt of the head row (unknown after a snapshot with no rows folded past
  // it, until the first batch): the fast path's clock never runs behind it.
  std::optional<TimeMicros> head_recorded_at_;
  int64_t one_trip_batches_ = 0;
  int64_t one_trip_fallbacks_ = 0;
};

}  // namespace ledger

#endif  // LEDGER_ENGINE_APPENDER_H_
