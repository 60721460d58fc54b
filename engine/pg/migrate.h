// Migrate(): applies migrations on a libpqxx connection. Internal to engine/pg (it names pqxx
// types); everything outside uses LogStore::Migrate.
#ifndef LEDGER_ENGINE_PG_MIGRATE_H_
#define LEDGER_ENGINE_PG_MIGRATE_H_

#include <pqxx/connection>
#include <vector>

#include "absl/status/status.h"
#include "engine/pg/migrations.h"

namespace ledger::pg {

// Applies the missing migrations of `files` in order. kFailedPrecondition on a checksum mismatch or
// an unknown applied version; kInvalidArgument on a badly named file.
absl::Status Migrate(pqxx::connection& conn, const std::vector<MigrationFile>& files,
                     MigrateReport* report);

}  // namespace ledger::pg

#endif  // LEDGER_ENGINE_PG_MIGRATE_H_
