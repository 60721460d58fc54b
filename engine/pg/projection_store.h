// ProjectionStore: the projection tables (Bet, Market, FlaggedWallet, PoolSnapshot), their
// checkpoints, PoolSnapshot retention and the rebuild's shadow swap. One of the three stores of a
// Database (database.h): projection writes share its transaction, so an inline projection commits
// with the log rows it projects. Table and column names come from the projections' own constants
// (TableRows), never from input. Not thread-safe.
#ifndef LEDGER_ENGINE_PG_PROJECTION_STORE_H_
#define LEDGER_ENGINE_PG_PROJECTION_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/event.h"
#include "engine/table_rows.h"

namespace ledger::pg {

struct Connection;

// How a projection transaction's COMMIT waits (docs/decisions.md, "Session 16").
enum class ProjectionCommit : uint8_t {
  // Waits for the WAL flush, as every transaction does by default.
  kDurable,
  // synchronous_commit off for this transaction only: COMMIT returns before its WAL is flushed. A
  // crash may lose the last such commits whole (rows and checkpoints together, never one without
  // the other), and the next catch-up writes them again from the log; their WAL follows the log
  // rows they derive from, so a recovered or promoted cluster never has projections ahead of its
  // log. What it saves is a WAL flush per catch-up commit, each waited on beside the writer's.
  kDerived,
};

class ProjectionStore {
 public:
  // REQUIRES: `conn` outlives this store (the Database owns both).
  explicit ProjectionStore(Connection* conn) : conn_(conn) {}

  // Starts a projection transaction: BEGIN and take the projection lock, so that one projector at a
  // time writes the projections. Inside an append batch, takes the projection lock in that batch
  // (always after the log lock, so the two never deadlock). kDerived (a catch-up's own transaction,
  // which holds derived rows and their checkpoints only) commits without waiting for the WAL
  // flush, in the same round trip as the lock. REQUIRES: kDerived only when no transaction is open
  // (a transaction that also holds log rows, as inline, stays kDurable).
  absl::Status BeginProjection(ProjectionCommit commit);
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
  // The PoolSnapshot retention horizon: rows created before it were trimmed on purpose. nullopt
  // when the table holds every row.
  absl::StatusOr<std::optional<TimeMicros>> SnapshotHorizon();

  // Rebuild, phase 1: copies each table's rows into an unlogged shadow table (ledger_shadow_<T>),
  // in a transaction of its own that holds no lock the live tables' readers wait on.
  absl::Status FillShadowTables(const std::vector<TableSource>& tables);
  // Rebuild, phase 2, inside a projection transaction: replaces each live table's rows with its
  // shadow's and drops the shadows (a rebuilt PoolSnapshot is whole again: its horizon goes).
  // Readers wait on the exclusive lock and then see the new rows, never an empty or partial table;
  // if the transaction fails, the live tables are as they were.
  absl::Status SwapShadowTables(const std::vector<TableSource>& tables);

  // Calls `fn` for every row of `table` in byte order of its first column (the key; COLLATE "C":
  // the order of std::string's operator<, whatever the database's collation), columns as text in
  // the order given; `timestamp_columns` are rendered like FormatPgTimestamp (microseconds always
  // shown), so rows read back compare equal to the rows a projection wrote. One streamed COPY:
  // `fn` sees one reused Row and must not use the database. For verify's comparison.
  absl::Status StreamTable(const std::string& table, const std::vector<std::string>& columns,
                           const std::vector<std::string>& timestamp_columns,
                           const std::function<absl::Status(const Row&)>& fn);

  // Waits up to `timeout_ms` for a projection commit: every write of projection checkpoints
  // notifies `ledger_projected` with the position they reached. Whether one came.
  absl::StatusOr<bool> WaitForProjection(int timeout_ms);

 private:
  absl::Status RequireProjectionTransaction(std::string_view what) const;

  Connection* conn_;
};

}  // namespace ledger::pg

#endif  // LEDGER_ENGINE_PG_PROJECTION_STORE_H_
