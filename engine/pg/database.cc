#include "engine/pg/database.h"

#include <libpq-fe.h>

#include <algorithm>
#include <string_view>

#include "engine/conn_string.h"
#include "engine/pg/connection.h"
#include "engine/pg/migrate.h"
#include "engine/pg/pg_errors.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"

namespace ledger::pg {

Database::Database(std::unique_ptr<Connection> conn)
    : conn_(std::move(conn)),
      log_(conn_.get()),
      projections_(conn_.get()),
      feed_positions_(conn_.get()),
      snapshots_(conn_.get()) {}

Database::~Database() { Abort(); }

namespace {

// "host=H port=P" from a primary_conninfo, without anything secret in it; empty when it names
// neither.
std::string PrimaryAddress(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    PQfreemem(error);
    return "";
  }
  std::string host, port;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    if (std::string_view(o->keyword) == "host") host = o->val;
    if (std::string_view(o->keyword) == "port") port = o->val;
  }
  PQconninfoFree(options);
  if (host.empty() && port.empty()) return "";
  return StrCat("host=", host.empty() ? "localhost" : host, " port=", port.empty() ? "5432" : port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& conn_string) {
  std::unique_ptr<Connection> conn;
  try {
    conn = std::make_unique<Connection>(conn_string);
  } catch (const std::exception& e) {
    return TranslateException(e, StrCat("connect to ", MaskPassword(conn_string)));
  }
  return std::unique_ptr<Database>(new Database(std::move(conn)));
}

bool Database::is_standby() const { return conn_->standby; }

absl::StatusOr<std::optional<StandbyStatus>> Database::ReadStandbyStatus() {
  std::optional<StandbyStatus> out;
  bool has_log = false;  // An unmigrated database has no head to read.
  absl::Status read = conn_->InReadTransaction([&](pqxx::transaction_base& tx) -> absl::Status {
    try {
      pqxx::row r = tx.exec1(
          "SELECT pg_is_in_recovery(), COALESCE(pg_last_wal_receive_lsn()::text, ''), "
          "COALESCE(pg_last_wal_replay_lsn()::text, ''), "
          "COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)"
          "::bigint, (extract(epoch FROM pg_last_xact_replay_timestamp()) * 1000000)::bigint, "
          "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint, "
          "(SELECT setting FROM pg_settings WHERE name = 'primary_conninfo'), "
          "to_regclass('\"BetHistory\"') IS NOT NULL");
      if (!r[0].as<bool>()) return absl::OkStatus();
      StandbyStatus s;
      s.receive_lsn = r[1].as<std::string>();
      s.replay_lsn = r[2].as<std::string>();
      s.replay_lag_bytes = std::max<int64_t>(0, r[3].as<int64_t>());
      if (!r[4].is_null()) s.replayed_commit_at = r[4].as<int64_t>();
      s.now = r[5].as<int64_t>();
      if (!r[6].is_null()) s.primary = PrimaryAddress(r[6].as<std::string>());
      has_log = r[7].as<bool>();
      out = std::move(s);
      return absl::OkStatus();
    } catch (const std::exception& e) {
      return conn_->Error(e, "read the standby's replay position");
    }
  });
  if (!read.ok()) return read;
  if (out && has_log) {
    LEDGER_ASSIGN_OR_RETURN(auto head, log_.Head());
    out->head_seq = head.first;
  }
  return out;
}

absl::Status Database::Reconnect() { return conn_->Reconnect(); }

absl::Status Database::Migrate(MigrateReport* report) {
  return pg::Migrate(*conn_->conn, EmbeddedMigrations(), report);
}

absl::Status Database::ApplyRoles() {
  if (absl::Status s = conn_->Require(false, "ApplyRoles"); !s.ok()) return s;
  try {
    pqxx::work tx(*conn_->conn);
    tx.exec0(EmbeddedRolesSql());
    tx.commit();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return conn_->Error(e, "create the ledger roles");
  }
}

absl::Status Database::Commit() { return conn_->Commit(); }

void Database::Abort() {
  if (conn_) conn_->Abort();
}

}  // namespace ledger::pg
