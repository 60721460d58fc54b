#include "feed/feed.h"

#include "absl/strings/str_split.h"
#include "engine/event_codec.h"
#include "engine/hash_chain.h"
#include "engine/retry.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"

namespace ledger {
namespace {

constexpr char kFeedKind[] = "feed";

class FeedBatch {
 public:
  FeedBatch(pg::Database* store, const FeedOptions& options, const FeedSink& sink)
      : store_(store), options_(options), sink_(sink) {}

  absl::Status Add(const LoggedEvent& row) {
    if (Wanted(row)) {
      lines_ += EncodeLoggedEventJson(row);
      lines_ += '\n';
    }
    last_seq_ = row.seq;
    return ++rows_ >= kFeedBatchEvents ? Flush() : absl::OkStatus();
  }

  // Writes the pending lines, then (durable consumer) stores the position they reach.
  absl::Status Flush() {
    if (rows_ == 0) return absl::OkStatus();
    if (!lines_.empty()) LEDGER_RETURN_IF_ERROR(sink_(lines_));
    lines_.clear();
    rows_ = 0;
    delivered_seq_ = last_seq_;
    if (options_.consumer.empty()) return absl::OkStatus();
    return store_->feed_positions().Set(kFeedKind, options_.consumer, last_seq_);
  }

  // After an outage: the rows read but not yet written are read again from the new connection.
  void DropPending() {
    lines_.clear();
    rows_ = 0;
    last_seq_ = delivered_seq_;
  }

  int64_t last_seq() const { return last_seq_; }
  void set_last_seq(int64_t seq) { last_seq_ = delivered_seq_ = seq; }

 private:
  bool Wanted(const LoggedEvent& row) const {
    if (options_.market_id && row.event.market_id != options_.market_id) return false;
    return options_.actions.empty() || options_.actions.contains(row.event.action);
  }

  pg::Database* store_;
  const FeedOptions& options_;
  const FeedSink& sink_;
  std::string lines_;
  int64_t rows_ = 0;
  int64_t last_seq_ = 0;       // The last row read.
  int64_t delivered_seq_ = 0;  // The last row written to the sink (or skipped as unwanted).
};

// Sets where the feed starts: an explicit --from (stored as the consumer's position, rewinding
// it), the consumer's stored position, or the beginning.
absl::Status Position(pg::Database* store, const FeedOptions& options, FeedBatch* batch) {
  if (options.from_seq) {
    batch->set_last_seq(std::max<int64_t>(*options.from_seq - 1, 0));
    if (options.consumer.empty()) return absl::OkStatus();
    return store->feed_positions().Set(kFeedKind, options.consumer, batch->last_seq(),
                                       /*rewind=*/true);
  }
  if (options.consumer.empty()) return absl::OkStatus();
  LEDGER_ASSIGN_OR_RETURN(int64_t stored,
                          store->feed_positions().Read(kFeedKind, options.consumer));
  batch->set_last_seq(stored);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ChainGuard> GuardAfter(pg::Database* store, int64_t seq, ChainTrust* trust) {
  if (seq == 0) return ChainGuard(0, kGenesisHash, trust);
  LEDGER_ASSIGN_OR_RETURN(auto hashes, store->log().Hashes({seq}));
  if (auto it = hashes.find(seq); it != hashes.end()) return ChainGuard(seq, it->second, trust);
  LEDGER_ASSIGN_OR_RETURN(auto head, store->log().Head());
  if (seq < head.first) {
    ChainBreak at{seq, "MISSING_POSITION",
                  StrCat("position ", seq, ", after which this feed goes on, is missing")};
    if (trust == nullptr || !trust->allow_broken) return BrokenChainError(at);
    if (!trust->first_break) trust->first_break = at;
  }
  return ChainGuard::Unanchored(seq, trust);
}

absl::Status RunFeed(pg::Database* store, const FeedOptions& options, const FeedSink& sink) {
  if (options.consumer.size() > kConsumerNameBytesMax) {
    return absl::InvalidArgumentError(StrCat("consumer name is ", options.consumer.size(),
                                             " bytes, the limit is ", kConsumerNameBytesMax));
  }
  FeedBatch batch(store, options, sink);
  Backoff backoff(options.retries_max);
  auto stopping = [&options] { return options.stop != nullptr && options.stop->load(); };
  // Until the log's end (or, following, until stopped): read, deliver, wait for appends.
  auto feed = [&]() -> absl::Status {
    LEDGER_ASSIGN_OR_RETURN(ChainGuard guard, GuardAfter(store, batch.last_seq(), options.trust));
    for (;;) {
      absl::Status scanned = store->log().Scan(batch.last_seq(), [&](const LoggedEvent& row) {
        // Asked to stop during a long catch-up: deliver what is pending and end cleanly.
        if (stopping()) return absl::CancelledError("stop");
        LEDGER_RETURN_IF_ERROR(guard.Check(row));
        return batch.Add(row);
      });
      if (!scanned.ok() && !absl::IsCancelled(scanned)) return scanned;
      LEDGER_RETURN_IF_ERROR(batch.Flush());
      if (!options.follow || stopping()) return absl::OkStatus();
      // Poll the log either way: a notification only cuts the wait short.
      LEDGER_RETURN_IF_ERROR(store->log().WaitForAppend(options.poll_ms).status());
      // A whole round since the last outage: the next one gets every attempt.
      backoff.Reset(options.on_retry);
    }
  };
  bool positioned = false;
  for (;;) {
    absl::Status status = positioned ? absl::OkStatus() : Position(store, options, &batch);
    positioned = positioned || status.ok();
    if (status.ok()) status = feed();
    if (status.ok() || !IsTransient(status)) return status;
    // An outage: what was delivered stays delivered; the rest is read again after reconnecting.
    if (!backoff.Wait(status, options.on_retry, options.stop)) {
      return stopping() ? absl::OkStatus() : status;
    }
    batch.DropPending();
    // A failed reconnect leaves the broken connection; the next round reports kUnavailable again.
    store->Reconnect().IgnoreError();
  }
}

std::optional<std::set<Action>> ParseActionList(std::string_view text, std::string* bad) {
  std::set<Action> out;
  for (absl::string_view name : absl::StrSplit(AbslView(text), ',')) {
    std::optional<Action> action = ParseAction(std::string_view(name.data(), name.size()));
    if (!action) {
      *bad = std::string(name);
      return std::nullopt;
    }
    out.insert(*action);
  }
  return out;
}

}  // namespace ledger
