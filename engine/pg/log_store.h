// LogStore: the event log in PostgreSQL (`BetHistory`), behind the one PostgreSQL boundary.
//
// Writers append in batches. A batch is one transaction that first takes the log's advisory lock, so
// appenders never interleave inside the hash chain and commit order equals position order: a reader that
// has seen position N has seen every position below N. The lock is released by COMMIT or ROLLBACK.
//
//   ASSIGN_OR_RETURN(TimeMicros now, store.BeginAppend());
//   RETURN_IF_ERROR(store.Scan(seen_seq, ...));   // rows other writers committed meanwhile
//   RETURN_IF_ERROR(store.Write(rows));
//   RETURN_IF_ERROR(store.Commit());
//
// One LogStore owns one connection; not thread-safe.
#ifndef LEDGER_ENGINE_PG_LOG_STORE_H_
#define LEDGER_ENGINE_PG_LOG_STORE_H_

#include <functional>
#include <memory>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/event.h"
#include "engine/pg/migrations.h"
#include "engine/pg/table_rows.h"

namespace ledger::pg {

// Rows fetched per round trip when scanning the log: large enough to amortize the round trip, small
// enough (~10 MB) to keep a scan's memory flat.
inline constexpr int64_t kScanPageRows = 20000;

class LogStore {
 public:
  // Connects to `conn_string` (URI or key=value). kUnavailable when the server cannot be reached.
  static absl::StatusOr<std::unique_ptr<LogStore>> Open(const std::string& conn_string);
  ~LogStore();

  LogStore(const LogStore&) = delete;
  LogStore& operator=(const LogStore&) = delete;

  // Drops the connection (rolling back any open transaction) and opens a new one to the same server:
  // after an outage (engine/retry.h). On failure the old, broken connection stays and the next call
  // fails with kUnavailable again.
  absl::Status Reconnect();

  // Applies the migrations compiled into this binary.
  absl::Status Migrate(MigrateReport* report);
  // Creates the ledger_writer, ledger_projector and ledger_auditor roles if missing and grants each
  // exactly its privileges on this database (schema/roles.sql), in one transaction. Needs CREATEROLE
  // the first time. REQUIRES: migrated.
  absl::Status ApplyRoles();

  // Calls `fn` for every row with after_seq < seq, in position order, until `fn` fails. Reads inside the
  // open append transaction when there is one.
  absl::Status Scan(int64_t after_seq, const std::function<absl::Status(const LoggedEvent&)>& fn);

  // The same as Scan, in one streamed COPY: the server produces rows while `fn` works, so a whole-log
  // read takes about as long as the slower of the two instead of their sum. `fn` must not use this
  // store (the connection is busy with the COPY); after `fn` fails, the rest of the COPY is drained
  // unread. For the readers of the whole log: replay, verify, rebuild, audit, catch-up folds.
  absl::Status Stream(int64_t after_seq, const std::function<absl::Status(const LoggedEvent&)>& fn);

  // The row at `seq`; kNotFound when there is none.
  absl::StatusOr<LoggedEvent> Read(int64_t seq);

  // The last position and its hash (0 and the genesis hash for an empty log).
  absl::StatusOr<std::pair<int64_t, Sha256>> Head();

  // Starts a batch: BEGIN, take the log lock, and return the server's clock (UTC) for recordedAt.
  absl::StatusOr<TimeMicros> BeginAppend();
  // Writes rows with COPY inside the batch and notifies followers (delivered at COMMIT).
  // REQUIRES: BeginAppend() succeeded.
  absl::Status Write(std::span<const LoggedEvent> rows);

  // Starts a projection transaction: BEGIN and take the projection lock, so that one projector at a
  // time writes the projections. Inside an append batch, takes the projection lock in that batch
  // (always after the log lock, so the two never deadlock).
  absl::Status BeginProjection();
  // Inserts or updates (by the first column) `rows` inside the open transaction.
  absl::Status Upsert(const TableRows& rows);
  // Sets the checkpoints of `projections` to `seq` inside the open transaction (one statement), and
  // notifies `ledger_projected` with `seq` (delivered at COMMIT).
  absl::Status SetCheckpoints(const std::vector<std::string>& projections, int64_t seq);
  // Every projection's checkpoint (absent: never run).
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> ReadCheckpoints();
  // Snapshot retention, inside a projection transaction: deletes the PoolSnapshot rows created
  // before `kept_from` and records the horizon in projection_retention (never moving it back).
  // Returns the rows deleted.
  absl::StatusOr<int64_t> TrimSnapshots(TimeMicros kept_from);
  // The PoolSnapshot retention horizon: rows created before it were trimmed on purpose. nullopt when
  // the table holds every row.
  absl::StatusOr<std::optional<TimeMicros>> SnapshotHorizon();
  // Rebuild, phase 1: copies each table's rows into an unlogged shadow table (ledger_shadow_<T>), in
  // a transaction of its own that holds no lock the live tables' readers wait on.
  absl::Status FillShadowTables(const std::vector<TableSource>& tables);
  // Rebuild, phase 2, inside a projection transaction: replaces each live table's rows with its
  // shadow's and drops the shadows (a rebuilt PoolSnapshot is whole again: its horizon goes). Readers wait on the exclusive lock and then see the new rows, never
  // an empty or partial table; if the transaction fails, the live tables are as they were.
  absl::Status SwapShadowTables(const std::vector<TableSource>& tables);

  // Calls `fn` for every row of `table` in byte order of its first column (the key; COLLATE "C":
  // the order of std::string's operator<, whatever the database's collation), columns as text in
  // the order given; `timestamp_columns` are rendered like FormatPgTimestamp (microseconds always
  // shown), so rows read back compare equal to the rows a projection wrote. One streamed COPY:
  // `fn` sees one reused Row and must not use this store. For verify's comparison.
  absl::Status StreamTable(const std::string& table, const std::vector<std::string>& columns,
                           const std::vector<std::string>& timestamp_columns,
                           const std::function<absl::Status(const Row&)>& fn);

  // Durable feed positions (schema/005): `kind` is "feed" or "publish". 0 when never stored.
  absl::StatusOr<int64_t> ReadFeedPosition(const std::string& kind, const std::string& name);
  // Stores a position in its own transaction. Moves forward only, unless `rewind` (an explicit
  // `feed --from`), so that a slower duplicate of a consumer never moves it back.
  absl::Status SetFeedPosition(const std::string& kind, const std::string& name, int64_t seq,
                               bool rewind = false);

  // Waits up to `timeout_ms` for a notification that rows were appended; returns whether one came.
  // (Callers poll the log after a timeout anyway: the notification only cuts latency.)
  absl::StatusOr<bool> WaitForAppend(int timeout_ms);
  // The same for projection commits: every write of projection checkpoints notifies
  // `ledger_projected` with the position they reached (docs/architecture.md).
  absl::StatusOr<bool> WaitForProjection(int timeout_ms);

  // COMMIT. kUnknown when the connection dropped during COMMIT: the caller must not guess.
  absl::Status Commit();
  // ROLLBACK, if a transaction is open. Never fails.
  void Abort();

 private:
  struct Impl;
  explicit LogStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ledger::pg

#endif  // LEDGER_ENGINE_PG_LOG_STORE_H_
