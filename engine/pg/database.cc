#include "engine/pg/database.h"

#include "engine/conn_string.h"
#include "engine/pg/connection.h"
#include "engine/pg/migrate.h"
#include "engine/pg/pg_errors.h"
#include "engine/str_cat.h"

namespace ledger::pg {

Database::Database(std::unique_ptr<Connection> conn)
    : conn_(std::move(conn)),
      log_(conn_.get()),
      projections_(conn_.get()),
      feed_positions_(conn_.get()),
      snapshots_(conn_.get()) {}

Database::~Database() { Abort(); }

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& conn_string) {
  try {
    auto conn = std::make_unique<Connection>(conn_string);
    return std::unique_ptr<Database>(new Database(std::move(conn)));
  } catch (const std::exception& e) {
    return TranslateException(e, StrCat("connect to ", MaskPassword(conn_string)));
  }
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
