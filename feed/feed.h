// The change feed: the log's rows as JSON Lines, in position order, for other services
// (docs/feed.md).
//
// A feed reads committed rows by position. Positions are assigned under the append lock and become
// visible in order (the lock is held until COMMIT), so a reader that asks for "everything after N"
// never sees N+2 before N+1: no skipped or reordered event, even with concurrent appenders. A
// durable consumer keeps its position in feed_position and moves it only after the sink has written
// (and flushed) every line up to it: at-least-once delivery, with `seq` as the consumer's
// idempotency key.
//
//   FeedOptions options{.from_seq = 1, .follow = true, .consumer = "risk"};
//   RETURN_IF_ERROR(RunFeed(store, options, [](std::string_view lines) { return WriteAll(lines);
//   }));
//
// Not thread-safe; `store` is used for the duration of the call.
#ifndef LEDGER_FEED_FEED_H_
#define LEDGER_FEED_FEED_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "engine/chain_guard.h"
#include "engine/event.h"
#include "engine/pg/database.h"
#include "engine/retry.h"

namespace ledger {

// Rows per write to the sink (and per position update of a durable consumer): about 0.5 MB of JSON,
// one flush and one small transaction per thousand events.
inline constexpr int64_t kFeedBatchEvents = 1000;
// How long a follower waits for a notification before polling the log anyway.
inline constexpr int kFeedPollMs = 200;
// Consumer names are keys in feed_position (schema/005).
inline constexpr size_t kConsumerNameBytesMax = 200;

struct FeedOptions {
  // The first position to deliver (1 = from the beginning). For a durable consumer, nullopt resumes
  // after its stored position; a value rewinds or skips it explicitly.
  std::optional<int64_t> from_seq;
  bool follow = false;
  // Only rows of this market / these actions are written; positions still advance past the others.
  std::optional<std::string> market_id;
  std::set<Action> actions;  // Empty: all.
  // Durable consumer name; empty for none.
  std::string consumer;
  // Checked between batches when following; the feed returns OK once it is set.
  const std::atomic<bool>* stop = nullptr;
  // Milliseconds a follower waits for a notification before polling (tests shorten it).
  int poll_ms = kFeedPollMs;
  // Outages (engine/retry.h): attempts after a lost connection before the feed gives up, and who is
  // told about each. Lines already written are never written again; the rest is read again.
  int retries_max = kOutageRetriesMax;
  RetryObserver on_retry;
  // Every row is checked against the chain before it is written (engine/chain_guard.h); null: a
  // broken chain ends the feed with a broken-chain error. Must outlive the call.
  ChainTrust* trust = nullptr;
};

// Writes `lines` (one or more complete JSON Lines) and flushes them; an error ends the feed.
using FeedSink = std::function<absl::Status(std::string_view lines)>;

// Delivers the feed to `sink` until the log's end, or, when following, until `stop`.
absl::Status RunFeed(pg::Database* store, const FeedOptions& options, const FeedSink& sink);

// A chain guard for a reader that goes on after position `seq` (engine/chain_guard.h), anchored
// on that row's hash. When the row is not in the log: past the head, the first row's own prevHash
// is the anchor (nothing to compare it with yet); below the head, the row is missing, and that is
// a break. The feed and the JetStream publisher use it.
absl::StatusOr<ChainGuard> GuardAfter(pg::Database* store, int64_t seq, ChainTrust* trust);

// "PLACED,CONFIRMED" -> the actions; nullopt (with the bad name in *bad) when one is unknown.
std::optional<std::set<Action>> ParseActionList(std::string_view text, std::string* bad);

}  // namespace ledger

#endif  // LEDGER_FEED_FEED_H_
