// Database: one connection to the ledger's PostgreSQL database, the transaction open on it, and the
// three stores that work through it:
//   log()             the event log, BetHistory (log_store.h)
//   projections()     Bet, Market, FlaggedWallet, PoolSnapshot, their checkpoints, retention and
//                     the rebuild's shadow swap (projection_store.h)
//   feed_positions()  where durable feed consumers and publishers resume (feed_position_store.h)
//   snapshots()       fold snapshots the appender starts from (snapshot_store.h)
// They share the transaction, so an inline projection commits with the log rows it projects:
//
//   ASSIGN_OR_RETURN(TimeMicros now, db->log().BeginAppend());
//   pg::TransactionGuard tx(db);           // rolls back unless committed
//   RETURN_IF_ERROR(db->log().Write(rows));
//   RETURN_IF_ERROR(db->projections().Upsert(bets));
//   RETURN_IF_ERROR(tx.Commit());
//
// One Database owns one connection; not thread-safe. The stores live as long as their Database.
#ifndef LEDGER_ENGINE_PG_DATABASE_H_
#define LEDGER_ENGINE_PG_DATABASE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/pg/feed_position_store.h"
#include "engine/pg/log_store.h"
#include "engine/pg/migrations.h"
#include "engine/pg/projection_store.h"
#include "engine/pg/snapshot_store.h"
#include "engine/pg/standby.h"

namespace ledger::pg {

struct Connection;

class Database {
 public:
  // Connects to `conn_string` (URI or key=value). kUnavailable when the server cannot be reached.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& conn_string);
  ~Database();

  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Drops the connection (rolling back any open transaction) and opens a new one to the same
  // server: after an outage (engine/retry.h). On failure the old, broken connection stays and the
  // next call fails with kUnavailable again.
  absl::Status Reconnect();

  // Whether the server was a hot standby (in recovery, read-only) when this Database connected.
  bool is_standby() const;
  // On a hot standby, what it has replayed and the log head it holds (standby.h), asked now;
  // nullopt on a primary.
  absl::StatusOr<std::optional<StandbyStatus>> ReadStandbyStatus();

  // Applies the migrations compiled into this binary.
  absl::Status Migrate(MigrateReport* report);
  // Creates the ledger_writer, ledger_projector and ledger_auditor roles if missing and grants each
  // exactly its privileges on this database (schema/roles.sql), in one transaction. Needs
  // CREATEROLE the first time. REQUIRES: migrated.
  absl::Status ApplyRoles();

  // COMMIT of the open transaction. kUnknown when the connection dropped during COMMIT: the caller
  // must not guess.
  absl::Status Commit();
  // ROLLBACK, if a transaction is open. Never fails.
  void Abort();

  LogStore& log() { return log_; }
  ProjectionStore& projections() { return projections_; }
  FeedPositionStore& feed_positions() { return feed_positions_; }
  SnapshotStore& snapshots() { return snapshots_; }

 private:
  explicit Database(std::unique_ptr<Connection> conn);

  std::unique_ptr<Connection> conn_;
  LogStore log_;
  ProjectionStore projections_;
  FeedPositionStore feed_positions_;
  SnapshotStore snapshots_;
};

// Rolls the open transaction back when it goes out of scope, unless Commit() was called: the one
// way this codebase ends a transaction on an error path.
class TransactionGuard {
 public:
  explicit TransactionGuard(Database* db) : db_(db) {}
  ~TransactionGuard() {
    if (db_ != nullptr) db_->Abort();
  }
  TransactionGuard(const TransactionGuard&) = delete;
  TransactionGuard& operator=(const TransactionGuard&) = delete;

  // Database::Commit(); afterwards the guard does nothing.
  absl::Status Commit() {
    Database* db = db_;
    db_ = nullptr;
    return db->Commit();
  }

 private:
  Database* db_;
};

}  // namespace ledger::pg

#endif  // LEDGER_ENGINE_PG_DATABASE_H_
