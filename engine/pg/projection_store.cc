#include "engine/pg/projection_store.h"

#include <algorithm>
#include <pqxx/pqxx>
#include <pqxx/stream_from>
#include <pqxx/tablewriter>

#include "boost/json.hpp"
#include "engine/check.h"
#include "engine/pg/connection.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"

// tablewriter is deprecated in libpqxx 6.4, but its write_raw_line is the only public way to send
// COPY rows we escaped ourselves; stream_to cannot take optional columns from a runtime container.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace ledger::pg {
namespace {

namespace json = boost::json;

// The advisory lock that serializes projection writers ("LEDGPROJ").
constexpr int64_t kProjectionLockKey = 0x4c45444750524f4a;
// NOTIFY channel on which projection writers announce the position their checkpoints reached.
constexpr char kProjectionChannel[] = "ledger_projected";

// The columns, quoted, timestamps as to_char(..., 'YYYY-MM-DD HH24:MI:SS.US') so that they read
// back like FormatPgTimestamp writes them.
std::string SelectList(const std::vector<std::string>& columns,
                       const std::vector<std::string>& timestamp_columns) {
  std::string select;
  for (const std::string& c : columns) {
    if (!select.empty()) select += ", ";
    const bool is_time =
        std::find(timestamp_columns.begin(), timestamp_columns.end(), c) != timestamp_columns.end();
    select += is_time ? StrCat("to_char(", QuoteIdentifier(c), ", 'YYYY-MM-DD HH24:MI:SS.US')")
                      : QuoteIdentifier(c);
  }
  return select;
}

void CopyFrom(pqxx::work& tx, const std::string& table, const std::vector<std::string>& columns,
              const std::function<void(const RowSink&)>& produce) {
  std::vector<std::string> quoted;
  for (const std::string& c : columns) quoted.push_back(QuoteIdentifier(c));
  pqxx::tablewriter writer(tx, table, quoted.begin(), quoted.end());
  std::string line;
  produce([&](const Row& row) {
    line.clear();
    for (const std::optional<std::string>& field : row) {
      PutCopyField(field ? std::optional<std::string_view>(*field) : std::nullopt, &line);
    }
    writer.write_raw_line(line);
  });
  writer.complete();
}

// `rows` as a JSON array of objects keyed by column name (NULL as null), for
// json_populate_recordset: the server converts each value with the column type's own input
// function.
std::string RowsAsJson(const TableRows& rows) {
  json::monotonic_resource arena;
  json::array out(&arena);
  out.reserve(rows.rows.size());
  for (const Row& row : rows.rows) {
    json::object o(&arena);
    o.reserve(rows.columns.size());
    for (size_t c = 0; c < rows.columns.size(); ++c) {
      if (row[c]) {
        o.emplace(rows.columns[c], json::string_view(*row[c]));
      } else {
        o.emplace(rows.columns[c], nullptr);
      }
    }
    out.emplace_back(std::move(o));
  }
  return json::serialize(out);
}

// Runs a constant query inside the open transaction, or in a read-only one of its own.
pqxx::result Read(Connection& c, const char* query) {
  if (c.tx) return c.tx->exec(query);
  pqxx::read_transaction tx(*c.conn);
  return tx.exec(query);
}

}  // namespace

absl::Status ProjectionStore::RequireProjectionTransaction(std::string_view what) const {
  if (conn_->tx && conn_->projection_locked) return absl::OkStatus();
  return absl::FailedPreconditionError(StrCat(what, " outside a projection transaction"));
}

absl::Status ProjectionStore::BeginProjection(ProjectionCommit commit) {
  LEDGER_CHECK(commit == ProjectionCommit::kDurable || conn_->tx == nullptr,
               "a projection transaction that commits without waiting for the WAL flush inside "
               "another transaction (it would not wait for that one's rows either)");
  try {
    pqxx::work& tx = conn_->Begin();
    if (!conn_->projection_locked) {
      // set_config(..., true): this transaction only, so a pooled connection keeps its default.
      tx.exec_params(commit == ProjectionCommit::kDerived
                         ? "SELECT pg_advisory_xact_lock($1), "
                           "set_config('synchronous_commit', 'off', true)"
                         : "SELECT pg_advisory_xact_lock($1)",
                     kProjectionLockKey);
      conn_->projection_locked = true;
    }
    return absl::OkStatus();
  } catch (const std::exception& e) {
    conn_->Abort();
    return conn_->Error(e, "begin projection");
  }
}

absl::Status ProjectionStore::Upsert(const TableRows& rows) {
  LEDGER_RETURN_IF_ERROR(conn_->Require(true, "Upsert"));
  if (rows.rows.empty()) return absl::OkStatus();
  const std::string table = QuoteIdentifier(rows.table);
  const std::string columns = QuotedList(rows.columns);
  std::string updates;
  for (size_t i = 1; i < rows.columns.size(); ++i) {
    if (!updates.empty()) updates += ", ";
    updates +=
        StrCat(QuoteIdentifier(rows.columns[i]), " = EXCLUDED.", QuoteIdentifier(rows.columns[i]));
  }
  try {
    // One statement, the rows one JSON parameter typed by the table's own row type: no staging
    // table (whose CREATE, COPY and TRUNCATE were three more round trips and catalog churn per
    // flush), and no session state, which transaction-pooling PgBouncer requires.
    conn_->tx->exec_params(
        StrCat("INSERT INTO ", table, " (", columns, ") SELECT ", columns,
               " FROM json_populate_recordset(NULL::", table, ", $1::json) ON CONFLICT (",
               QuoteIdentifier(rows.columns[0]), ") DO UPDATE SET ", updates),
        RowsAsJson(rows));
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return conn_->Error(e, StrCat("upsert ", rows.table));
  }
}

absl::Status ProjectionStore::SetCheckpoints(const std::vector<std::string>& projections,
                                             int64_t seq) {
  LEDGER_RETURN_IF_ERROR(conn_->Require(true, "SetCheckpoints"));
  if (projections.empty()) return absl::OkStatus();
  json::array names;
  for (const std::string& p : projections) names.emplace_back(p);
  try {
    // The notification (delivered at COMMIT, with the rows) tells LISTENers that the projections
    // reached `seq`: a service that wants to read its own writes waits for it.
    conn_->tx->exec_params(
        "WITH moved AS (INSERT INTO projection_checkpoint (projection, seq) "
        "SELECT json_array_elements_text($1::json), $2::bigint "
        "ON CONFLICT (projection) DO UPDATE SET seq = EXCLUDED.seq, "
        "\"updatedAt\" = clock_timestamp() AT TIME ZONE 'UTC' RETURNING 1) "
        "SELECT pg_notify($3, $2::bigint::text) FROM moved LIMIT 1",
        json::serialize(names), seq, kProjectionChannel);
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return conn_->Error(e, "set checkpoints");
  }
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> ProjectionStore::ReadCheckpoints() {
  const char* query = "SELECT projection, seq FROM projection_checkpoint ORDER BY projection";
  try {
    pqxx::result r = Read(*conn_, query);
    std::vector<std::pair<std::string, int64_t>> out;
    for (const pqxx::row& row : r) out.emplace_back(row[0].as<std::string>(), row[1].as<int64_t>());
    return out;
  } catch (const std::exception& e) {
    return conn_->Error(e, "read checkpoints");
  }
}

absl::StatusOr<int64_t> ProjectionStore::TrimSnapshots(TimeMicros kept_from) {
  LEDGER_RETURN_IF_ERROR(RequireProjectionTransaction("TrimSnapshots"));
  const std::string horizon = FormatPgTimestamp(kept_from);
  try {
    pqxx::result deleted = conn_->tx->exec_params(
        "DELETE FROM \"PoolSnapshot\" WHERE \"createdAt\" < $1::timestamp", horizon);
    conn_->tx->exec_params(
        "INSERT INTO projection_retention (projection, \"keptFrom\") "
        "VALUES ('pool_snapshot', $1::timestamp) ON CONFLICT (projection) DO UPDATE SET "
        "\"keptFrom\" = GREATEST(projection_retention.\"keptFrom\", EXCLUDED.\"keptFrom\"), "
        "\"updatedAt\" = clock_timestamp() AT TIME ZONE 'UTC'",
        horizon);
    return static_cast<int64_t>(deleted.affected_rows());
  } catch (const std::exception& e) {
    return conn_->Error(e, "trim snapshots");
  }
}

absl::StatusOr<std::optional<TimeMicros>> ProjectionStore::SnapshotHorizon() {
  const char* query =
      "SELECT to_char(\"keptFrom\", 'YYYY-MM-DD HH24:MI:SS.US') FROM projection_retention "
      "WHERE projection = 'pool_snapshot'";
  try {
    pqxx::result r = Read(*conn_, query);
    if (r.empty()) return std::optional<TimeMicros>();
    std::optional<TimeMicros> t = ParsePgTimestamp(r[0][0].as<std::string>());
    if (!t) return absl::DataLossError("projection_retention.keptFrom is not a timestamp");
    return t;
  } catch (const std::exception& e) {
    return conn_->Error(e, "read the snapshot horizon");
  }
}

absl::Status ProjectionStore::FillShadowTables(const std::vector<TableSource>& tables) {
  conn_->Abort();
  try {
    pqxx::work tx(*conn_->conn);
    for (const TableSource& t : tables) {
      const std::string shadow = QuoteIdentifier(StrCat("ledger_shadow_", t.table));
      tx.exec0(StrCat("DROP TABLE IF EXISTS ", shadow));
      // UNLOGGED: a staging copy that a crash may lose; it is refilled by the next rebuild.
      tx.exec0(StrCat("CREATE UNLOGGED TABLE ", shadow, " (LIKE ", QuoteIdentifier(t.table),
                      " INCLUDING DEFAULTS)"));
      CopyFrom(tx, shadow, t.columns, t.produce);
    }
    tx.commit();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return conn_->Error(e, "fill shadow tables");
  }
}

absl::Status ProjectionStore::SwapShadowTables(const std::vector<TableSource>& tables) {
  LEDGER_RETURN_IF_ERROR(RequireProjectionTransaction("SwapShadowTables"));
  try {
    pqxx::work& tx = *conn_->tx;
    std::string truncate;
    for (const TableSource& t : tables) {
      tx.exec0(StrCat("LOCK TABLE ", QuoteIdentifier(t.table), " IN ACCESS EXCLUSIVE MODE"));
      truncate += StrCat(truncate.empty() ? "" : ", ", QuoteIdentifier(t.table));
    }
    // No table references another (schema/010), so any of them can be truncated alone.
    if (!truncate.empty()) tx.exec0(StrCat("TRUNCATE ", truncate));
    for (const TableSource& t : tables) {
      const std::string columns = QuotedList(t.columns);
      tx.exec0(StrCat("INSERT INTO ", QuoteIdentifier(t.table), " (", columns, ") SELECT ", columns,
                      " FROM ", QuoteIdentifier(StrCat("ledger_shadow_", t.table))));
    }
    for (const TableSource& t : tables) {
      tx.exec0(StrCat("DROP TABLE ", QuoteIdentifier(StrCat("ledger_shadow_", t.table))));
      if (t.table == "PoolSnapshot") {
        tx.exec0("DELETE FROM projection_retention WHERE projection = 'pool_snapshot'");
      }
    }
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return conn_->Error(e, "swap shadow tables");
  }
}

absl::Status ProjectionStore::StreamTable(const std::string& table,
                                          const std::vector<std::string>& columns,
                                          const std::vector<std::string>& timestamp_columns,
                                          const std::function<absl::Status(const Row&)>& fn) {
  // No parameters: the table and column names are the projections' own constants, quoted.
  const std::string query =
      StrCat("(SELECT ", SelectList(columns, timestamp_columns), " FROM ", QuoteIdentifier(table),
             " ORDER BY ", QuoteIdentifier(columns.front()), " COLLATE \"C\")");
  CopyLineFields fields;
  Row row(columns.size());
  try {
    pqxx::read_transaction tx(*conn_->conn);
    return conn_->CopyOut(tx, query, [&](const std::string& line) -> absl::Status {
      if (!fields.Parse(line, columns.size())) {
        return absl::DataLossError(StrCat("a row of ", table, " has an unexpected shape"));
      }
      for (size_t c = 0; c < columns.size(); ++c) {
        if (fields.null(static_cast<int>(c))) {
          row[c].reset();
        } else {
          const std::string_view text = fields.text(static_cast<int>(c));
          if (row[c]) {
            row[c]->assign(text.data(), text.size());
          } else {
            row[c].emplace(text);
          }
        }
      }
      return fn(row);
    });
  } catch (const std::exception& e) {
    return conn_->Error(e, StrCat("stream ", table));
  }
}

absl::StatusOr<bool> ProjectionStore::WaitForProjection(int timeout_ms) {
  return conn_->Wait(conn_->projection_listener, kProjectionChannel, timeout_ms);
}

}  // namespace ledger::pg
