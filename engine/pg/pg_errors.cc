#include "engine/pg/pg_errors.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "engine/str_cat.h"

namespace ledger::pg {

absl::Status TranslateException(const std::exception& e, std::string_view context) {
  const std::string message = StrCat(context, ": ", absl::StripTrailingAsciiWhitespace(e.what()));
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    return absl::UnknownError(StrCat(message, " (commit outcome unknown)"));
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return absl::UnavailableError(message);
  }
  // libpqxx 6.4 raises these outside the sql_error hierarchy.
  if (dynamic_cast<const pqxx::transaction_rollback*>(&e) != nullptr) {
    return absl::AbortedError(message);
  }
  if (dynamic_cast<const pqxx::insufficient_privilege*>(&e) != nullptr) {
    return absl::PermissionDeniedError(message);
  }
  if (dynamic_cast<const pqxx::disk_full*>(&e) != nullptr) {
    return absl::ResourceExhaustedError(message);
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    if (state == "40001" || state == "40P01") return absl::AbortedError(message);
    if (state == "42501") return absl::PermissionDeniedError(message);
    if (state == "53100") return absl::ResourceExhaustedError(message);
    if (state == "25006") return absl::FailedPreconditionError(message);
    // undefined_table, undefined_column: a database without the ledger's schema, or an older one.
    if (state == "42P01" || state == "42703") {
      return absl::FailedPreconditionError(
          StrCat(message,
                 "; this database lacks the ledger schema (or part of it): run `ledger "
                 "migrate` against it first"));
    }
    if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0) {
      return absl::UnavailableError(message);
    }
    if (state.rfind("23", 0) == 0) return absl::FailedPreconditionError(message);
    // The server's errors always carry a SQLSTATE; libpq's own (a socket closed, a COPY cut short
    // by a server crash) do not.
    if (state.empty()) return absl::UnavailableError(StrCat(message, " (connection lost)"));
  } else if (dynamic_cast<const pqxx::failure*>(&e) != nullptr) {
    // libpqxx's own failures outside SQL (writing or reading COPY data) are the connection's.
    return absl::UnavailableError(StrCat(message, " (connection lost)"));
  }
  return absl::InternalError(message);
}

}  // namespace ledger::pg
