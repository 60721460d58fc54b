#include "engine/pg/migrations.h"

#include <pqxx/pqxx>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/hash_chain.h"
#include "engine/pg/migrate.h"
#include "engine/pg/pg_errors.h"
#include "engine/str_cat.h"

namespace ledger::pg {
namespace {

// Arbitrary constant shared by every process that migrates this schema ("LEDGMIGR").
constexpr int64_t kMigrationLockKey = 0x4c4544474d494752;

absl::StatusOr<int> VersionOf(const MigrationFile& file) {
  int version = 0;
  if (file.name.size() < 5 || !absl::SimpleAtoi(file.name.substr(0, 3), &version) ||
      file.name[3] != '_') {
    return absl::InvalidArgumentError(
        StrCat("migration file ", file.name, " is not named NNN_name.sql"));
  }
  return version;
}

}  // namespace

absl::Status Migrate(pqxx::connection& conn, const std::vector<MigrationFile>& files,
                     MigrateReport* report) {
  try {
    {
      pqxx::work tx(conn);
      tx.exec0(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL,"
          " \"appliedAt\" TIMESTAMPTZ NOT NULL DEFAULT now())");
      tx.commit();
    }
    // Check everything before changing anything: edited files and unknown versions stop the run.
    absl::flat_hash_map<int, std::string> applied;
    {
      pqxx::read_transaction tx(conn);
      for (const pqxx::row& row : tx.exec("SELECT version, checksum FROM schema_migrations")) {
        applied[row[0].as<int>()] = row[1].as<std::string>();
      }
    }
    absl::flat_hash_map<int, std::string> embedded;
    for (const MigrationFile& file : files) {
      absl::StatusOr<int> version = VersionOf(file);
      if (!version.ok()) return version.status();
      embedded[*version] = ToHex(Sha256Of(file.sql));
      auto it = applied.find(*version);
      if (it != applied.end() && it->second != embedded[*version]) {
        return absl::FailedPreconditionError(StrCat(
            "migration ", file.name, " was applied with checksum ", it->second,
            " but the file now has ", embedded[*version], "; applied migrations are never edited"));
      }
    }
    for (const auto& [version, checksum] : applied) {
      if (!embedded.contains(version)) {
        return absl::FailedPreconditionError(
            StrCat("the database has migration ", version,
                   " which this binary does not know; upgrade the binary"));
      }
    }
    for (const MigrationFile& file : files) {
      const int version = *VersionOf(file);
      // Applied before this run began (and its checksum checked above): an applied migration is
      // never undone, so only the others need the lock. Most runs apply nothing.
      if (applied.contains(version)) {
        ++report->already_applied;
        continue;
      }
      pqxx::work tx(conn);
      tx.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLockKey);
      // Re-read under the lock: another process may have applied it since the check above.
      if (!tx.exec_params("SELECT 1 FROM schema_migrations WHERE version = $1", version).empty()) {
        ++report->already_applied;
        continue;
      }
      tx.exec0(file.sql);
      tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                     version, file.name, embedded[version]);
      tx.commit();
      report->applied.push_back(file.name);
    }
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return TranslateException(e, "migrate");
  }
}

}  // namespace ledger::pg
