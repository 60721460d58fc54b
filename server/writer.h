// Writer: the service's one sequencer, with group commit.
//
// Requests are queued (bounded, in events). One thread takes everything queued, up to a batch
// limit, and appends it as one batch (engine/appender.h: validated in arrival order against the
// state so far, written under the log lock, one COMMIT), then answers every request of the batch.
// Batches form while the previous commit is in flight; nothing waits on a timer, so a lone request
// is committed at once and 32 concurrent ones share a few fsyncs.
//
// Reads see the fold at the last commit: the writer holds the state exclusively from the first
// event it offers until COMMIT, so no reader sees an event that is not yet durable.
//
// After a failed batch (the database went away for longer than the quick retries), every request
// of that batch is answered with the error (nothing of it is known committed: a client retries
// with the same eventIds, and the identities settle it), the writer is not ready, and it re-derives
// its state from the committed log until that succeeds.
//
// Thread-safety: every public method may be called from any thread.
#ifndef LEDGER_SERVER_WRITER_H_
#define LEDGER_SERVER_WRITER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/appender.h"
#include "engine/pg/database.h"
#include "server/metrics.h"

namespace ledger::server {

// Events one request may carry: a batch of a backend's queue, and the most one commit takes.
inline constexpr size_t kRequestEventsMaxDefault = 2000;
// Events one commit takes at most: the appender's own batch, ~1 MB of COPY.
inline constexpr size_t kGroupCommitEventsMax = 2000;
// Events waiting for the writer. At ~20k events/s of commits this is half a second of work: past
// it, a client is told 503 with Retry-After instead of waiting in a queue that only grows.
inline constexpr size_t kQueueEventsMaxDefault = 10000;
// Quick retries inside a batch after a lost connection (engine/retry.h's backoff: 100 + 200 ms):
// a blip is ridden out; a real outage is answered 503 within a second, not after a minute.
inline constexpr int kBatchRetriesMax = 2;
// While the database is away, the writer tries to re-derive its state this often.
inline constexpr int kRecoverIntervalMs = 1000;

// While serving, a fold snapshot is saved each time the fold has come this far past the last one
// (engine/fold_snapshot.h): at 10M events the write pauses the writer for about a second, so not
// often; on stopping, kFoldSnapshotTailEvents is enough.
inline constexpr int64_t kServeSnapshotEveryEvents = 1000000;

struct WriterOptions {
  std::string conn;
  size_t queue_events_max = kQueueEventsMaxDefault;
  bool use_snapshot = true;        // Start from the newest fold snapshot.
  std::string snapshot_cache_dir;  // Local copies of fold snapshots; empty: none.
  // `serve --read-only` (on a hot standby, say): takes no requests (Submit says kReadOnly), saves
  // no fold snapshot, and folds what the primary commits every kFollowPollMs instead.
  bool read_only = false;
};

// How often a read-only writer looks for rows committed elsewhere: a standby cannot LISTEN.
inline constexpr int kFollowPollMs = pg::kStandbyPollMs;

struct WriteOutcome {
  absl::Status status;              // Not OK: nothing of the request is known committed.
  std::vector<LineResult> results;  // One per event, in request order, when status is OK.
};
using WriteDone = std::function<void(WriteOutcome)>;

enum class Admission : uint8_t { kQueued, kQueueFull, kNotReady, kStopping, kReadOnly };

// What the writer counts, for /metrics.
struct WriterMetrics {
  Histogram batch_events{"ledger_commit_batch_events", "Events per group-commit batch.",
                         kBatchSizeBuckets};
  Histogram commit_seconds{"ledger_commit_seconds",
                           "Time from taking a batch to its COMMIT, seconds.",
                           kLatencyBucketsSeconds};
  LabeledCounter events{"ledger_events_total", "Events answered, by result.", "result"};
  LabeledCounter rejections{"ledger_rejections_total", "Rejected events, by error code.", "code"};
  std::atomic<uint64_t> batch_failures{0};
  // Batches written in one round trip, and those that found the head moved by another writer and
  // were redone the long way (Appender::one_trip_batches and one_trip_fallbacks).
  std::atomic<uint64_t> one_trip_batches{0};
  std::atomic<uint64_t> one_trip_fallbacks{0};
};

class Writer {
 public:
  // Connects, folds the committed log, and starts the writer thread.
  static absl::StatusOr<std::unique_ptr<Writer>> Start(WriterOptions options);
  ~Writer();

  // Queues a request; `done` is called once, on the writer thread, after its batch committed (or
  // failed). Not queued (and `done` not called) unless kQueued. Lines with a nonzero `group` are
  // applied all together or not at all (InputLine::group), as one group per request.
  Admission Submit(std::vector<InputLine> lines, WriteDone done);

  // Stops taking requests, appends and answers everything already queued, and joins the thread.
  void Stop();

  // Calls `fn(state, head_seq, head_hash)` on the fold at the last commit.
  template <typename F>
  auto Read(F&& fn) const {
    std::shared_lock<std::shared_mutex> lock(state_mu_);
    return fn(appender_->state(), appender_->head_seq(), appender_->head_hash());
  }

  bool ready() const { return ready_.load(); }
  int64_t head_seq() const { return head_seq_.load(); }
  // The fold snapshot the start folded from (0: it folded the whole log).
  int64_t started_from_seq() const { return started_from_seq_; }
  size_t queued_events() const;
  const WriterMetrics& metrics() const { return metrics_; }

 private:
  struct Pending {
    std::vector<InputLine> lines;
    WriteDone done;
  };

  explicit Writer(WriterOptions options);
  void Loop();
  // The read-only writer's loop: folds new rows until stopping.
  void FollowLoop();
  // Takes queued requests up to kGroupCommitEventsMax events (at least one request); empty when
  // stopping with nothing queued.
  std::vector<Pending> TakeBatch();
  void AppendAndAnswer(std::vector<Pending>& batch);
  void Recover();
  void Count(const std::vector<LineResult>& results);
  // Saves a fold snapshot when the fold has come `every` events past the last one. On the writer
  // thread, or after it has stopped; a failure is only logged.
  void MaybeSaveSnapshot(int64_t every);

  WriterOptions options_;
  std::unique_ptr<pg::Database> db_;
  std::unique_ptr<Appender> appender_;
  int64_t started_from_seq_ = 0;
  int64_t snapshot_attempt_seq_ = 0;    // The head at the last MaybeSaveSnapshot that tried.
  mutable std::shared_mutex state_mu_;  // Exclusive from offering a batch to its COMMIT.

  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Pending> queue_;
  size_t queued_events_ = 0;
  bool stopping_ = false;

  std::atomic<bool> ready_{false};
  std::atomic<int64_t> head_seq_{0};
  WriterMetrics metrics_;
  std::thread thread_;
};

}  // namespace ledger::server

#endif  // LEDGER_SERVER_WRITER_H_
