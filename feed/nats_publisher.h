// `ledger publish`: the log published to a NATS JetStream stream, each event exactly once and in
// log order, so that other services scale out on NATS instead of polling PostgreSQL (docs/feed.md).
//
// Exactly-once rests on three things, none of which is a guess:
//  1. Every message carries its log position as `Nats-Msg-Id`, and each one is published with
//     `Nats-Expected-Last-Msg-Id` = the previous position: JetStream refuses a message that does
//     not extend the stream's last one, so the stream can never hold a gap or a reordering, even
//     with pipelined (asynchronous) publishes or two publishers at once.
//  2. On start (and after any failure) the publisher resumes after the stream's own last message,
//     read from JetStream: a crash between JetStream's acknowledgement and the checkpoint cannot
//     cause a re-publish, whatever the stream's duplicate window.
//  3. The published-position checkpoint (feed_position, kind "publish") only moves after JetStream
//     acknowledged every message up to it; it lets operators see progress, and it must never be
//     ahead of the stream (if it is, the stream lost messages and publish refuses to go on).
//
// Not thread-safe; `store` is used for the duration of the call. The only file that includes
// nats.h.
#ifndef LEDGER_FEED_NATS_PUBLISHER_H_
#define LEDGER_FEED_NATS_PUBLISHER_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "engine/pg/database.h"
#include "engine/retry.h"

namespace ledger {

// Messages in flight before the publisher waits for their acknowledgements and moves the
// checkpoint: enough to keep the pipe to the server full (each ack is ~50 us of round trip), few
// enough that a failure re-sends little.
inline constexpr int64_t kPublishWindow = 1000;
// JetStream's replicas limit.
inline constexpr int kStreamReplicasMax = 5;
// A JetStream stream's duplicate window: Nats-Msg-Id dedup for concurrent publishers (exactly-once
// does not depend on it, see above).
inline constexpr int64_t kStreamDuplicateWindowSeconds = 120;
// Stream names and subject prefixes are short identifiers.
inline constexpr size_t kStreamNameBytesMax = 64;
inline constexpr size_t kSubjectPrefixBytesMax = 100;
// How long a follower waits for a notification before polling the log anyway.
inline constexpr int kPublishPollMs = 200;

struct PublishOptions {
  std::string nats_url;
  std::string stream = "LEDGER";
  // Messages go to "<prefix>.<marketId>.<ACTION>" (docs/feed.md for the escaping of market ids).
  std::string subject_prefix = "ledger";
  int replicas = 1;  // For a new stream; an existing stream keeps its own.
  bool follow = false;
  const std::atomic<bool>* stop = nullptr;
  // Failures (NATS or PostgreSQL connection lost, a server restarted, a refused publish) are
  // retried with engine/retry.h's backoff, at most `retries_max` times; `on_retry` is told before
  // each wait.
  int retries_max = kOutageRetriesMax;
  RetryObserver on_retry;
};

struct PublishSummary {
  int64_t resumed_after = 0;  // The stream's last position when publishing started.
  int64_t published = 0;      // Messages JetStream stored in this run.
  int64_t duplicates = 0;     // Messages JetStream recognised as already stored.
  int64_t position = 0;       // The last position acknowledged.
};

// Stream name: letters, digits, '-' and '_'; prefix: such tokens joined by '.'.
absl::Status ValidatePublishOptions(const PublishOptions& options);

// "<prefix>.<marketId>.<ACTION>", the market id's bytes outside [A-Za-z0-9_-] as %XX (so '.', '*',
// '>' and spaces never split or wildcard a subject, and distinct ids stay distinct).
std::string SubjectFor(const std::string& prefix, const std::string& market_id,
                       std::string_view action);

// Publishes the log after the stream's last message, until the log's end or (following) `stop`.
// Creates the stream when missing (file storage, `replicas`, subjects "<prefix>.>").
absl::Status Publish(pg::Database* store, const PublishOptions& options, PublishSummary* summary);

}  // namespace ledger

#endif  // LEDGER_FEED_NATS_PUBLISHER_H_
