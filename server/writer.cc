#include "server/writer.h"

#include <algorithm>
#include <chrono>
#include <iostream>

#include "engine/check.h"
#include "engine/error_codes.h"
#include "engine/retry.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"

namespace ledger::server {

Writer::Writer(WriterOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<Writer>> Writer::Start(WriterOptions options) {
  std::unique_ptr<Writer> writer(new Writer(std::move(options)));
  LEDGER_ASSIGN_OR_RETURN(writer->db_, pg::Database::Open(writer->options_.conn));
  writer->db_->snapshots().set_cache_dir(writer->options_.snapshot_cache_dir);
  AppendOptions append;
  append.retries_max = kBatchRetriesMax;
  append.use_snapshot = writer->options_.use_snapshot;
  append.on_snapshot_skipped = [](std::string_view why) {
    std::cerr << "ledger serve: fold snapshot not used (" << why
              << "); folding the whole log instead\n";
  };
  writer->appender_ = std::make_unique<Appender>(writer->db_.get(), std::move(append));
  LEDGER_RETURN_IF_ERROR(writer->appender_->CatchUp());
  writer->started_from_seq_ = writer->appender_->snapshot_seq();
  writer->ready_ = true;
  writer->MaybeSaveSnapshot(kFoldSnapshotTailEvents);  // A long fold now is not repeated next time.
  writer->head_seq_ = writer->appender_->head_seq();
  writer->thread_ = std::thread([w = writer.get()] {
    if (w->options_.read_only) {
      w->FollowLoop();
    } else {
      w->Loop();
    }
  });
  return writer;
}

Writer::~Writer() { Stop(); }

Admission Writer::Submit(std::vector<InputLine> lines, WriteDone done) {
  std::lock_guard<std::mutex> lock(queue_mu_);
  if (options_.read_only) return Admission::kReadOnly;
  if (stopping_) return Admission::kStopping;
  if (!ready_) return Admission::kNotReady;
  if (queued_events_ + lines.size() > options_.queue_events_max && !queue_.empty()) {
    return Admission::kQueueFull;
  }
  queued_events_ += lines.size();
  queue_.push_back(Pending{std::move(lines), std::move(done)});
  queue_cv_.notify_one();
  return Admission::kQueued;
}

void Writer::Stop() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stopping_ = true;
    queue_cv_.notify_one();
  }
  if (thread_.joinable()) {
    thread_.join();
    MaybeSaveSnapshot(kFoldSnapshotTailEvents);
  }
}

void Writer::MaybeSaveSnapshot(int64_t every) {
  // From the last attempt too: a save that fails (no privilege on fold_snapshot, say) is tried
  // again `every` events later, not after every batch.
  const int64_t since = std::max(appender_->snapshot_seq(), snapshot_attempt_seq_);
  if (options_.read_only || !ready_ || appender_->head_seq() - since < every) return;
  snapshot_attempt_seq_ = appender_->head_seq();
  const auto started = std::chrono::steady_clock::now();
  absl::StatusOr<int64_t> bytes = appender_->SaveSnapshot(every);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  if (!bytes.ok()) {
    std::cerr << "ledger serve: warning: could not save a fold snapshot: " << bytes.status()
              << "\n";
    return;
  }
  if (*bytes == 0) return;  // One fewer than `every` events old is stored already.
  std::cerr << "ledger serve: fold snapshot saved at seq " << appender_->head_seq() << " ("
            << *bytes << " bytes, " << ms << " ms)\n";
}

size_t Writer::queued_events() const {
  std::lock_guard<std::mutex> lock(queue_mu_);
  return queued_events_;
}

std::vector<Writer::Pending> Writer::TakeBatch() {
  std::unique_lock<std::mutex> lock(queue_mu_);
  queue_cv_.wait(lock, [this] { return !queue_.empty() || stopping_; });
  std::vector<Pending> batch;
  size_t events = 0;
  while (!queue_.empty() &&
         (batch.empty() || events + queue_.front().lines.size() <= kGroupCommitEventsMax)) {
    events += queue_.front().lines.size();
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  queued_events_ -= events;
  return batch;
}

void Writer::Loop() {
  for (;;) {
    std::vector<Pending> batch = TakeBatch();
    if (batch.empty()) return;  // Stopping, and everything queued is answered.
    AppendAndAnswer(batch);
    if (!ready_) Recover();
    MaybeSaveSnapshot(kServeSnapshotEveryEvents);
  }
}

void Writer::FollowLoop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_cv_.wait_for(lock, std::chrono::milliseconds(kFollowPollMs),
                         [this] { return stopping_; });
      if (stopping_) return;
    }
    // The head first, without the lock: readers wait only while there are rows to fold.
    absl::StatusOr<std::pair<int64_t, Sha256>> head = db_->log().Head();
    absl::Status status = head.status();
    if (status.ok() && head->first != appender_->head_seq()) {
      std::unique_lock<std::shared_mutex> lock(state_mu_);
      status = appender_->CatchUp();
      if (status.ok()) head_seq_ = appender_->head_seq();
    }
    if (!status.ok()) {
      ready_ = false;
      std::cerr << "ledger serve: following the log failed: " << status << "\n";
      Recover();
    }
  }
}

void Writer::AppendAndAnswer(std::vector<Pending>& batch) {
  // The batch's lines renumbered 1..n for the appender; each result gets its request's number back.
  // A request's lines marked as a group (?atomic=true) form one group of their own.
  std::vector<InputLine> lines;
  for (size_t request = 0; request < batch.size(); ++request) {
    for (InputLine& line : batch[request].lines) {
      lines.push_back(InputLine{static_cast<int64_t>(lines.size()) + 1, std::move(line.text),
                                line.too_long, line.length,
                                line.group != 0 ? static_cast<int64_t>(request) + 1 : 0});
    }
  }
  const auto started = std::chrono::steady_clock::now();
  std::vector<LineResult> results;
  absl::Status status;
  {
    std::unique_lock<std::shared_mutex> lock(state_mu_);
    AppendSummary summary;
    status = appender_->AppendLines(lines, &results, &summary);
    if (status.ok()) head_seq_ = appender_->head_seq();
    metrics_.one_trip_batches = static_cast<uint64_t>(appender_->one_trip_batches());
    metrics_.one_trip_fallbacks = static_cast<uint64_t>(appender_->one_trip_fallbacks());
  }
  metrics_.commit_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  metrics_.batch_events.Observe(static_cast<double>(lines.size()));
  if (!status.ok()) {
    ready_ = false;
    metrics_.batch_failures.fetch_add(1);
    std::cerr << "ledger serve: a batch of " << lines.size()
              << " events failed, nothing of it is known committed: " << status << "\n";
    for (Pending& p : batch) p.done(WriteOutcome{status, {}});
    return;
  }
  LEDGER_CHECK(results.size() == lines.size(), "a batch of ", lines.size(), " events got ",
               results.size(), " results");
  Count(results);
  size_t next = 0;
  for (Pending& p : batch) {
    WriteOutcome out;
    for (size_t i = 0; i < p.lines.size(); ++i, ++next) {
      out.results.push_back(std::move(results[next]));
      out.results.back().line = p.lines[i].number;
    }
    p.done(std::move(out));
  }
}

void Writer::Count(const std::vector<LineResult>& results) {
  for (const LineResult& r : results) {
    metrics_.events.Add(std::string(LineStatusName(r.status)));
    if (r.rejection) metrics_.rejections.Add(std::string(ErrorCodeName(r.rejection->code)));
  }
}

void Writer::Recover() {
  const auto outage_start = std::chrono::steady_clock::now();
  std::cerr << "ledger serve: the database is unavailable: not ready; re-deriving the state from "
               "the log every "
            << kRecoverIntervalMs << " ms until it can\n";
  // Requests queued meanwhile are answered now: they would otherwise wait for an outage to end.
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    for (Pending& p : queue_) {
      p.done(WriteOutcome{absl::UnavailableError("the database is unavailable"), {}});
    }
    queue_.clear();
    queued_events_ = 0;
  }
  for (;;) {
    absl::Status status;
    {
      std::unique_lock<std::shared_mutex> lock(state_mu_);
      status = appender_->Reset();
      if (status.ok()) head_seq_ = appender_->head_seq();
    }
    if (status.ok()) {
      std::cerr << "ledger serve: reconnected: the outage lasted "
                << std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - outage_start)
                       .count()
                << " ms; state re-derived from the log, head " << head_seq_.load() << "; ready\n";
      ready_ = true;
      return;
    }
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      if (stopping_) return;
      queue_cv_.wait_for(lock, std::chrono::milliseconds(kRecoverIntervalMs),
                         [this] { return stopping_; });
      if (stopping_) return;
    }
  }
}

}  // namespace ledger::server
