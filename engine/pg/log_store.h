// LogStore: the event log in PostgreSQL (`BetHistory`), behind the one PostgreSQL boundary. One of
// the three stores of a Database (database.h), sharing its connection and transaction.
//
// Writers append in batches. A batch is one transaction that first takes the log's advisory lock,
// so appenders never interleave inside the hash chain and commit order equals position order: a
// reader that has seen position N has seen every position below N. The lock is released by COMMIT
// or ROLLBACK.
//
//   ASSIGN_OR_RETURN(TimeMicros now, db->log().BeginAppend());
//   TransactionGuard tx(db);
//   RETURN_IF_ERROR(db->log().Scan(seen_seq, ...));   // rows other writers committed meanwhile
//   RETURN_IF_ERROR(db->log().Write(rows));
//   RETURN_IF_ERROR(tx.Commit());
//
// Write checks that its rows continue the stored head, position by position and link by link
// (CheckLink, hash_chain.h); every reader of the log checks the same links again after reading.
// Not thread-safe.
#ifndef LEDGER_ENGINE_PG_LOG_STORE_H_
#define LEDGER_ENGINE_PG_LOG_STORE_H_

#include <functional>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/event.h"

namespace ledger::pg {

struct Connection;

// Rows fetched per round trip when scanning the log: large enough to amortize the round trip, small
// enough (~10 MB) to keep a scan's memory flat.
inline constexpr int64_t kScanPageRows = 20000;

// The most rows AppendInOneTrip takes: they travel as one JSON parameter, which PostgreSQL parses
// more slowly than COPY text; past a few dozen rows the round trips COPY costs are the smaller
// part.
inline constexpr size_t kOneTripRowsMax = 64;

// Which rows a look-up selects (GET /v1/events with filters; docs/indexes.md names the index of
// schema/009 that serves each): every given condition holds. Times are event times (createdAt),
// `from` inclusive, `until` exclusive.
struct LogFilter {
  std::optional<std::string> bet_id;  // The bet's stream, "bet:<betId>".
  std::optional<std::string> market_id;
  std::optional<std::string> wallet;
  std::vector<Action> actions;  // Empty: every action.
  std::optional<TimeMicros> from;
  std::optional<TimeMicros> until;
};

class LogStore {
 public:
  // REQUIRES: `conn` outlives this store (the Database owns both).
  explicit LogStore(Connection* conn) : conn_(conn) {}

  // Calls `fn` for every row with after_seq < seq, in position order, until `fn` fails. Reads
  // inside the open transaction when there is one, so `fn` may write between pages.
  absl::Status Scan(int64_t after_seq, const std::function<absl::Status(const LoggedEvent&)>& fn);

  // The same as Scan, in one streamed COPY: the server produces rows while `fn` works, so a
  // whole-log read takes about as long as the slower of the two instead of their sum. `fn` must not
  // use the database (the connection is busy with the COPY); after `fn` fails, the rest of the COPY
  // is drained unread. For the readers of the whole log: replay, verify, rebuild, audit, catch-up
  // folds.
  absl::Status Stream(int64_t after_seq, const std::function<absl::Status(const LoggedEvent&)>& fn);

  // The row at `seq`; kNotFound when there is none.
  absl::StatusOr<LoggedEvent> Read(int64_t seq);

  // The row with this identity key (the UNIQUE "identityKey" index); kNotFound when there is none.
  absl::StatusOr<LoggedEvent> FindByIdentity(const std::string& identity_key);
  // The positions of a stream's rows ("bet:<betId>", ...) in stream order.
  absl::StatusOr<std::vector<int64_t>> StreamSeqs(const std::string& stream_id);
  // The PLACED rows of `wallet` past position `after_seq`, by position, at most `limit`: (seq,
  // betId) pairs.
  absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> WalletBets(const std::string& wallet,
                                                                          int64_t after_seq,
                                                                          int64_t limit);

  // The rows `filter` selects past position `after_seq`, by position, at most `limit` (one query).
  absl::StatusOr<std::vector<LoggedEvent>> Find(const LogFilter& filter, int64_t after_seq,
                                                int64_t limit);

  // The hashes of the rows at `seqs` (one indexed query), inside the open transaction when there is
  // one; a position with no row is absent from the result.
  absl::StatusOr<absl::flat_hash_map<int64_t, Sha256>> Hashes(const std::vector<int64_t>& seqs);

  // The rows whose identity keys are among `keys` (one query on the UNIQUE index), inside the
  // open transaction when there is one; a key with no row has none in the result.
  absl::StatusOr<std::vector<LoggedEvent>> FindIdentities(const std::vector<std::string>& keys);

  // The last position and its hash (0 and the genesis hash for an empty log).
  absl::StatusOr<std::pair<int64_t, Sha256>> Head();

  // Starts a batch: BEGIN, take the log lock, and return the server's clock (UTC) for recordedAt.
  // Also reads the stored head, which Write's rows must continue.
  absl::StatusOr<TimeMicros> BeginAppend();
  // The stored head position as BeginAppend read it under the lock: when it equals the writer's
  // own head, nobody else committed since, and there is nothing to catch up on.
  int64_t batch_head_seq() const { return batch_head_seq_; }
  // Writes rows with COPY inside the batch and notifies followers (delivered at COMMIT). A
  // broken-chain error (engine/chain_guard.h) when the first row does not continue the stored head
  // (the head row was altered after this writer read it); a batch whose rows do not continue each
  // other is a programmer error (LEDGER_CHECK).
  // REQUIRES: BeginAppend() succeeded.
  absl::Status Write(std::span<const LoggedEvent> rows);

  // Appends `rows` in one round trip, outside any transaction (schema/007's ledger_append_rows):
  // takes the log lock, and when the stored head is still (`head_seq`, `head_hash`), the head the
  // rows continue, inserts them, notifies followers and commits; returns true. False, with nothing
  // written, when another writer moved the head meanwhile. A broken-chain error when the head row
  // is there but no longer has `head_hash`; kUnknown when the connection dropped during the call
  // (the commit may have happened). With no rows it only tells whether the head is still there.
  // REQUIRES: no open transaction; the rows continue each other from (`head_seq`, `head_hash`)
  // (LEDGER_CHECK); rows.size() <= kOneTripRowsMax.
  absl::StatusOr<bool> AppendInOneTrip(int64_t head_seq, const Sha256& head_hash,
                                       std::span<const LoggedEvent> rows);

  // Waits up to `timeout_ms` for a notification that rows were appended; returns whether one came.
  // (Callers poll the log after a timeout anyway: the notification only cuts latency.)
  absl::StatusOr<bool> WaitForAppend(int timeout_ms);

 private:
  Connection* conn_;
  // The stored head as BeginAppend read it, moved on by Write; valid inside a batch.
  int64_t batch_head_seq_ = 0;
  Sha256 batch_head_hash_{};
};

}  // namespace ledger::pg

#endif  // LEDGER_ENGINE_PG_LOG_STORE_H_
